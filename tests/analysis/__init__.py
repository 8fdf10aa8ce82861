"""Analysis tests."""

"""pulse/journal package."""

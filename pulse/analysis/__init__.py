"""pulse/analysis package."""

"""pulse/behavior package."""

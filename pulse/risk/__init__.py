"""pulse/risk package."""

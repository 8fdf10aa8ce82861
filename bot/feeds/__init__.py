"""bot/feeds package."""

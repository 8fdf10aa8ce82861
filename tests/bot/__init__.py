"""Unit tests of the bot process (bot/) and its cogs, with faithful Discord fakes."""

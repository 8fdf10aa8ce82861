"""End-to-end: the real PulseBot (discord.py) against the fake Discord server."""

"""Pulse: the pure, synchronous, deterministic brain (no I/O libraries, no clock reads)."""

__version__ = "0.1.0"

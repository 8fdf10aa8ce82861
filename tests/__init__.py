"""Pulse test suite."""

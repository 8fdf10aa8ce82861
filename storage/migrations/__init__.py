"""Alembic migrations of the Pulse database (run with ``pulse db upgrade``)."""

"""Fixtures: the shared migrated SQLite database per test."""

from tests.helpers_storage import engine  # noqa: F401  (shared fixture)

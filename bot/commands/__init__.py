"""Subcommands of the ``pulse`` console script, one module each.

Every module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (returning the exit code) as the parser default.
"""

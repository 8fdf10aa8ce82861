"""Fakes of the outer world (Discord, MT5) that mirror the real APIs field by field."""

"""Statement importers: MT5 HTML trade history report, generic deals CSV, Pulse journal CSV.

All three are pure: bytes/text in, validated models out, or a :class:`StatementError`
listing every bad row and column. A file with any malformed row is refused whole (see
``docs/journal.md``: a statement is a ledger, and a silently skipped closing deal would
leave a phantom open trade and a wrong P&L).
"""

from pulse.journal.importers.common import (
    ParsedStatement,
    PositionInfo,
    StatementError,
    apply_stops,
    detect_format,
)

__all__ = ["ParsedStatement", "PositionInfo", "StatementError", "apply_stops", "detect_format"]

"""The journal's own export format (CSV and JSON) and its re-import.

CSV: one row per :class:`~pulse.models.JournalEntry`, columns :data:`ENTRY_COLUMNS`
(times ISO 8601 with offset, booleans ``true``/``false``, empty = none). JSON: an
object ``{"format": "pulse-journal", "version": 1, "trader_id", "entries": [...],
"trades": [...]}``. Re-import is idempotent: an entry equal to one already stored in
its natural key (kind, time, text, trade, setup, symbol, rule) is skipped, so importing
an export twice (or into the journal it came from) changes nothing. Rows naming another
trader are refused: a journal is private.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from pulse.journal.importers.common import MAX_ID, StatementError, decode_text
from pulse.models import JournalEntry, Trade

__all__ = [
    "ENTRY_COLUMNS",
    "entries_to_csv",
    "entries_to_json",
    "entry_key",
    "new_entries",
    "parse_journal_csv",
]

ENTRY_COLUMNS: tuple[str, ...] = tuple(JournalEntry.model_fields)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.isoformat()
    return str(v.value if hasattr(v, "value") else v)


def entries_to_csv(entries: Iterable[JournalEntry]) -> str:
    """CSV text with a header row (``\\r\\n`` line ends, as the csv module writes)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(ENTRY_COLUMNS)
    for e in entries:
        w.writerow([_cell(getattr(e, c)) for c in ENTRY_COLUMNS])
    return buf.getvalue()


def entries_to_json(
    trader_id: int, entries: Iterable[JournalEntry], trades: Sequence[Trade] = ()
) -> str:
    """The journal's JSON export: entries and trades in one versioned document
    (``format: pulse-journal``) a trader can keep or re-import."""
    doc = {
        "format": "pulse-journal",
        "version": 1,
        "trader_id": trader_id,
        "entries": [e.model_dump(mode="json") for e in entries],
        "trades": [t.model_dump(mode="json") | {"net_pnl": t.net_pnl} for t in trades],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def parse_journal_csv(data: bytes | str, trader_id: int) -> list[JournalEntry]:
    """Entries from an export, owned by ``trader_id`` (ids dropped: storage assigns them)."""
    text = decode_text(data) if isinstance(data, bytes) else data
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    unknown = [h for h in header if h not in ENTRY_COLUMNS]
    problems = [f"line 1: unknown column {h!r}" for h in unknown]
    for need in ("trader_id", "kind", "at"):
        if need not in header:
            problems.append(f"line 1: missing column {need!r}")
    if problems:
        raise StatementError(problems, "journal csv")
    out: list[JournalEntry] = []
    for lineno, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            problems.append(f"line {lineno}: {len(row)} fields, the header has {len(header)}")
            continue
        data_row: dict[str, Any] = {
            k: (v if v != "" else None) for k, v in zip(header, row, strict=True)
        }
        data_row.pop("id", None)
        if data_row.get("text") is None:
            data_row["text"] = ""
        owner = data_row.get("trader_id")
        if owner is not None and str(owner) != str(trader_id):
            problems.append(
                f"line {lineno}, column 'trader_id': entry of trader {owner}, "
                f"not {trader_id} (a journal is private; import only your own)"
            )
            continue
        data_row["trader_id"] = trader_id
        try:
            entry = JournalEntry.model_validate(data_row)
        except ValidationError as exc:
            for e in exc.errors():
                col = ".".join(str(p) for p in e["loc"])
                problems.append(
                    f"line {lineno}, column {col!r}: {e['msg']} (got {e.get('input')!r})"
                )
            continue
        big = [k for k, v in entry if isinstance(v, int) and abs(v) > MAX_ID]
        for k in big:
            problems.append(f"line {lineno}, column {k!r}: {getattr(entry, k)} is too large "
                            f"for an id (at most {MAX_ID})")
        if not big:
            out.append(entry)
    if problems:
        raise StatementError(problems, "journal csv")
    return out


def entry_key(e: JournalEntry) -> tuple[Any, ...]:
    """Natural key: equal keys are the same entry whatever its storage id."""
    return (
        e.trader_id,
        e.kind.value,
        e.at.timestamp(),
        e.text,
        e.trade_id,
        e.setup_tag,
        e.symbol,
        e.rule,
    )


def new_entries(
    incoming: Iterable[JournalEntry], existing: Iterable[JournalEntry]
) -> list[JournalEntry]:
    """The incoming entries not already present (idempotent re-import)."""
    seen = {entry_key(e) for e in existing}
    out = []
    for e in incoming:
        k = entry_key(e)
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out

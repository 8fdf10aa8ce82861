"""Generic deals CSV -> deals (for brokers/tools other than an MT5 HTML report).

Columns (header row required, names case-insensitive, any order; aliases in brackets):

===========  ========  ==============================================================
column       required  meaning
===========  ========  ==============================================================
time         yes       ``YYYY.MM.DD HH:MM:SS``/``YYYY-MM-DD HH:MM:SS`` in server time,
                       or ISO 8601 with an offset (``2026-03-02T09:00:05+01:00``)
ticket       yes       deal ticket, unique per account [deal]
type         yes       buy, sell, balance, credit, commission, ... (or MT5's number)
symbol       trades    instrument; empty for balance/commission rows
entry        no        in, out, in/out, out by (or 0-3) [direction]; default in
volume       trades    lots
price        trades    execution price
position     no        position id [position_id]; inferred like the HTML report if absent
order        no        order ticket
commission   no        default 0 (also fee, swap, profit)
sl           no        the position's stop loss, on any of its rows [stop_loss, s/l]
comment      no        free text
===========  ========  ==============================================================

The delimiter is sniffed (``,`` ``;`` or tab). With ``;`` or tab a decimal comma is
accepted (``1 234,56``). Rows are numbered as lines of the file (the header is line 1).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, tzinfo

from pulse.journal.importers.common import (
    ParsedStatement,
    RowReader,
    StatementError,
    assign_positions,
    decode_text,
)
from pulse.journal.importers.mt5_html import deal_from_row
from pulse.models import Deal

__all__ = ["COLUMNS", "parse_deals_csv"]

COLUMNS = (
    "time",
    "ticket",
    "type",
    "symbol",
    "entry",
    "volume",
    "price",
    "position",
    "order",
    "commission",
    "fee",
    "swap",
    "profit",
    "sl",
    "comment",
)
_ALIASES = {
    "deal": "ticket",
    "direction": "entry",
    "position_id": "position",
    "stop_loss": "sl",
    "s/l": "sl",
    "s / l": "sl",
}
_REQUIRED = ("time", "ticket", "type")


def _sniff(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def parse_deals_csv(data: bytes | str, server_tz: tzinfo = UTC) -> ParsedStatement:
    """Read a deals CSV; :class:`StatementError` names every bad line and column."""
    text = decode_text(data) if isinstance(data, bytes) else data
    delim = _sniff(text)
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    try:
        header = next(reader)
    except StopIteration:
        raise StatementError(["the file is empty (expected a header row)"], "deals csv") from None
    names = []
    problems: list[str] = []
    for h in header:
        key = " ".join(h.strip().casefold().split())
        key = _ALIASES.get(key, key)
        if key and key not in COLUMNS:
            problems.append(f"line 1: unknown column {h.strip()!r} (known: {', '.join(COLUMNS)})")
        names.append(key)
    missing = [c for c in _REQUIRED if c not in names]
    if missing:
        problems.append(f"line 1: missing column(s) {', '.join(missing)}")
    if problems:
        raise StatementError(problems, "deals csv")

    deals: list[Deal] = []
    stops: dict[int, float] = {}
    stop_rows: list[tuple[Deal, float]] = []
    seen: dict[int, int] = {}
    for lineno, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(names):
            problems.append(f"line {lineno}: {len(row)} fields, the header has {len(names)}")
            continue
        cells = dict(zip(names, row, strict=True))
        cells["deal"] = cells.get("ticket", "")
        bad: list[str] = []
        rd = RowReader(
            cells,
            f"line {lineno}",
            {"deal": "ticket"},
            bad,
            decimal_comma=None if delim != "," else False,
        )
        deal = deal_from_row(
            rd,
            server_tz,
            type_col="type",
            entry_col="entry",
            position_col="position" if "position" in names else "",
        )
        sl = rd.number("sl", 0.0, negative=False) if "sl" in names else 0.0
        problems.extend(bad)
        if deal is None or bad:
            continue
        if deal.ticket in seen:
            problems.append(
                f"line {lineno}, column 'ticket': {deal.ticket} already on line {seen[deal.ticket]}"
            )
            continue
        seen[deal.ticket] = lineno
        deals.append(deal)
        if sl:
            stop_rows.append((deal, sl))
    if problems:
        raise StatementError(problems, "deals csv")
    assigned = assign_positions(deals)
    pid_of = {d.ticket: d.position_id for d in assigned}
    for d, sl in stop_rows:
        stops.setdefault(pid_of[d.ticket], sl)
    return ParsedStatement(deals=assigned, stops=stops)

"""Which journal entries belong to which trade.

An entry with ``trade_id`` set is linked explicitly. A pre-trade entry or an override
without one (written before the position existed) is linked to the first trade of the
same trader opened within ``window`` after it, on the same symbol and side when the entry
names them, and not already claimed by another entry of that kind. Post-trade reflections
and notes link only explicitly (a reflection is always answered for a named trade).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from pulse.models import JournalEntry, JournalKind, Trade

__all__ = ["DEFAULT_LINK_WINDOW", "TradeJournal", "link_entries"]

DEFAULT_LINK_WINDOW = timedelta(minutes=15)
"""A pre-trade entry older than this before the trade's open is not its prompt."""


@dataclass
class TradeJournal:
    """The journal entries of one trade."""

    pre: JournalEntry | None = None
    post: JournalEntry | None = None
    overrides: list[JournalEntry] = field(default_factory=list)
    notes: list[JournalEntry] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Both the pre-trade prompt and the post-trade reflection were answered."""
        return self.pre is not None and self.post is not None


def _matches(entry: JournalEntry, trade: Trade, window: timedelta) -> bool:
    if entry.symbol and entry.symbol.upper() != trade.symbol.upper():
        return False
    if entry.side is not None and entry.side is not trade.side:
        return False
    return entry.at <= trade.open_time <= entry.at + window


def link_entries(
    entries: Iterable[JournalEntry],
    trades: Sequence[Trade],
    window: timedelta = DEFAULT_LINK_WINDOW,
) -> dict[str, TradeJournal]:
    """Map every trade id to its entries (trades without entries get an empty record)."""
    out = {t.trade_id: TradeJournal() for t in trades}
    by_open = sorted(trades, key=lambda t: (t.open_time, t.trade_id))
    implicit: list[JournalEntry] = []
    for e in sorted(entries, key=lambda e: (e.at, e.id or 0)):
        rec = out.get(e.trade_id) if e.trade_id else None
        if rec is None:
            if e.kind in (JournalKind.PRE_TRADE, JournalKind.OVERRIDE) and not e.trade_id:
                implicit.append(e)
            continue
        _attach(rec, e)
    opens = [t.open_time for t in by_open]
    for e in implicit:
        # Only trades opened in [e.at, e.at + window] can match: bisect to them.
        i = bisect_left(opens, e.at)
        while i < len(by_open) and opens[i] <= e.at + window:
            t = by_open[i]
            i += 1
            rec = out[t.trade_id]
            taken = rec.pre is not None if e.kind is JournalKind.PRE_TRADE else bool(rec.overrides)
            if not taken and _matches(e, t, window):
                _attach(rec, e)
                break
    return out


def _attach(rec: TradeJournal, e: JournalEntry) -> None:
    if e.kind is JournalKind.PRE_TRADE:
        if rec.pre is None:
            rec.pre = e
    elif e.kind is JournalKind.POST_TRADE:
        rec.post = e  # the latest reflection wins (entries arrive sorted by time)
    elif e.kind is JournalKind.OVERRIDE:
        rec.overrides.append(e)
    else:
        rec.notes.append(e)

"""TradeTape: trades kept sorted by open and by close time, for O(recent) look-backs.

Every behaviour rule looks at the *recent* past of an entry: the last losing exits, the
entries of the last hour, the last ``baseline_entries`` entries, the current streak. With
trades sorted by time those are a binary search plus a short walk backwards from the
entry's instant, whatever the length of the history.

:class:`BehaviorEngine` accepts any ``Sequence[Trade]`` in any order and builds a tape from
it (one sort, close to linear when the input is already in time order). A caller that
keeps a long history (the kernel) can keep a ``TradeTape`` itself, ``upsert`` each trade
as it opens and closes (O(log n) search plus a list insert), and pass the tape: then a
call costs O(log n + recent trades) instead of O(n log n).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from datetime import datetime
from typing import overload

from pulse.models import Trade

__all__ = ["TradeTape", "TradeView"]


def _okey(t: Trade) -> tuple[datetime, str]:
    return (t.open_time, t.trade_id)


def _ckey(t: Trade) -> tuple[datetime, str]:
    assert t.close_time is not None
    return (t.close_time, t.trade_id)


def _run(exits: Iterable[Trade], sign: int) -> int:
    """How many of ``exits`` in a row, from the first, won (sign 1) or lost (sign -1)."""
    n = 0
    for t in exits:
        if (t.net_pnl > 0 if sign > 0 else t.net_pnl < 0) and t.close_time is not None:
            n += 1
        else:
            break
    return n


_Key = tuple[datetime, str]


def _index(keys: list[_Key], key: _Key) -> int:
    """Where ``key`` (present) is in ``keys``: the latest is tried first (the usual case:
    the trade that closes or changes is the newest)."""
    last = len(keys) - 1
    return last if keys[last] == key else bisect_left(keys, key)


def _slot(keys: list[_Key], key: _Key) -> int:
    """Where ``key`` goes in ``keys``, after equal keys: the end is tried first."""
    return len(keys) if not keys or keys[-1] <= key else bisect_right(keys, key)


def _since(keys: list[_Key], start: datetime, hi: int) -> int:
    """The first index below ``hi`` whose time is ``>= start``: a short walk back from
    ``hi`` (windows hold a few recent trades), else a binary search."""
    i, stop = hi, max(0, hi - 8)
    while i > stop and keys[i - 1][0] >= start:
        i -= 1
    if i == stop and i > 0 and keys[i - 1][0] >= start:
        return bisect_left(keys, (start,), 0, i)
    return i


_ID_MAX = "\U0010ffff" * 8  # sorts after any trade id (ids are digits and dots)


class TradeTape(SequenceABC[Trade]):
    """Trades unique by ``trade_id``, sorted by (open time, id) and, for closed ones, by
    (close time, id). Indexing and iteration follow open order.

    With duplicate ``trade_id`` in the input the last one wins (a trade's newer state
    replaces its older one, as with :meth:`upsert`).
    """

    __slots__ = ("_by_id", "_ckeys", "_closed", "_okeys", "_open", "_runs")

    def __init__(self, trades: Iterable[Trade] = ()) -> None:
        self._by_id: dict[str, Trade] = {t.trade_id: t for t in trades}
        self._open: list[Trade] = sorted(self._by_id.values(), key=_okey)
        self._closed: list[Trade] = sorted(
            (t for t in self._open if t.close_time is not None), key=_ckey
        )
        # Parallel sort keys: bisecting plain tuples is several times cheaper than
        # bisecting with a key function (which is called at every probe).
        self._okeys: list[tuple[datetime, str]] = [_okey(t) for t in self._open]
        self._ckeys: list[tuple[datetime, str]] = [_ckey(t) for t in self._closed]
        # (wins, losses) in a row back from the latest exit; kept up as exits are appended
        # (the usual, time-ordered case), recounted after any other change.
        self._runs: tuple[int, int] | None = None

    # -- Sequence ------------------------------------------------------------------
    @overload
    def __getitem__(self, index: int) -> Trade: ...
    @overload
    def __getitem__(self, index: slice) -> list[Trade]: ...
    def __getitem__(self, index: int | slice) -> Trade | list[Trade]:
        return self._open[index]

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self) -> Iterator[Trade]:
        return iter(self._open)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Trade):
            return self._by_id.get(item.trade_id) == item
        return False

    # -- updates -------------------------------------------------------------------
    def get(self, trade_id: str) -> Trade | None:
        return self._by_id.get(trade_id)

    def upsert(self, trade: Trade) -> None:
        """Insert ``trade`` or replace the stored trade with the same ``trade_id``."""
        tid = trade.trade_id
        old = self._by_id.get(tid)
        self._by_id[tid] = trade
        ok = (trade.open_time, tid)
        if old is not None and old.open_time == trade.open_time:
            self._open[_index(self._okeys, ok)] = trade  # same place: replace
        else:
            if old is not None:
                i = _index(self._okeys, (old.open_time, tid))
                del self._open[i], self._okeys[i]
            i = _slot(self._okeys, ok)
            self._open.insert(i, trade)
            self._okeys.insert(i, ok)
        if old is not None and old.close_time is not None:
            j = _index(self._ckeys, (old.close_time, tid))
            del self._closed[j], self._ckeys[j]
            self._runs = None
        if trade.close_time is not None:
            ck = (trade.close_time, tid)
            j = _slot(self._ckeys, ck)
            runs = self._runs
            if runs is not None and j == len(self._closed):
                net = trade.net_pnl
                self._runs = (runs[0] + 1, 0) if net > 0 else (0, runs[1] + 1) if net < 0 \
                    else (0, 0)
            else:
                self._runs = None
            self._closed.insert(j, trade)
            self._ckeys.insert(j, ck)

    def discard(self, trade_id: str) -> None:
        """Remove the trade with this id, if any."""
        old = self._by_id.pop(trade_id, None)
        if old is None:
            return
        i = _index(self._okeys, (old.open_time, trade_id))
        del self._open[i], self._okeys[i]
        if old.close_time is not None:
            j = _index(self._ckeys, (old.close_time, trade_id))
            del self._closed[j], self._ckeys[j]
            self._runs = None

    def tail_runs(self) -> tuple[int, int]:
        """(wins, losses) in a row counted back from the latest exit (one is 0)."""
        if self._runs is None:
            self._runs = (_run(reversed(self._closed), 1), _run(reversed(self._closed), -1))
        return self._runs
    @property
    def closed(self) -> list[Trade]:
        """Closed trades in (close time, id) order (read-only by convention)."""
        return self._closed

    def view(self, at: datetime, exclude: Iterable[str] = ()) -> TradeView:
        """What was known at ``at``: entries opened at or before it, exits at or before it,
        without the trades in ``exclude`` (the entry being judged)."""
        hi = (at, _ID_MAX)  # after every trade at ``at`` (ids are shorter than this)
        return TradeView(
            self,
            at,
            exclude if isinstance(exclude, frozenset) else frozenset(exclude),
            _slot(self._okeys, hi),
            _slot(self._ckeys, hi),
        )


@dataclass(slots=True)
class TradeView:
    """A tape seen from instant ``at``: entries with ``open_time <= at`` and exits with
    ``close_time <= at`` (a trade closed later is still open here), minus ``exclude``."""

    tape: TradeTape
    at: datetime
    exclude: frozenset[str]
    entries_hi: int
    exits_hi: int
    _streaks: tuple[int, int] | None = field(default=None, compare=False, repr=False)

    def entries_back(self) -> Iterator[Trade]:
        """Entries known at ``at``, most recent first."""
        opened, ex = self.tape._open, self.exclude
        for i in range(self.entries_hi - 1, -1, -1):
            t = opened[i]
            if t.trade_id not in ex:
                yield t

    def exits_back(self) -> Iterator[Trade]:
        """Trades closed at or before ``at``, most recent exit first."""
        closed, ex = self.tape._closed, self.exclude
        for i in range(self.exits_hi - 1, -1, -1):
            t = closed[i]
            if t.trade_id not in ex:
                yield t

    def last_entries(self, n: int) -> list[Trade]:
        """Up to ``n`` entries known at ``at``, most recent first."""
        opened, ex = self.tape._open, self.exclude
        hi = self.entries_hi
        out = opened[max(0, hi - n - len(ex)):hi]
        out.reverse()
        if ex:
            out = [t for t in out if t.trade_id not in ex]
        del out[n:]
        return out

    def losses_since(self, start: datetime) -> list[Trade]:
        """Trades closed at a loss in ``[start, at]``, most recent exit first."""
        closed, ck, ex = self.tape._closed, self.tape._ckeys, self.exclude
        out: list[Trade] = []
        i = self.exits_hi - 1
        while i >= 0 and ck[i][0] >= start:
            t = closed[i]
            if t.net_pnl < 0 and t.trade_id not in ex:  # the tape's exits are closed
                out.append(t)
            i -= 1
        return out

    def streaks(self) -> tuple[int, int]:
        """(wins, losses) in a row counted back from the latest exit known at ``at``."""
        if self._streaks is None:
            tape = self.tape
            if self.exits_hi == len(tape._closed) and not self._hides_exit():
                self._streaks = tape.tail_runs()  # the usual case: the view sees every exit
            else:
                self._streaks = _run(self.exits_back(), 1), _run(self.exits_back(), -1)
        return self._streaks

    def _hides_exit(self) -> bool:
        """Whether an excluded trade is an exit this view would otherwise see."""
        by_id = self.tape._by_id
        for trade_id in self.exclude:
            t = by_id.get(trade_id)
            if t is not None and t.close_time is not None and t.close_time <= self.at:
                return True
        return False

    def count_entries_since(self, start: datetime) -> int:
        """Entries with ``start <= open_time <= at`` (excluded trades not counted)."""
        n = self.entries_hi - _since(self.tape._okeys, start, self.entries_hi)
        by_id = self.tape._by_id
        for trade_id in self.exclude:
            t = by_id.get(trade_id)
            if t is not None and start <= t.open_time <= self.at:
                n -= 1
        return n

    def narrowed(self, at: datetime, exclude: Iterable[str] = ()) -> TradeView:
        """The same tape seen from an earlier instant, excluding more trades."""
        return self.tape.view(at, self.exclude | frozenset(exclude))

"""Shared pieces of the importers: errors, number/time parsing, position inference."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Literal

from pulse.models import Deal, DealEntry, DealType, Side, Trade

__all__ = [
    "DEAL_ENTRIES",
    "DEAL_TYPES",
    "FieldProblem",
    "ParsedStatement",
    "PositionInfo",
    "RowReader",
    "StatementError",
    "apply_stops",
    "assign_positions",
    "decode_text",
    "detect_format",
    "parse_number",
    "parse_server_time",
]

MAX_PROBLEMS = 50
MAX_ID = 2**63 - 1  # MT5 tickets and ids are 64-bit; storage keeps them as BIGINT


class FieldProblem(ValueError):
    """One bad value; the importer adds the row and column it came from."""


class StatementError(Exception):
    """A file that cannot be imported; ``problems`` has one line per row/column at fault."""

    def __init__(self, problems: list[str], source: str = "statement") -> None:
        self.problems = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            self.problems.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        self.source = source
        super().__init__(f"{source}: " + "; ".join(self.problems))


@dataclass(frozen=True)
class PositionInfo:
    """A row of the report's Positions (or Open Positions) section."""

    position_id: int
    symbol: str
    side: Side
    volume: float
    open_time: datetime
    open_price: float
    sl: float | None
    tp: float | None
    close_time: datetime | None = None
    close_price: float | None = None
    profit: float | None = None


@dataclass
class ParsedStatement:
    """What an importer read: deals (with position ids), stops, and the account it names."""

    deals: list[Deal]
    stops: dict[int, float] = field(default_factory=dict)
    positions: list[PositionInfo] = field(default_factory=list)
    account_login: int | None = None
    currency: str | None = None
    warnings: list[str] = field(default_factory=list)


DEAL_TYPES: dict[str, DealType] = {
    "buy": DealType.BUY,
    "sell": DealType.SELL,
    "balance": DealType.BALANCE,
    "credit": DealType.CREDIT,
    "charge": DealType.CHARGE,
    "correction": DealType.CORRECTION,
    "bonus": DealType.BONUS,
    "commission": DealType.COMMISSION,
    "daily commission": DealType.COMMISSION_DAILY,
    "commission daily": DealType.COMMISSION_DAILY,
    "monthly commission": DealType.COMMISSION_MONTHLY,
    "commission monthly": DealType.COMMISSION_MONTHLY,
    "daily agent commission": DealType.COMMISSION_AGENT_DAILY,
    "agent commission daily": DealType.COMMISSION_AGENT_DAILY,
    "monthly agent commission": DealType.COMMISSION_AGENT_MONTHLY,
    "agent commission monthly": DealType.COMMISSION_AGENT_MONTHLY,
    "interest": DealType.INTEREST,
    "interest rate": DealType.INTEREST,
    "buy canceled": DealType.BUY_CANCELED,
    "sell canceled": DealType.SELL_CANCELED,
    "dividend": DealType.DIVIDEND,
    "franked dividend": DealType.DIVIDEND_FRANKED,
    "dividend franked": DealType.DIVIDEND_FRANKED,
    "tax": DealType.TAX,
}
for _t in DealType:
    DEAL_TYPES.setdefault(_t.name.lower().replace("_", " "), _t)
    DEAL_TYPES.setdefault(str(int(_t)), _t)

DEAL_ENTRIES: dict[str, DealEntry] = {
    "in": DealEntry.IN,
    "out": DealEntry.OUT,
    "in/out": DealEntry.INOUT,
    "inout": DealEntry.INOUT,
    "in out": DealEntry.INOUT,
    "out by": DealEntry.OUT_BY,
    "out_by": DealEntry.OUT_BY,
    "outby": DealEntry.OUT_BY,
    "0": DealEntry.IN,
    "1": DealEntry.OUT,
    "2": DealEntry.INOUT,
    "3": DealEntry.OUT_BY,
}

_NUM = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def parse_number(text: str, *, decimal_comma: bool | None = None) -> float:
    """``"100 000.00"``, ``"-1 234,56"``, ``"0.10"`` -> float; raises :class:`FieldProblem`.

    Spaces (also non-breaking and thin spaces) and apostrophes are thousands separators.
    With both ``.`` and ``,`` present the last one is the decimal mark. A lone ``,`` is
    the decimal mark unless ``decimal_comma`` is False (then it is a thousands separator
    only when followed by exactly three digits).
    """
    raw = text
    s = text.strip()
    for ch in (" ", "\u00a0", "\u202f", "\u2009", "'"):
        s = s.replace(ch, "")
    s = s.replace("\u2212", "-")
    if "." in s and "," in s:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif "," in s:
        if s.count(",") > 1 or (decimal_comma is False and re.search(r",\d{3}$", s)):
            s = s.replace(",", "")
        else:
            s = s.replace(",", ".")
    if not _NUM.match(s):
        raise FieldProblem(f"{raw!r} is not a number")
    value = float(s)
    if not math.isfinite(value):  # "1e400" overflows to infinity
        raise FieldProblem(f"{raw!r} is not a number (too large)")
    return value


_TIME_FORMATS = ("%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


def parse_server_time(text: str, server_tz: tzinfo) -> datetime:
    """``YYYY.MM.DD HH:MM:SS`` in the broker's server time (or ISO 8601 with an offset) -> UTC."""
    s = text.strip()
    for fmt in _TIME_FORMATS:
        try:
            naive = datetime.strptime(s, fmt)  # noqa: DTZ007 - zone attached below
        except ValueError:
            continue
        return naive.replace(tzinfo=server_tz).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(s)
    except ValueError:
        raise FieldProblem(
            f"{text!r} is not a time (expected YYYY.MM.DD HH:MM:SS or ISO 8601)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=server_tz)
    return parsed.astimezone(UTC)


def decode_text(data: bytes, *, partial: bool = False) -> str:
    """Decode a report: UTF-16 (BOM, as MT5 saves it), UTF-8 (BOM or not), else cp1252.

    Bytes none of these read (a binary file) raise :class:`StatementError`. ``partial``
    is for a head cut from a longer file: a character split by the cut is dropped, and
    undecodable bytes are replaced rather than refused (enough to sniff the format)."""
    errors = "replace" if partial else "strict"
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16", errors)
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8", errors)
        if len(data) >= 4 and data[1] == 0 and data[3] == 0:
            return data.decode("utf-16-le", errors)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if partial and exc.start >= len(data) - 3:
                return data[: exc.start].decode("utf-8", "replace")
        return data.decode("cp1252", errors)
    except UnicodeDecodeError as exc:
        raise StatementError(
            [f"not a text file (byte {exc.start} is not UTF-8, UTF-16 or Windows-1252 text): "
             "import MT5's report saved as HTML, or a CSV"]
        ) from None


Format = Literal["mt5_html", "journal_csv", "deals_csv", "xlsx"]


def detect_format(data: bytes) -> Format:
    """Which importer reads ``data`` (by content, not file name); ``xlsx`` is MT5's
    "Open XML" report, which no importer reads (save the report as HTML instead)."""
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    text = decode_text(data[:8192], partial=True)
    head = text.lstrip()[:4096].lower()
    if head.startswith(("<!doctype html", "<html")) or "<table" in head:
        return "mt5_html"
    first = head.splitlines()[0] if head else ""
    if first.startswith("pulse_journal") or ("kind" in first and "trader_id" in first):
        return "journal_csv"
    return "deals_csv"


class RowReader:
    """Reads typed cells of one row, collecting every problem with its row and column."""

    def __init__(
        self,
        cells: dict[str, str],
        where: str,
        labels: dict[str, str],
        problems: list[str],
        *,
        decimal_comma: bool | None = None,
    ) -> None:
        self.cells = cells
        self.where = where
        self.labels = labels
        self.problems = problems
        self.decimal_comma = decimal_comma

    def text(self, name: str) -> str:
        """The cell's text, stripped ('' when the column is absent)."""
        return self.cells.get(name, "").strip()

    def fail(self, name: str, message: str) -> None:
        """Record a problem naming this row and the column's header as the file spells it."""
        self.problems.append(f"{self.where}, column '{self.labels.get(name, name)}': {message}")

    def time(self, name: str, server_tz: tzinfo) -> datetime | None:
        """The cell as a UTC time (read in ``server_tz`` when it has no offset); None on error."""
        try:
            return parse_server_time(self.text(name), server_tz)
        except FieldProblem as exc:
            self.fail(name, str(exc))
            return None

    def integer(self, name: str, default: int | None = None) -> int | None:
        """The cell as a whole number (``default`` when empty); None on error."""
        t = self.text(name).replace(" ", "").replace("\u00a0", "")
        if not t and default is not None:
            return default
        if not t.isdigit():
            self.fail(name, f"{self.text(name)!r} is not a whole number")
            return None
        if len(t) > 18 and int(t) > MAX_ID:
            self.fail(name, f"{t} is too large for an MT5 ticket or id (at most {MAX_ID})")
            return None
        return int(t)

    def number(
        self, name: str, empty: float | None = 0.0, *, negative: bool = True
    ) -> float | None:
        """The cell as a number (``empty`` when blank, an error if ``empty`` is None); None on
        error."""
        t = self.text(name)
        if not t:
            if empty is None:
                self.fail(name, "is empty")
            return empty
        try:
            v = parse_number(t.split("/")[0], decimal_comma=self.decimal_comma)
        except FieldProblem as exc:
            self.fail(name, str(exc))
            return None
        if not negative and v < 0:
            self.fail(name, f"must not be negative, got {t!r}")
            return None
        return v


@dataclass
class _Open:
    pid: int
    side: Side
    remaining: float


def assign_positions(deals: Sequence[Deal], positions: Iterable[PositionInfo] = ()) -> list[Deal]:
    """Give every trade deal a ``position_id`` when the source has none (MT5 HTML reports).

    MT5 numbers a position after the order that opened it, so an ``in`` deal's position is
    its order (a new position when that id is a known position or nothing is open on the
    same side; otherwise, netting, a scale-in into the open one). An ``out`` deal closes a
    position of the opposite side on its symbol: the one the Positions section says closed
    at that second with exactly that volume left, else one still open after it with more
    volume left (a partial close), else the oldest (FIFO). ``in/out`` reverses the open
    position and keeps its id (netting). Deals that already carry a position id keep it.
    """
    known = {p.position_id: p for p in positions}
    open_by_symbol: dict[str, list[_Open]] = {}
    out: list[Deal] = []
    eps = 1e-9
    for d in sorted(deals, key=lambda d: d.sort_key):
        if not d.type.is_trade:
            out.append(d)
            continue
        side = Side.from_deal_type(d.type)
        book = open_by_symbol.setdefault(d.symbol, [])
        if d.position_id:
            pid = d.position_id
            _track(book, pid, side, d, eps)
            out.append(d)
            continue
        opposite = [o for o in book if o.side is not side]
        if d.entry is DealEntry.IN:
            same = [o for o in book if o.side is side]
            order_id = d.order or d.ticket
            if order_id in known or not same or opposite:
                pid = order_id
                book.append(_Open(pid, side, d.volume))
            else:
                tgt = same[-1]
                pid = tgt.pid
                tgt.remaining += d.volume
        elif not opposite:
            pid = d.order or d.ticket
            if d.entry is DealEntry.INOUT:
                book.append(_Open(pid, side, d.volume))
        else:
            tgt = _choose(opposite, d, known, eps)
            pid = tgt.pid
            left = tgt.remaining - d.volume
            if left <= eps:
                book.remove(tgt)
                if d.entry is DealEntry.INOUT and -left > eps:
                    book.append(_Open(pid, side, -left))
            else:
                tgt.remaining = left
        out.append(d.model_copy(update={"position_id": pid}))
    return out


def _track(book: list[_Open], pid: int, side: Side, d: Deal, eps: float) -> None:
    cur = next((o for o in book if o.pid == pid), None)
    if cur is None:
        if d.entry in (DealEntry.IN, DealEntry.INOUT):
            book.append(_Open(pid, side, d.volume))
        return
    if cur.side is side:
        cur.remaining += d.volume
        return
    left = cur.remaining - d.volume
    if left <= eps:
        book.remove(cur)
        if d.entry is DealEntry.INOUT and -left > eps:
            book.append(_Open(pid, side, -left))
    else:
        cur.remaining = left


def _choose(cands: list[_Open], d: Deal, known: dict[int, PositionInfo], eps: float) -> _Open:
    for o in cands:
        info = known.get(o.pid)
        if info and info.close_time == d.time and abs(o.remaining - d.volume) <= eps:
            return o
    for o in cands:
        info = known.get(o.pid)
        if (
            info
            and info.close_time is not None
            and info.close_time > d.time
            and o.remaining > d.volume + eps
        ):
            return o
    for o in cands:
        if abs(o.remaining - d.volume) <= eps and o.pid not in known:
            return o
    return cands[0]


def apply_stops(trades: Iterable[Trade], stops: dict[int, float]) -> list[Trade]:
    """Attach each position's stop to its first trade (the later legs of a reversal have
    their own, unreported stop)."""
    out = []
    for t in trades:
        sl = stops.get(t.position_id)
        if sl is not None and t.stop_loss is None and t.trade_id == str(t.position_id):
            t = t.model_copy(update={"stop_loss": sl})
        out.append(t)
    return out

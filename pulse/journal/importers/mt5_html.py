"""MT5 trade history report (HTML) -> deals, positions, stops.

The terminal saves the report (History tab -> Report -> HTML) as UTF-16 LE with a BOM.
It is one big table: a few ``Name:/Account:/Company:/Date:`` rows, then sections, each
a one-cell title row (``Positions``, ``Orders``, ``Deals``, ``Open Positions``,
``Working Orders``, ``Results`` ...), a header row, data rows, and sometimes a totals
row. Columns are read **by header name**, never by position: hidden cells
(``class="hidden"`` or ``display: none``: the spacer MT5 puts in Positions data rows
but not always in the header, and the hidden ``Cost`` column of newer builds) are
dropped everywhere, and the visible cells are expanded by ``colspan`` so merged cells
line up. A repeated header (Positions has two ``Time`` and two ``Price`` columns: open
and close) gets a ``_2`` suffix. Numbers use a space as thousands separator
(``100 000.00``); a decimal comma is accepted too. Times are broker server time and
are converted to UTC with ``server_tz``.

The Deals table has no position column, so :func:`~.common.assign_positions` infers it
(a position's id is its opening order). The Positions section is the only place the
stop appears; its profit is cross-checked against the reconstructed trades.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from html.parser import HTMLParser

from pulse.journal.importers.common import (
    DEAL_ENTRIES,
    DEAL_TYPES,
    FieldProblem,
    ParsedStatement,
    PositionInfo,
    RowReader,
    StatementError,
    assign_positions,
    decode_text,
    parse_number,
    parse_server_time,
)
from pulse.models import Deal, DealEntry, Side
from pulse.trades import reconstruct_trades

__all__ = ["parse_mt5_html"]

SECTIONS = {
    "positions",
    "orders",
    "deals",
    "open positions",
    "working orders",
    "results",
    "summary",
}

DEAL_REQUIRED = ("time", "deal", "symbol", "type", "direction", "volume", "price", "profit")
POSITION_REQUIRED = ("time", "position", "symbol", "type", "volume", "price", "sl")


@dataclass
class _Cell:
    text: str
    colspan: int
    header: bool
    hidden: bool = False


@dataclass
class _TableReader(HTMLParser):
    """Collects every ``<tr>`` as a list of cells (text, colspan, th?)."""

    rows: list[list[_Cell]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._row: list[_Cell] | None = None
        self._cell: _Cell | None = None
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._close_row()
            self._row = []
        elif tag in ("td", "th"):
            self._close_cell()
            if self._row is None:
                self._row = []
            a = dict(attrs)
            try:
                colspan = max(1, int(a.get("colspan") or "1"))
            except ValueError:
                colspan = 1
            hidden = "hidden" in (a.get("class") or "").split() or bool(
                re.search(r"display\s*:\s*none", a.get("style") or "", re.IGNORECASE)
            )
            self._cell = _Cell("", colspan, tag == "th", hidden)
            self._buf = []
        elif tag == "br":
            self._buf.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._close_cell()
        elif tag in ("tr", "table"):
            self._close_row()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._buf.append(data)

    def _close_cell(self) -> None:
        # Hidden cells (MT5's ``class="hidden"`` spacers in Positions data rows, the
        # hidden Cost column) are dropped from headers and data alike: what is left is
        # what the trader sees, and the two line up whichever rows carry the spacers.
        if self._cell is not None and self._row is not None and not self._cell.hidden:
            self._cell.text = " ".join("".join(self._buf).replace("\u00a0", " ").split())
            self._row.append(self._cell)
        self._cell = None
        self._buf = []

    def _close_row(self) -> None:
        self._close_cell()
        if self._row:
            self.rows.append(self._row)
        self._row = None

    def close(self) -> None:
        super().close()
        self._close_row()


def _norm_header(text: str) -> str:
    t = re.sub(r"\s*/\s*", "", text.casefold()).replace(".", "")
    return re.sub(r"\s+", "_", t.strip())


def _expand(row: list[_Cell]) -> list[str]:
    out: list[str] = []
    for c in row:
        out.append(c.text)
        out.extend([""] * (c.colspan - 1))
    return out


def _header_map(row: list[_Cell]) -> tuple[dict[str, int], dict[str, str]]:
    """Column index and original label of each normalised header name."""
    cols: dict[str, int] = {}
    labels: dict[str, str] = {}
    for i, text in enumerate(_expand(row)):
        name = _norm_header(text)
        if not name:
            continue
        key, n = name, 2
        while key in cols:
            key = f"{name}_{n}"
            n += 1
        cols[key] = i
        labels[key] = text if n == 2 else f"{text} ({n - 1})"
    return cols, labels


@dataclass
class _Section:
    name: str
    header: dict[str, int] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    header_text: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _sections(rows: list[list[_Cell]]) -> tuple[dict[str, _Section], dict[str, str]]:
    sections: dict[str, _Section] = {}
    meta: dict[str, str] = {}
    current: _Section | None = None
    for row in rows:
        texts = [c.text for c in row]
        nonempty = [t for t in texts if t]
        if not nonempty:
            continue
        if len(nonempty) == 1 and len(row) <= 2 and nonempty[0].casefold() in SECTIONS:
            current = _Section(nonempty[0].casefold())
            sections.setdefault(current.name, current)
            continue
        if current is None:
            if texts[0].endswith(":") and len(nonempty) >= 2:
                meta[texts[0].rstrip(":").strip().casefold()] = nonempty[1]
            continue
        if current.header is None:
            current.header, current.labels = _header_map(row)
            current.header_text = [t for t in texts if t]
            continue
        current.rows.append(_expand(row))
    return sections, meta


def _cell(row: list[str], cols: dict[str, int], name: str) -> str:
    i = cols.get(name)
    return row[i].strip() if i is not None and i < len(row) else ""


def _missing(section: _Section, required: tuple[str, ...]) -> list[str]:
    cols = section.header or {}
    miss = [c for c in required if c not in cols]
    if not miss:
        return []
    return [
        f"{section.name.title()} section: column(s) {', '.join(repr(m) for m in miss)} not "
        f"found (headers are: {', '.join(section.header_text)}); save the report with the "
        "terminal's language set to English"
    ]


def _number(row: list[str], cols: dict[str, int], name: str, *, empty: float | None) -> float:
    text = _cell(row, cols, name)
    if not text:
        if empty is None:
            raise FieldProblem("is empty")
        return empty
    # Orders/positions volumes may read "0.10 / 0.10" (filled / requested).
    return parse_number(text.split("/")[0])


def _parse_deals(sec: _Section, server_tz: tzinfo, problems: list[str]) -> list[Deal]:
    cols = sec.header or {}
    labels = sec.labels
    deals: list[Deal] = []
    for n, row in enumerate(sec.rows, start=1):
        cells = {name: _cell(row, cols, name) for name in cols}
        if not cells.get("time") and not cells.get("deal"):
            continue  # totals row
        where = f"Deals row {n}"
        if cells.get("deal"):
            where += f" (deal {cells['deal']})"
        bad: list[str] = []
        rd = RowReader(cells, where, labels, bad)
        deal = deal_from_row(rd, server_tz, type_col="type", entry_col="direction")
        problems.extend(bad)
        if deal is not None and not bad:
            deals.append(deal)
    return deals


def deal_from_row(
    rd: RowReader, server_tz: tzinfo, *, type_col: str, entry_col: str, position_col: str = ""
) -> Deal | None:
    """One deal from a row of named cells (shared with the CSV importer)."""
    time = rd.time("time", server_tz)
    ticket = rd.integer("deal")
    type_txt = rd.text(type_col).casefold()
    dtype = DEAL_TYPES.get(type_txt)
    if dtype is None:
        rd.fail(type_col, f"{type_txt!r} is not a deal type (buy, sell, balance, commission ...)")
    dir_txt = rd.text(entry_col).casefold()
    entry = DEAL_ENTRIES.get(dir_txt) if dir_txt else DealEntry.IN
    if entry is None:
        rd.fail(entry_col, f"{dir_txt!r} is not in, out, in/out or out by")
    symbol = rd.text("symbol")
    is_trade = dtype is not None and dtype.is_trade
    if is_trade and not symbol:
        rd.fail("symbol", f"a {type_txt} deal needs a symbol")
    need = None if is_trade else 0.0
    volume = rd.number("volume", need, negative=False)
    price = rd.number("price", need, negative=False)
    if is_trade:
        # a trade deal without volume or price would build an empty or priceless trade
        if volume == 0:
            rd.fail("volume", f"a {type_txt} deal needs a volume above 0")
        if price == 0:
            rd.fail("price", f"a {type_txt} deal needs a price above 0")
    order = rd.integer("order", 0)
    position = rd.integer(position_col, 0) if position_col else 0
    money = {k: rd.number(k) for k in ("commission", "fee", "swap", "profit")}
    if (
        time is None
        or ticket is None
        or dtype is None
        or entry is None
        or volume is None
        or price is None
        or order is None
        or position is None
        or any(v is None for v in money.values())
        or rd.problems
    ):
        return None
    return Deal(
        ticket=ticket,
        order=order,
        time=time,
        time_msc=int(time.timestamp() * 1000),
        type=dtype,
        entry=entry,
        position_id=position,
        volume=volume,
        price=price,
        symbol=symbol,
        comment=rd.text("comment"),
        commission=money["commission"] or 0.0,
        fee=money["fee"] or 0.0,
        swap=money["swap"] or 0.0,
        profit=money["profit"] or 0.0,
    )


def _int(text: str) -> int:
    t = text.replace(" ", "").replace("\u00a0", "")
    if not t.isdigit():
        raise FieldProblem(f"{text!r} is not a whole number")
    return int(t)


def _parse_positions(
    sec: _Section, server_tz: tzinfo, problems: list[str], *, closed: bool
) -> list[PositionInfo]:
    cols = sec.header or {}
    out: list[PositionInfo] = []
    title = sec.name.title()
    for n, row in enumerate(sec.rows, start=1):
        if not _cell(row, cols, "position"):
            continue  # totals row
        where = f"{title} row {n} (position {_cell(row, cols, 'position')})"
        try:
            side_txt = _cell(row, cols, "type").casefold()
            if side_txt not in ("buy", "sell"):
                raise FieldProblem(f"column 'Type': {side_txt!r} is not buy or sell")
            sl = _number(row, cols, "sl", empty=0.0)
            tp = _number(row, cols, "tp", empty=0.0) if "tp" in cols else 0.0
            close_time = close_price = profit = None
            if closed and _cell(row, cols, "time_2"):
                close_time = parse_server_time(_cell(row, cols, "time_2"), server_tz)
                close_price = _number(row, cols, "price_2", empty=0.0)
            if _cell(row, cols, "profit"):
                profit = _number(row, cols, "profit", empty=0.0)
            out.append(
                PositionInfo(
                    position_id=_int(_cell(row, cols, "position")),
                    symbol=_cell(row, cols, "symbol"),
                    side=Side(side_txt),
                    volume=_number(row, cols, "volume", empty=0.0),
                    open_time=parse_server_time(_cell(row, cols, "time"), server_tz),
                    open_price=_number(row, cols, "price", empty=0.0),
                    sl=sl or None,
                    tp=tp or None,
                    close_time=close_time,
                    close_price=close_price,
                    profit=profit,
                )
            )
        except FieldProblem as exc:
            problems.append(f"{where}: {exc}")
    return out


def parse_mt5_html(data: bytes | str, server_tz: tzinfo = UTC) -> ParsedStatement:
    """Read an MT5 HTML trade history report; :class:`StatementError` lists every problem."""
    text = decode_text(data) if isinstance(data, bytes) else data
    reader = _TableReader()
    reader.feed(text)
    reader.close()
    sections, meta = _sections(reader.rows)
    deals_sec = sections.get("deals")
    if deals_sec is None or deals_sec.header is None:
        raise StatementError(
            ["no Deals section found: is this an MT5 trade history report saved as HTML?"],
            "mt5 report",
        )
    problems = _missing(deals_sec, DEAL_REQUIRED)
    pos_secs = [s for k in ("positions", "open positions") if (s := sections.get(k))]
    for s in pos_secs:
        problems += _missing(s, POSITION_REQUIRED)
    if problems:
        raise StatementError(problems, "mt5 report")
    deals = _parse_deals(deals_sec, server_tz, problems)
    positions: list[PositionInfo] = []
    for s in pos_secs:
        positions += _parse_positions(s, server_tz, problems, closed=s.name == "positions")
    seen: dict[int, int] = {}
    for i, d in enumerate(deals, start=1):
        if d.ticket in seen:
            problems.append(f"Deals row {i}, column 'Deal': ticket {d.ticket} appears twice")
        seen[d.ticket] = i
    if problems:
        raise StatementError(problems, "mt5 report")

    login = currency = None
    acct = meta.get("account", "")
    m = re.match(r"\s*(\d+)(?:\s*\(([A-Za-z]{3})\b)?", acct)
    if m:
        login = int(m.group(1))
        currency = m.group(2)
    assigned = assign_positions(deals, positions)
    stops = {p.position_id: p.sl for p in positions if p.sl}
    return ParsedStatement(
        deals=assigned,
        stops=stops,
        positions=positions,
        account_login=login,
        currency=currency,
        warnings=_cross_check(assigned, positions),
    )


def _cross_check(deals: list[Deal], positions: list[PositionInfo]) -> list[str]:
    """Compare each closed position's profit with the trades rebuilt from the deals."""
    by_pos: dict[int, float] = {}
    for t in reconstruct_trades(deals):
        if t.close_time is not None:
            by_pos[t.position_id] = by_pos.get(t.position_id, 0.0) + t.profit
    out = []
    for p in positions:
        if p.close_time is None or p.profit is None:
            continue
        got = by_pos.get(p.position_id)
        if got is None:
            out.append(f"position {p.position_id}: listed as closed but no closing deal found")
        elif abs(got - p.profit) > 0.005 + 1e-6 * abs(p.profit):
            out.append(
                f"position {p.position_id}: report profit {p.profit:.2f} but its deals add up "
                f"to {got:.2f} (check which position each closing deal belongs to)"
            )
    return out

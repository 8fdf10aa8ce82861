"""MT5 HTML trade history reports written to MT5's layout (tests/fixtures/journal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pulse.journal.importers import StatementError, apply_stops, detect_format
from pulse.journal.importers.common import parse_number
from pulse.journal.importers.mt5_html import parse_mt5_html
from pulse.models import DealType, Side
from pulse.trades import TradeBook, reconstruct_trades
from tests.journal.helpers import FIXTURES

SERVER = timezone(timedelta(hours=2))  # broker server time UTC+2


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def trades(name: str):
    st = parse_mt5_html(load(name), SERVER)
    return st, {t.trade_id: t for t in apply_stops(reconstruct_trades(st.deals), st.stops)}


def test_fixture_is_utf16_with_bom_and_detected_as_html():
    data = load("mt5_hedge_report.html")
    assert data[:2] == b"\xff\xfe"
    assert detect_format(data) == "mt5_html"


def test_hedge_report_deals_trades_and_stops():
    st, by_id = trades("mt5_hedge_report.html")
    assert (st.account_login, st.currency) == (5012345, "USD")
    assert len(st.deals) == 13 and st.warnings == []
    cash = [d for d in st.deals if not d.is_trade]
    assert [(d.ticket, d.type, d.profit, d.symbol) for d in cash] == [
        (1000, DealType.BALANCE, 100_000.0, ""),
        (1012, DealType.COMMISSION, -5.0, ""),
    ]
    assert sorted(by_id) == ["2001", "2004", "2006", "2008", "2009"]
    eur = by_id["2001"]  # one trade from three deals: entry and two partial closes
    assert eur.deal_tickets == (1001, 1002, 1003)
    assert (eur.side, eur.volume, eur.closed_volume) == (Side.BUY, 1.0, 1.0)
    assert eur.entry_price == pytest.approx(1.085) and eur.exit_price == pytest.approx(1.0875)
    assert eur.net_pnl == pytest.approx(236.0) and eur.stop_loss == pytest.approx(1.083)
    assert eur.open_time == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 10:00 server = 08:00 UTC
    assert eur.close_time == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
    assert by_id["2004"].net_pnl == pytest.approx(-107.0) and by_id["2004"].side is Side.SELL
    gold = by_id["2006"]  # "2 150.50": space as thousands separator; no stop in the report
    assert gold.entry_price == 2150.5 and gold.stop_loss is None
    assert gold.net_pnl == pytest.approx(98.8)
    # two EURUSD buys open at once (hedging): the later one closed first, by deal 1010
    assert by_id["2009"].deal_tickets == (1009, 1010)
    assert by_id["2009"].net_pnl == pytest.approx(18.6)
    assert by_id["2008"].deal_tickets == (1008, 1011)
    assert by_id["2008"].net_pnl == pytest.approx(-17.1)
    # everything adds up to the report's final balance 100 224.30
    book = TradeBook(st.deals)
    total = book.cash_total + sum(t.net_pnl for t in book.trades())
    assert total == pytest.approx(100_224.30)


def test_decimal_comma_report_reads_the_same():
    a = parse_mt5_html(load("mt5_hedge_report.html"), SERVER)
    b = parse_mt5_html(load("mt5_hedge_report_comma.html"), SERVER)
    assert a.deals == b.deals and a.stops == b.stops


def test_netting_reversal():
    st, by_id = trades("mt5_netting_report.html")
    assert st.account_login == 7003001 and st.warnings == []
    first, second = by_id["4001"], by_id["4001.1"]
    assert (first.side, first.entry_price, first.exit_price) == (Side.BUY, 150.0, 150.5)
    assert first.net_pnl == pytest.approx(322.23) and first.stop_loss == 149.5
    assert (second.side, second.volume, second.entry_price) == (Side.SELL, 0.5, 150.5)
    assert second.net_pnl == pytest.approx(99.87) and second.stop_loss is None


def test_same_report_twice_changes_nothing():
    a = parse_mt5_html(load("mt5_hedge_report.html"), SERVER)
    b = parse_mt5_html(load("mt5_hedge_report.html"), SERVER)
    book = TradeBook(a.deals)
    before = book.trades()
    assert book.extend(b.deals) == []
    assert book.trades() == before and len(book) == 13


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("<td>in</td><td>0.5</td><td>1.26500</td>", "<td>in</td><td>0.5x</td><td>1.26500</td>",
         "Deals row 5 (deal 1004), column 'Volume': '0.5x' is not a number"),
        ("<td>1001</td><td>EURUSD</td><td>buy</td>",
         "<td>1001</td><td>EURUSD</td><td>purchase</td>",
         "Deals row 2 (deal 1001), column 'Type': 'purchase' is not a deal type"),
        ("<td>2026.03.02 11:00:00</td><td>1002", "<td>2026.13.02 11:00:00</td><td>1002",
         "Deals row 3 (deal 1002), column 'Time': '2026.13.02 11:00:00' is not a time"),
        ("<td>1003</td><td>EURUSD</td><td>sell</td><td>out</td>",
         "<td>1003</td><td>EURUSD</td><td>sell</td><td>sideways</td>",
         "Deals row 4 (deal 1003), column 'Direction': 'sideways' is not in, out"),
        ("<td>1005</td><td>GBPUSD</td>", "<td>1004</td><td>GBPUSD</td>",
         "Deals row 6, column 'Deal': ticket 1004 appears twice"),
        ("<td>1006</td><td>XAUUSD</td>", "<td>1006</td><td></td>",
         "Deals row 7 (deal 1006), column 'Symbol': a buy deal needs a symbol"),
        ("<td nowrap><b>Direction</b></td><td nowrap><b>Volume</b></td>",
         "<td nowrap><b>Direction</b></td><td nowrap><b>Lots</b></td>",
         "Deals section: column(s) 'volume' not found"),
    ],
)
def test_malformed_report_is_refused_naming_row_and_column(old, new, expected):
    text = load("mt5_hedge_report.html").decode("utf-16")
    assert old in text
    bad = text.replace(old, new, 1).encode("utf-16")
    with pytest.raises(StatementError) as exc:
        parse_mt5_html(bad, SERVER)
    assert any(p.startswith(expected) for p in exc.value.problems), exc.value.problems


def test_several_problems_reported_at_once_and_not_a_report():
    text = load("mt5_hedge_report.html").decode("utf-16")
    bad = text.replace("<td>-3.50</td>", "<td>-3.5O</td>")  # letter O: four rows
    with pytest.raises(StatementError) as exc:
        parse_mt5_html(bad.encode("utf-16"), SERVER)
    assert len(exc.value.problems) == 4
    assert all("column 'Commission'" in p for p in exc.value.problems)
    with pytest.raises(StatementError, match="no Deals section"):
        parse_mt5_html(b"<html><body><p>hello</p></body></html>")


@pytest.mark.parametrize(
    ("text", "value"),
    [("100 000.00", 100_000.0), ("-1 234,56", -1234.56), ("0.10", 0.1), ("1\u00a0000", 1000.0),
     ("1.234,5", 1234.5), ("1,234.5", 1234.5), ("2 150,50", 2150.5)],
)
def test_numbers(text, value):
    assert parse_number(text) == pytest.approx(value)


def test_hidden_spacers_are_ignored_in_header_and_rows_alike():
    text = load("mt5_hedge_report.html").decode("utf-16")
    assert text.count('<td class="hidden" colspan="8"></td>') == 5  # Positions data rows
    base = parse_mt5_html(text, SERVER)
    # a build that also puts the spacer in the Positions header reads the same
    header_cell = "<td nowrap><b>Type</b></td>"
    both = text.replace(header_cell, header_cell + '<td class="hidden" colspan="8"></td>', 1)
    assert parse_mt5_html(both, SERVER).stops == base.stops == {
        2001: 1.083, 2004: 1.267, 2008: 1.084, 2009: 1.085}
    # and one without any hidden cell at all
    bare = text.replace('<td class="hidden" colspan="8"></td>', "").replace(
        '<td class="hidden"></td>', "").replace('<td nowrap class="hidden"><b>Cost</b></td>', "")
    assert parse_mt5_html(bare, SERVER).deals == base.deals

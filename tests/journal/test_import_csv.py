"""Generic deals CSV and the journal's own CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pulse.journal.importers import StatementError, apply_stops, detect_format
from pulse.journal.importers.deals_csv import parse_deals_csv
from pulse.journal.importers.journal_csv import (
    entries_to_csv,
    entries_to_json,
    new_entries,
    parse_journal_csv,
)
from pulse.models import Driver, JournalEntry, JournalKind, Side
from pulse.trades import reconstruct_trades
from tests.journal.helpers import FIXTURES

CSV = """time;ticket;type;symbol;entry;volume;price;commission;profit;sl
2026.03.02 10:00:00;11;buy;EURUSD;in;1;1,08500;-3,50;0;1,08300
2026.03.02 11:00:00;12;sell;EURUSD;out;0,5;1,08700;-1,75;100,00;
2026.03.02 12:00:00;13;sell;EURUSD;out;0,5;1,08800;-1,75;150,00;
2026.03.02 12:30:00;14;balance;;;;;;-1 000,00;
2026.03.03 09:00:00;15;sell;GBPUSD;in;1;1,26500;0;0;
2026.03.03 09:30:00;16;buy;GBPUSD;in/out;2;1,26600;0;-100,00;
"""


def test_week_fixture_is_read_whole():
    data = (FIXTURES / "week_deals.csv").read_bytes()
    assert detect_format(data) == "deals_csv"
    st = parse_deals_csv(data)
    assert len(st.deals) == 37
    trades = apply_stops(reconstruct_trades(st.deals), st.stops)
    assert len(trades) == 18 and sum(t.stop_loss is not None for t in trades) == 16


def test_semicolon_decimal_comma_and_inferred_positions():
    st = parse_deals_csv(CSV, timezone(timedelta(hours=2)))
    assert [d.position_id for d in st.deals] == [11, 11, 11, 0, 15, 15]
    trades = {t.trade_id: t for t in apply_stops(reconstruct_trades(st.deals), st.stops)}
    eur = trades["11"]
    assert eur.net_pnl == pytest.approx(243.0) and eur.stop_loss == pytest.approx(1.083)
    assert eur.open_time == datetime(2026, 3, 2, 8, tzinfo=UTC)
    # the in/out closes the GBPUSD short and opens a 1-lot long in the same position
    assert trades["15"].net_pnl == -100 and trades["15.1"].side is Side.BUY
    assert trades["15.1"].volume == 1.0 and trades["15.1"].is_open
    assert st.deals[3].profit == -1000.0


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("0,5;1,08700", "0,5;1,08x00", "line 3, column 'price': '1,08x00' is not a number"),
        (";12;sell;", ";12;sel;", "line 3, column 'type': 'sel' is not a deal type"),
        (";13;", ";12;", "line 4, column 'ticket': 12 already on line 3"),
        ("2026.03.03 09:00:00", "03/03/2026 09:00", "line 6, column 'time': '03/03/2026 09:00'"),
        ("1;1,26500;0;0;", "1;1,26500;0;0", "line 6: 9 fields, the header has 10"),
        (";0,5;1,08800;", ";-0,5;1,08800;", "line 4, column 'volume': must not be negative"),
        ("price;", "prize;", "line 1: unknown column 'prize'"),
        ("time;ticket", "when;ticket", "line 1: unknown column 'when'"),
        # values that used to pass the parser and then crash storage or the trade builder
        (";12;sell;", ";99999999999999999999;sell;", "line 3, column 'ticket': 9999999999999"),
        ("0,5;1,08700", "1e400;1,08700", "line 3, column 'volume': '1e400' is not a number"),
        ("0,5;1,08700", "0;1,08700", "line 3, column 'volume': a sell deal needs a volume above 0"),
        ("0,5;1,08700", "0,5;0", "line 3, column 'price': a sell deal needs a price above 0"),
    ],
)
def test_malformed_csv_names_line_and_column(old, new, expected):
    with pytest.raises(StatementError) as exc:
        parse_deals_csv(CSV.replace(old, new, 1))
    assert any(p.startswith(expected) for p in exc.value.problems), exc.value.problems


def test_missing_required_column_and_empty_file():
    with pytest.raises(StatementError, match="missing column"):
        parse_deals_csv("time,symbol\n2026-03-02 10:00:00,EURUSD\n")
    with pytest.raises(StatementError, match="empty"):
        parse_deals_csv("")


def entries():
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    return [
        JournalEntry(id=3, trader_id=7, kind=JournalKind.PRE_TRADE, at=at, confidence=8,
                     driver=Driver.STRATEGY, calendar_checked=True, setup_tag="bo, retest",
                     symbol="EURUSD", side=Side.BUY, text='said "go"\nthen went'),
        JournalEntry(id=4, trader_id=7, kind=JournalKind.POST_TRADE, at=at + timedelta(hours=1),
                     trade_id="11", what_worked="patience", would_take_again=False),
        JournalEntry(id=5, trader_id=7, kind=JournalKind.OVERRIDE, at=at, rule="cooling_period",
                     text="A+ setup", verdict_id=9),
    ]


def test_own_csv_round_trip_and_idempotent_reimport():
    text = entries_to_csv(entries())
    assert detect_format(text.encode()) == "journal_csv"
    back = parse_journal_csv(text, 7)
    assert [e.model_copy(update={"id": None}) for e in entries()] == back
    assert new_entries(back, entries()) == []  # importing into the source journal: nothing new
    assert len(new_entries(back + back, [])) == 3


def test_own_csv_refuses_another_traders_rows_and_bad_values():
    text = entries_to_csv(entries())
    with pytest.raises(StatementError) as exc:
        parse_journal_csv(text, 8)
    assert exc.value.problems[0].startswith("line 2, column 'trader_id': entry of trader 7")
    bad = text.replace(",8,strategy,", ",11,strategy,")
    with pytest.raises(StatementError, match="line 2, column 'confidence'"):
        parse_journal_csv(bad, 7)


def test_json_export_has_entries_and_trades():
    import json

    doc = json.loads(entries_to_json(7, entries()))
    assert doc["format"] == "pulse-journal" and doc["trader_id"] == 7
    assert [e["kind"] for e in doc["entries"]] == ["pre_trade", "post_trade", "override"]


def test_format_detected_when_the_head_cuts_a_character_in_two():
    # detection decodes the first 8192 bytes; a UTF-8 file whose text has an "ā" (c4 81)
    # and a character split by that cut failed UTF-8 and then cp1252 (0x81 is undefined)
    head = "time,ticket,type,symbol,entry,volume,price,comment\n"
    row = "2026.03.02 10:00:00,11,buy,EURUSD,in,1,1.085,Krā\n".encode()
    body = head.encode() + row
    data = body + b"#" * (8191 - len(body)) + "ā".encode() + b"\n"
    assert data[8191:8193] == "ā".encode()  # the cut at 8192 splits it
    assert detect_format(data) == "deals_csv"


def test_binary_data_is_a_statement_error():
    with pytest.raises(StatementError, match="not a text file"):
        parse_deals_csv(bytes(range(256)) * 4)


def test_own_csv_refuses_an_id_storage_cannot_hold():
    # a 23-digit verdict id passed validation and then crashed SQLite with an OverflowError
    text = (FIXTURES / "week_journal.csv").read_text()
    header = text.splitlines()[0]
    row = ",42,note,2017-04-24T07:58:05+00:00,hello,,,,,,,,,,,99999999999999999999999,"
    with pytest.raises(StatementError) as exc:
        parse_journal_csv(f"{header}\n{row}\n", 42)
    assert exc.value.problems[0].startswith("line 2, column 'verdict_id': ")
    assert "too large" in exc.value.problems[0]

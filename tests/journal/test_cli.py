"""``pulse import`` and ``pulse journal`` end to end on a temporary SQLite database."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.cli import main
from storage import open_database
from storage.repo_deals import count_deals, load_trades
from storage.repo_journal import list_journal_entries
from storage.repo_traders import account_by_login
from tests.journal.helpers import FIXTURES


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PULSE_CONFIG", raising=False)
    return f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"


def snapshot(url, login):
    async def go():
        engine = await open_database(url)
        try:
            acct = await account_by_login(engine, login)
            if acct is None:
                return None
            return (
                acct.trader_id,
                await count_deals(engine, acct.id),
                await load_trades(engine, acct.id),
            )
        finally:
            await engine.dispose()

    return asyncio.run(go())


def entries_of(url, trader):
    async def go():
        engine = await open_database(url)
        try:
            return await list_journal_entries(engine, trader)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_import_report_twice_changes_nothing(db, capsys):
    args = ["import", str(FIXTURES / "mt5_hedge_report.html"), "--trader", "42",
            "--server-utc-offset", "2", "--url", db]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "13 new, 0 already stored; 5 trades written, 4 stops known" in first
    before = snapshot(db, 5012345)
    assert before is not None and before[0] == 42 and before[1] == 13
    trades = {t.trade_id: t for t in before[2]}
    assert trades["2001"].stop_loss == pytest.approx(1.083)
    assert trades["2001"].net_pnl == pytest.approx(236.0)
    assert main(args) == 0
    assert "0 new, 13 already stored; 0 trades written" in capsys.readouterr().out
    assert snapshot(db, 5012345) == before
    # the same deals from the decimal-comma variant are the same deals
    assert main([*args[:1], str(FIXTURES / "mt5_hedge_report_comma.html"), *args[2:]]) == 0
    assert snapshot(db, 5012345) == before


def test_malformed_report_is_refused_whole(db, tmp_path, capsys):
    text = (FIXTURES / "mt5_hedge_report.html").read_bytes().decode("utf-16")
    bad = tmp_path / "bad.html"
    bad.write_bytes(text.replace("<td>1.08700</td>", "<td>1.08.700</td>", 1).encode("utf-16"))
    assert main(["import", str(bad), "--trader", "42", "--url", db]) == 2
    err = capsys.readouterr().err
    assert "Deals row 3 (deal 1002), column 'Price': '1.08.700' is not a number" in err
    assert "nothing imported" in err and "Traceback" not in err
    assert snapshot(db, 5012345) is None


def test_account_checks(db, tmp_path, capsys):
    report = str(FIXTURES / "mt5_hedge_report.html")
    assert main(["import", report, "--trader", "42", "--account", "1", "--url", db]) == 2
    assert "the report is of account 5012345" in capsys.readouterr().err
    assert main(["import", report, "--trader", "42", "--url", db]) == 0
    assert main(["import", report, "--trader", "43", "--url", db]) == 2
    assert "linked to another trader" in capsys.readouterr().err
    csv = str(FIXTURES / "week_deals.csv")
    assert main(["import", csv, "--trader", "42", "--url", db]) == 2
    assert "pass --account LOGIN" in capsys.readouterr().err
    assert main(["import", "nope.html", "--trader", "42", "--url", db]) == 2
    assert "file not found" in capsys.readouterr().err
    xlsx = tmp_path / "report.xlsx"
    xlsx.write_bytes(b"PK\x03\x04" + bytes(100))
    assert main(["import", str(xlsx), "--trader", "42", "--url", db]) == 2
    assert "save the report as HTML" in capsys.readouterr().err


def test_journal_import_export_stats_and_privacy(db, tmp_path, capsys):
    assert main(["import", str(FIXTURES / "week_deals.csv"), "--trader", "42", "--account",
                 "900", "--url", db]) == 0
    journal = str(FIXTURES / "week_journal.csv")
    assert main(["import", journal, "--trader", "42", "--url", db]) == 0
    assert "25 new" in capsys.readouterr().out
    assert main(["import", journal, "--trader", "42", "--url", db]) == 0
    assert "0 new, 25 already in the journal" in capsys.readouterr().out
    # someone else's rows are refused
    assert main(["import", journal, "--trader", "43", "--url", db]) == 2
    assert "line 2, column 'trader_id': entry of trader 42, not 43" in capsys.readouterr().err
    assert entries_of(db, 43) == []

    out = tmp_path / "export.csv"
    assert main(["journal", "export", "--trader", "42", "--output", str(out), "--url", db]) == 0
    capsys.readouterr()
    # re-importing the export into the journal it came from adds nothing
    assert main(["import", str(out), "--trader", "42", "--url", db]) == 0
    assert "0 new, 25 already" in capsys.readouterr().out
    assert main(["journal", "export", "--trader", "42", "--format", "json", "--url", db]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["entries"]) == 25 and len(doc["trades"]) == 18
    assert main(["journal", "export", "--trader", "43", "--format", "json", "--url", db]) == 0
    assert json.loads(capsys.readouterr().out)["entries"] == []

    assert main(["journal", "stats", "--trader", "42", "--json", "--balance", "100000",
                 "--url", db]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["stats"]["count"] == 18 and stats["stats"]["wins"] == 6
    assert stats["stats"]["net_pnl"] == pytest.approx(-1364.0)
    assert stats["timezone"] == "Europe/Prague"
    assert all(i["n"][0] >= 5 and i["n"][1] >= 5 for i in stats["insights"])
    assert main(["journal", "stats", "--trader", "42", "--driver", "emotion", "--url", db]) == 0
    assert "emotion-driven" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["journal", "stats", "--trader", "42", "--hour", "25", "--url", db])
    assert exc.value.code == 2
    assert "--hour: must be an hour 0-23, got '25'" in capsys.readouterr().err

    first = entries_of(db, 42)[0]
    assert main(["journal", "delete", "--trader", "43", "--id", str(first.id), "--url", db]) == 2
    assert len(entries_of(db, 42)) == 25
    assert main(["journal", "delete", "--trader", "42", "--id", str(first.id), "--url", db]) == 0
    assert len(entries_of(db, 42)) == 24
    assert main(["journal", "list", "--trader", "42", "--limit", "2", "--url", db]) == 0
    listed = capsys.readouterr().out.strip().splitlines()
    assert len(listed) == 3 and listed[-1].startswith("#") and "CEST" in listed[-1]


def test_summary_and_edit_commands(db, tmp_path, capsys):
    assert main(["import", str(FIXTURES / "week_deals.csv"), "--trader", "42", "--account",
                 "900", "--url", db]) == 0
    assert main(["import", str(FIXTURES / "week_journal.csv"), "--trader", "42", "--url", db]) == 0
    capsys.readouterr()
    # Wednesday 2017-04-26 (Prague): balance before = 100 000 - 66 - 369.5 = 99 564.5;
    # the day nets -562.5 (-0.56%); one override (journal) costs 10 points
    assert main(["journal", "summary", "--trader", "42", "--day", "2017-04-26", "--url", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("4 trades, 1 win, -0.6%. Behavioural score: ")
    assert "-10 override" in lines[1]
    assert lines[2] == "Rule hits: cooling_period overridden at 17:58: felt sure."
    chart = tmp_path / "week.png"
    assert main(["journal", "summary", "--trader", "42", "--week", "2017-04-28", "--chart",
                 str(chart), "--url", db]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Week of 2017-04-24: 18 trades, win rate 33%, profit factor 0.27, -1.4%.\n"
        "Best day: Monday (-0.1%). Worst day: Wednesday (-0.6%). Weakness: "
    )
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    entry = entries_of(db, 42)[0]
    assert main(["journal", "edit", "--trader", "42", "--id", str(entry.id), "--set",
                 "confidence=3", "--set", "setup_tag=", "--url", db]) == 0
    edited = entries_of(db, 42)[0]
    assert (edited.confidence, edited.setup_tag, edited.at) == (3, None, entry.at)
    assert main(["journal", "edit", "--trader", "43", "--id", str(entry.id), "--set",
                 "text=mine now", "--url", db]) == 2
    assert "no entry" in capsys.readouterr().err
    assert main(["journal", "edit", "--trader", "42", "--id", str(entry.id), "--set",
                 "confidence=0", "--set", "trader_id=43", "--url", db]) == 2
    err = capsys.readouterr().err
    assert "--set confidence: must be between 1 and 10, got 0" in err
    assert "--set trader_id: not editable" in err
    assert entries_of(db, 42)[0] == edited


def test_binary_file_is_refused_without_traceback(db, tmp_path, capsys):
    # bytes cp1252 cannot decode (0x81, 0x8d, ...) used to escape as a UnicodeDecodeError
    junk = tmp_path / "statement.csv"
    junk.write_bytes(bytes(range(256)) * 4)
    assert main(["import", str(junk), "--trader", "42", "--account", "7", "--url", db]) == 2
    err = capsys.readouterr().err
    assert "not a text file" in err and "Traceback" not in err
    assert snapshot(db, 7) is None


def test_an_unexpected_database_error_is_one_line_not_a_traceback(db, monkeypatch, capsys):
    import sqlalchemy.exc

    import bot.commands.import_cmd as import_cmd

    async def broken(conn, account_id, deals):
        raise sqlalchemy.exc.OperationalError("INSERT ...", {}, Exception("disk I/O error"))

    monkeypatch.setattr(import_cmd, "insert_deals", broken)
    args = ["import", str(FIXTURES / "mt5_hedge_report.html"), "--trader", "42", "--url", db]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "disk I/O error" in err[0] and err[0].startswith("pulse import: ")
    snap = snapshot(db, 5012345)
    assert snap is None or snap[1] == 0  # the failed transaction stored no deal

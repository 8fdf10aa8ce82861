"""The bundled day is priced from the bundled real bars; bad input gets one line per
problem and exit 2; the command stays light to import."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import cast

import pandas as pd
import pytest

from bot.demo import (
    DEMO_BARS,
    DEMO_TRADER_ID,
    DemoError,
    JournalStep,
    SessionStep,
    SummaryStep,
    load_demo_day,
    parse_speed,
)
from bot.feeds.replay import load_bars_csv
from pulse.kernel import CheckEvent, DealEvent, EquityEvent, OverrideEvent
from pulse.models import DealEntry, Side
from storage import open_database, repo_traders

from .conftest import run_cli

MINUTE = pd.Timedelta(minutes=1)


@pytest.fixture(scope="module")
def m1() -> pd.DataFrame:
    return load_bars_csv(DEMO_BARS)


def _bar(m1: pd.DataFrame, at: datetime) -> pd.Series:
    """The minute bar ``at`` falls in."""
    start = pd.Timestamp(at).tz_convert("UTC").floor("min")
    assert start in m1.index, f"no bar at {start}"
    return cast(pd.Series, m1.loc[start])


def _last_closed(m1: pd.DataFrame, at: datetime) -> pd.Series:
    """The last minute bar closed at ``at``."""
    closes = pd.DatetimeIndex(m1.index) + MINUTE
    return cast(pd.Series, m1[closes <= pd.Timestamp(at)].iloc[-1])


def test_the_day_has_every_kind_of_step() -> None:
    day = load_demo_day()
    kinds = {type(s) for s in day.steps}
    assert {CheckEvent, DealEvent, EquityEvent, OverrideEvent, SessionStep, JournalStep,
            SummaryStep} <= kinds
    spec = day.script.symbols["ES"]
    assert (spec.tick_size, spec.tick_value, spec.contract_size, spec.volume_step,
            spec.volume_min) == (0.25, 12.5, 50, 1, 1)
    assert day.script.account.initial_balance == 100_000
    assert [s.at for s in day.steps] == sorted(s.at for s in day.steps)


def test_prices_come_from_the_bundled_bars(m1: pd.DataFrame) -> None:
    day = load_demo_day()
    spec = day.script.symbols["ES"]
    point = spec.tick_value / spec.tick_size  # 50 USD a point a contract
    opened: dict[int, tuple[Side, float, float, datetime]] = {}
    balance = 0.0
    for s in day.steps:
        if isinstance(s, CheckEvent):
            # priced at the close of the last bar closed at the check
            last = _last_closed(m1, s.at)
            assert s.request.price == last["close"], s.at
        elif isinstance(s, DealEvent):
            d = s.deal
            balance += d.net
            if not d.is_trade:
                continue
            bar = _bar(m1, d.time)
            assert bar["low"] <= d.price <= bar["high"], d.ticket
            assert d.commission == -2.5 * d.volume
            side = Side.from_deal_type(d.type)
            if d.entry is DealEntry.IN:
                opened[d.position_id] = (side, d.price, d.volume, d.time)
                continue
            o_side, o_price, o_volume, o_time = opened.pop(d.position_id)
            sign = 1 if o_side is Side.BUY else -1
            assert d.profit == pytest.approx(sign * (d.price - o_price) * o_volume * point)
            # a stop or target fills at the first bar that reaches it
            between = m1[(m1.index > pd.Timestamp(o_time).floor("min"))
                         & (m1.index < pd.Timestamp(d.time).floor("min"))]
            reached = between["low"] <= d.price if (o_side is Side.BUY) == (d.profit < 0) \
                else between["high"] >= d.price
            assert not reached.any(), f"deal {d.ticket}: level reached before the fill"
        elif isinstance(s, EquityEvent):
            assert s.balance == pytest.approx(balance)
            (side, price, volume, _), = opened.values()
            close = _last_closed(m1, s.at)["close"]
            sign = 1 if side is Side.BUY else -1
            assert s.equity - s.balance == pytest.approx(sign * (close - price) * volume * point)


def test_speed_parsing() -> None:
    assert parse_speed("full") is None
    assert parse_speed("1") == 1.0 and parse_speed("60") == 60.0
    for bad in ("0", "-2", "fast", "nan", "inf"):
        with pytest.raises(ValueError, match="--speed"):
            parse_speed(bad)


def test_bad_speed_exits_2_with_one_line(tmp_path: Path) -> None:
    code, out, err = run_cli("demo", "--db", str(tmp_path / "d.db"), "--speed", "fast")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "--speed" in err
    assert not (tmp_path / "d.db").exists()


def test_an_unwritable_place_exits_2_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli("demo", "--db", str(blocker / "sub" / "demo.db"))
    assert code == 2 and "cannot write" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_file_that_is_not_a_demo_db_is_never_overwritten(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("my precious notes\n")
    code, _, err = run_cli("demo", "--db", str(notes))
    assert code == 2 and "refusing to overwrite" in err and "Traceback" not in err
    assert notes.read_text() == "my precious notes\n"


def test_a_real_pulse_db_is_never_overwritten(tmp_path: Path) -> None:
    db = tmp_path / "pulse.db"

    async def make() -> None:
        engine = await open_database(f"sqlite+aiosqlite:///{db}")
        await repo_traders.upsert_trader(engine, 77, at=datetime.fromisoformat(
            "2026-03-02T09:00:00+00:00"), name="real trader", timezone="Europe/Prague")
        await engine.dispose()

    asyncio.run(make())
    size = db.stat().st_size
    code, _, err = run_cli("demo", "--db", str(db))
    assert code == 2 and "not a pulse demo database" in err
    assert db.stat().st_size == size
    assert DEMO_TRADER_ID != 77


def test_a_bad_script_names_the_event_index_and_field(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "pulse" / "data" / "demo_day.yaml").read_text()
    text = text.replace("type: journal, kind: post_trade, position: 1001,",
                        "type: journal, kind: post_trade,")
    text = text.replace("side: sell, volume: 2, price: 1649.75", "side: sideways, volume: 2, "
                        "price: 1649.75")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(DemoError) as exc:
        load_demo_day(bad)
    problems = exc.value.problems
    assert len(problems) == 2 and problems[0].startswith("events[2]")  # in script order
    assert any(p.startswith("events[2] (check): side") for p in problems), problems
    assert any(p.startswith("events[6] (journal): position") for p in problems), problems
    code, _, err = run_cli("demo", "--db", str(tmp_path / "d.db"), "--script", str(bad))
    assert code == 2 and "events[2]" in err and "Traceback" not in err


def test_the_command_module_imports_nothing_heavy() -> None:
    code = ("import sys, bot.cli; bot.cli.build_parser('demo'); "
            "print(sorted(m for m in ('pandas', 'sqlalchemy', 'matplotlib', 'discord') "
            "if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[2])
    assert res.stdout.strip() == "[]"


def test_a_break_event_in_a_script_goes_through_the_service(tmp_path: Path) -> None:
    """A `type: break` step (the /break command) starts a self-imposed cooling period."""
    import json

    text = (Path(__file__).parents[2] / "pulse" / "data" / "demo_day.yaml").read_text()
    anchor = '  - {at: "2013-09-03T15:50:00+02:00", type: journal, kind: post_trade,'
    assert anchor in text
    text = text.replace(
        anchor,
        '  - {at: "2013-09-03T15:55:00+02:00", type: break, minutes: 20, reason: "coffee"}\n'
        + anchor,
    )
    script = tmp_path / "with_break.yaml"
    script.write_text(text)
    code, out, err = run_cli("demo", "--json", "--db", str(tmp_path / "d.db"),
                             "--out", str(tmp_path), "--script", str(script))
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    started = [o for o in lines if o.get("type") == "nudge" and o.get("kind") == "cooling_started"
                 and o["at"].startswith("2013-09-03T15:55")]
    assert len(started) == 1, [o for o in lines if o.get("kind") == "cooling_started"]
    assert "20" in started[0]["text"]

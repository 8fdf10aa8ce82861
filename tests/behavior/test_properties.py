"""Properties: order-independence, causality, score range, confidence monotonicity."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.behavior import FLAG_ORDER, Flag, TradeTape
from pulse.models import Trade
from tests.behavior.factory import PRAGUE, at, engine, trade

SYMBOLS = ["EURUSD", "GBPUSD", "XAUUSD"]


@st.composite
def trades(draw: st.DrawFn, n_max: int = 25) -> list[Trade]:
    n = draw(st.integers(0, n_max))
    out = []
    for i in range(n):
        opened = at(draw(st.integers(-300, 0)))
        duration = draw(st.one_of(st.none(), st.integers(0, 120)))
        out.append(
            trade(
                opened,
                symbol=draw(st.sampled_from(SYMBOLS)),
                volume=draw(st.sampled_from([0.1, 0.5, 0.8, 1.0, 1.25, 1.5, 3.0])),
                closed=None if duration is None else opened + timedelta(minutes=duration),
                pnl=draw(st.sampled_from([-300.0, -5.0, 0.0, 20.0, 150.0])),
                trade_id=f"h{i}",
            )
        )
    return out


entries = st.builds(
    lambda m, s, v: trade(at(m), symbol=s, volume=v, trade_id="entry"),
    st.integers(-60, 30),
    st.sampled_from(SYMBOLS),
    st.sampled_from([0.1, 0.8, 1.0, 1.3, 2.0]),
)


@settings(max_examples=150, deadline=None)
@given(history=trades(), entry=entries, used=st.floats(0, 120), data=st.data())
def test_flags_do_not_depend_on_history_order(
    history: list[Trade], entry: Trade, used: float, data: st.DataObject
) -> None:
    e = engine(PRAGUE)
    expected = e.flags_for_entry(entry, history, used)
    shuffled = data.draw(st.permutations(history))
    assert e.flags_for_entry(entry, shuffled, used) == expected
    assert e.flags_for_entry(entry, TradeTape(reversed(history)), used) == expected
    assert [f.id for f in expected] == [i for i in FLAG_ORDER if i in {f.id for f in expected}]
    for f in expected:
        assert 0.0 <= f.confidence <= 1.0
        assert f.at == entry.open_time and f.trade_id == "entry" and f.evidence


@settings(max_examples=100, deadline=None)
@given(history=trades(), entry=entries, future=trades(n_max=6))
def test_trades_after_the_entry_change_nothing(
    history: list[Trade], entry: Trade, future: list[Trade]
) -> None:
    e = engine()
    later = [
        t.model_copy(
            update={
                "trade_id": f"f{i}",
                "open_time": entry.open_time + timedelta(seconds=1 + i),
                "close_time": None
                if t.close_time is None
                else entry.open_time + timedelta(minutes=2 + i),
            }
        )
        for i, t in enumerate(future)
    ]
    assert e.flags_for_entry(entry, history + later, 10.0) == e.flags_for_entry(
        entry, history, 10.0
    )


flag_st = st.builds(
    Flag,
    st.sampled_from(FLAG_ORDER),
    st.floats(0, 1),
    st.text(max_size=5),
    st.integers(-600, 600).map(lambda m: at(m)),
    st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
)


@settings(max_examples=200, deadline=None)
@given(
    flags=st.lists(flag_st, max_size=12),
    overrides=st.integers(0, 12),
    violations=st.integers(0, 12),
)
def test_score_stays_within_0_and_100(flags: list[Flag], overrides: int, violations: int) -> None:
    e = engine()
    r = e.report(flags, overrides, violations)
    assert 0 <= r.score <= 100
    assert r.score == max(0, 100 - r.total_deducted)
    assert r.state is e.state_for(r.score)
    assert r == e.report(list(reversed(flags)), overrides, violations)


@settings(max_examples=60, deadline=None)
@given(m1=st.integers(0, 1800), m2=st.integers(0, 1800), volume=st.sampled_from([0.5, 1.3, 2.5]))
def test_revenge_confidence_falls_with_time_since_the_loss(m1: int, m2: int, volume: float) -> None:
    e = engine()
    loss = trade(at(-20), symbol="EURUSD", closed=at(0), pnl=-100)
    history = [trade(at(-100 + i), symbol="XAUUSD", closed=at(-90), pnl=0.0) for i in range(3)]
    history.append(loss)
    sooner, later = sorted((m1, m2))

    def conf(seconds: int) -> float:
        flags = e.flags_for_entry(trade(at(seconds=seconds), volume=volume), history, 0.0)
        return next(f.confidence for f in flags if f.id == "revenge")

    assert conf(sooner) >= conf(later)


def _naive_streaks(known: list[Trade], at: object, exclude: frozenset[str]) -> tuple[int, int]:
    """Wins and losses in a row back from the latest exit at or before ``at``."""
    exits = sorted((t for t in known if t.close_time is not None and t.close_time <= at
                    and t.trade_id not in exclude),
                   key=lambda t: (t.close_time, t.trade_id), reverse=True)
    runs = []
    for win in (True, False):
        n = 0
        for t in exits:
            if not (t.is_win if win else t.is_loss):
                break
            n += 1
        runs.append(n)
    return runs[0], runs[1]


@settings(max_examples=150, deadline=None)
@given(history=trades(), data=st.data())
def test_tape_runs_match_a_recount_after_any_upserts(
    history: list[Trade], data: st.DataObject
) -> None:
    """The tape keeps its win/loss runs up as exits are appended and recounts after any
    other change: upserts in any order, a trade first seen open then closed, removals."""
    tape = TradeTape()
    live: dict[str, Trade] = {}
    for t in data.draw(st.permutations(history)):
        if t.close_time is not None and data.draw(st.booleans()):
            opened = t.model_copy(update={"close_time": None, "profit": 0.0})
            tape.upsert(opened)  # seen open first, as the kernel sees it
        tape.upsert(t)
        live[t.trade_id] = t
        if live and data.draw(st.integers(0, 9)) == 0:
            gone = data.draw(st.sampled_from(sorted(live)))
            tape.discard(gone)
            del live[gone]
        known = list(live.values())
        for when in (at(-400), at(-100), at(0), at(200)):
            for ex in (frozenset(), frozenset(sorted(live)[:1])):
                assert tape.view(when, ex).streaks() == _naive_streaks(known, when, ex)


@settings(max_examples=150, deadline=None)
@given(history=trades(n_max=40), now=st.integers(-320, 10), back=st.integers(0, 400),
       data=st.data())
def test_tape_windows_match_a_recount(
    history: list[Trade], now: int, back: int, data: st.DataObject
) -> None:
    """Entries and losing exits in a window, by walk-back or search, equal a plain filter (many
    trades at one instant and windows holding more than the walk's reach included)."""
    tape = TradeTape(history)
    when, start = at(now), at(now - back)
    ex = frozenset(data.draw(st.lists(st.sampled_from([t.trade_id for t in history] or ["x"]),
                                      max_size=2)))
    view = tape.view(when, ex)
    live = [t for t in tape if t.trade_id not in ex]
    assert view.count_entries_since(start) == sum(start <= t.open_time <= when for t in live)
    exits = sorted((t for t in live if t.close_time is not None
                    and start <= t.close_time <= when),
                   key=lambda t: (t.close_time, t.trade_id), reverse=True)
    assert view.losses_since(start) == [t for t in exits if t.is_loss]
    opened = sorted((t for t in live if t.open_time <= when),
                    key=lambda t: (t.open_time, t.trade_id), reverse=True)
    assert view.last_entries(5) == opened[:5]

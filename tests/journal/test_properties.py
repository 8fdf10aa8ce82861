"""Property tests: statistics identities, CSV round trip, position inference."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.journal.importers.common import assign_positions
from pulse.journal.importers.deals_csv import parse_deals_csv
from pulse.journal.stats import build_records, compute_stats
from pulse.models import Deal, DealEntry, DealType, Side
from pulse.trades import reconstruct_trades
from tests.journal.helpers import DealMaker

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
pnls = st.lists(
    st.one_of(st.just(0.0), st.floats(-500, 500, allow_nan=False).map(lambda v: round(v, 2))),
    min_size=0,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(pnls)
def test_stats_identities(values):
    m = DealMaker()
    deals = []
    for i, v in enumerate(values):
        deals += m.round_trip(i + 1, T0 + timedelta(hours=i), 30, Side.BUY, v)
    s = compute_stats(build_records(reconstruct_trades(deals), [], ZoneInfo("UTC")))
    assert s.count == len(values) == s.wins + s.losses + s.breakevens
    assert abs(s.net_pnl - sum(values)) < 1e-6
    assert abs(s.gross_profit + s.gross_loss - s.net_pnl) < 1e-6
    assert 0 <= s.max_drawdown <= -s.gross_loss + 1e-6
    assert s.profit_factor is None if s.losses == 0 else s.profit_factor >= 0
    if values:
        assert s.win_rate is not None and 0 <= s.win_rate <= 1


@st.composite
def netting_history(draw):
    """Deals of netting-style positions (one open per symbol), with partial closes;
    each position's id is its opening order, as MT5 numbers them."""
    deals: list[Deal] = []
    ticket = 100
    t = T0
    for pos_no in range(draw(st.integers(1, 8))):
        symbol = draw(st.sampled_from(["EURUSD", "GBPUSD"]))
        side = draw(st.sampled_from([DealType.BUY, DealType.SELL]))
        other = DealType.SELL if side is DealType.BUY else DealType.BUY
        lots = draw(st.integers(1, 5))
        closes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
        pid = 10_000 + pos_no
        t += timedelta(minutes=draw(st.integers(1, 90)))
        deals.append(Deal(ticket=ticket, order=pid, time=t, type=side, entry=DealEntry.IN,
                          position_id=pid, volume=float(lots), price=1.1, symbol=symbol))
        ticket += 1
        left = lots
        for k, c in enumerate(closes):
            vol = left if k == len(closes) - 1 else min(c, left - 1)
            if vol <= 0:
                continue
            t += timedelta(minutes=draw(st.integers(1, 90)))
            deals.append(Deal(ticket=ticket, order=ticket + 50_000, time=t, type=other,
                              entry=DealEntry.OUT, position_id=pid, volume=float(vol),
                              price=1.1, symbol=symbol, profit=float(draw(st.integers(-50, 50)))))
            ticket += 1
            left -= vol
    return deals


@settings(max_examples=60, deadline=None)
@given(netting_history())
def test_positions_are_recovered_without_a_position_column(deals):
    stripped = [d.model_copy(update={"position_id": 0}) for d in deals]
    assert assign_positions(stripped) == sorted(deals, key=lambda d: d.sort_key)


@settings(max_examples=40, deadline=None)
@given(netting_history(), st.sampled_from([",", ";"]))
def test_deals_csv_round_trip(deals, delim):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim)
    w.writerow(["time", "ticket", "type", "symbol", "entry", "volume", "price", "position",
                "order", "profit"])
    for d in deals:
        w.writerow([d.time.isoformat(), d.ticket, d.type.name.lower(), d.symbol,
                    d.entry.name.lower(), repr(d.volume), repr(d.price), d.position_id,
                    d.order, repr(d.profit)])
    parsed = parse_deals_csv(buf.getvalue()).deals
    assert [d.model_copy(update={"time_msc": 0}) for d in parsed] == sorted(
        deals, key=lambda d: d.sort_key
    )

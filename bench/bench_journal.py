"""Journal figures: statistics + insights over many trades, MT5 report parsing, chart render.

    python bench/bench_journal.py [N_TRADES]

Prints medians of a few runs (wall clock on this machine; no assertion anywhere).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.charts.summary_chart import render_summary_chart
from pulse.journal.importers.mt5_html import parse_mt5_html
from pulse.journal.insights import find_insights
from pulse.journal.periods import week_bounds
from pulse.journal.stats import StatsFilter, build_records, compute_stats, filter_records
from pulse.journal.summary import WeeklySummary, build_weekly_summary
from pulse.models import Deal, DealEntry, DealType, Driver, JournalEntry, JournalKind
from pulse.trades import reconstruct_trades

TZ = ZoneInfo("Europe/Prague")


def make_deals(n: int, seed: int = 7) -> tuple[list[Deal], list[JournalEntry]]:
    rnd = random.Random(seed)
    t = datetime(2025, 1, 6, 8, tzinfo=UTC)
    deals: list[Deal] = []
    entries: list[JournalEntry] = []
    ticket = 1
    for pos in range(1, n + 1):
        t += timedelta(minutes=rnd.randint(20, 400))
        side = rnd.choice((DealType.BUY, DealType.SELL))
        other = DealType.SELL if side is DealType.BUY else DealType.BUY
        price = 1.1 + rnd.uniform(-0.05, 0.05)
        pnl = round(rnd.gauss(10, 120), 2)
        sym = rnd.choice(("EURUSD", "GBPUSD", "XAUUSD"))
        deals.append(
            Deal(
                ticket=ticket,
                order=ticket,
                time=t,
                type=side,
                entry=DealEntry.IN,
                position_id=pos,
                volume=1.0,
                price=price,
                symbol=sym,
                commission=-3.5,
            )
        )
        ticket += 1
        deals.append(
            Deal(
                ticket=ticket,
                order=ticket,
                time=t + timedelta(minutes=45),
                type=other,
                entry=DealEntry.OUT,
                position_id=pos,
                volume=1.0,
                price=price,
                symbol=sym,
                profit=pnl,
                commission=-3.5,
            )
        )
        ticket += 1
        if rnd.random() < 0.7:
            entries.append(
                JournalEntry(
                    trader_id=1,
                    kind=JournalKind.PRE_TRADE,
                    at=t - timedelta(minutes=1),
                    confidence=rnd.randint(1, 10),
                    driver=rnd.choice(list(Driver)),
                    setup_tag=rnd.choice(("breakout", "pullback", "fade", "range")),
                    symbol=sym,
                )
            )
    return deals, entries


def report_html(deals: list[Deal]) -> str:
    head = [
        "Time",
        "Deal",
        "Symbol",
        "Type",
        "Direction",
        "Volume",
        "Price",
        "Order",
        "Commission",
        "Fee",
        "Swap",
        "Profit",
        "Balance",
        "Comment",
    ]
    rows = [
        "<html><body><table>",
        "<tr><th colspan=14><b>Deals</b></th></tr>",
        "<tr>" + "".join(f"<td><b>{h}</b></td>" for h in head) + "</tr>",
    ]
    for d in deals:
        cells = [
            d.time.strftime("%Y.%m.%d %H:%M:%S"),
            d.ticket,
            d.symbol,
            d.type.name.lower(),
            "in" if d.entry is DealEntry.IN else "out",
            f"{d.volume:.2f}",
            f"{d.price:.5f}",
            d.order,
            f"{d.commission:.2f}",
            "0.00",
            "0.00",
            f"{d.profit:,.2f}".replace(",", " "),
            "100 000.00",
            "",
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    rows.append("</table></body></html>")
    return "\n".join(rows)


def timed(fn, runs: int = 5) -> float:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    deals, entries = make_deals(n)
    trades = reconstruct_trades(deals)
    records = build_records(trades, entries, TZ)
    print(f"{n} trades, {len(entries)} journal entries")

    def row(label: str, seconds: float) -> None:
        print(f"  {label:<24}{seconds * 1e3:8.1f} ms")

    row("link entries + records", timed(lambda: build_records(trades, entries, TZ)))
    row("stats, all trades", timed(lambda: compute_stats(records)))
    flt = StatsFilter(symbol="EURUSD", driver=Driver.STRATEGY)
    row("stats, filtered", timed(lambda: compute_stats(filter_records(records, flt))))
    row("insights (all topics)", timed(lambda: find_insights(records)))
    start, end = week_bounds(trades[len(trades) // 2].open_time, TZ)

    def weekly() -> WeeklySummary:
        return build_weekly_summary(records, start, end, TZ, insight_records=records)

    week = weekly()
    row("weekly summary", timed(weekly))
    row("summary chart PNG", timed(lambda: render_summary_chart(week.chart), 3))
    html = report_html(deals)
    t = timed(lambda: parse_mt5_html(html), 3)
    print(
        f"  MT5 HTML parse, {len(deals)} deals: {t * 1e3:8.1f} ms ({len(deals) / t:,.0f} deals/s)"
    )


if __name__ == "__main__":
    main()

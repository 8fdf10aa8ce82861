"""Discord embeds for journal entries, statistics, summaries and settings.

Pure formatting of plain data computed elsewhere (``bot.journal_ops``,
``bot.trader_settings``, ``pulse.journal``): nothing is decided here. Shared by the
cogs and by whoever delivers scheduled summaries (same embed in a DM and on demand).
Every text is cut to Discord's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import discord

from bot.journal_ops import StatsReport, entry_line
from bot.trader_settings import EffectiveSettings
from pulse.journal.summary import DailySummary, WeeklySummary
from pulse.models import JournalEntry, Trade

__all__ = [
    "CHART_NAME",
    "entries_embed",
    "entry_saved_embed",
    "settings_embed",
    "stats_embed",
    "summary_embed",
    "trade_label",
]

CHART_NAME = "summary.png"
COLOUR = discord.Colour.blurple()
FIELD = 1024
DESCRIPTION = 4096


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _lines(lines: Sequence[str], limit: int, empty: str = "none") -> str:
    out: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        line = _cut(line, limit - 20)
        if size + len(line) + 1 > limit - 20:
            out.append(f"… {len(lines) - i} more")
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out) or empty


def trade_label(trade: Trade, currency: str = "") -> str:
    """``EURUSD buy +120.00 USD`` (closed) or ``EURUSD buy (open)``."""
    if trade.close_time is None:
        return f"{trade.symbol} {trade.side.value} (open)"
    cur = f" {currency}" if currency else ""
    return f"{trade.symbol} {trade.side.value} {trade.net_pnl:+.2f}{cur}"


def entries_embed(entries: Sequence[JournalEntry], tz: ZoneInfo, *, title: str) -> discord.Embed:
    """The entries, newest last, one line each (``#id time kind ...``)."""
    lines = [entry_line(e, tz) for e in entries]
    embed = discord.Embed(
        title=title,
        description=_lines(
            lines, DESCRIPTION, "No journal entries yet: `/journal add` starts one."
        ),
        colour=COLOUR,
    )
    embed.set_footer(text=f"Times in {tz.key}")
    return embed


def entry_saved_embed(entry: JournalEntry, tz: ZoneInfo, *, revised: bool = False) -> discord.Embed:
    """What was stored, so the trader sees their answers back."""
    kind = {"pre_trade": "Pre-trade entry", "post_trade": "Reflection"}.get(
        entry.kind.value, "Entry"
    )
    embed = discord.Embed(
        title=f"{kind} #{entry.id} {'updated' if revised else 'saved'}",
        colour=discord.Colour.green(),
    )
    fields: list[tuple[str, object]] = [
        ("Symbol", entry.symbol),
        ("Side", entry.side.value if entry.side else None),
        ("Trade", entry.trade_id),
        ("Confidence", f"{entry.confidence}/10" if entry.confidence else None),
        ("Driver", entry.driver.value if entry.driver else None),
        ("Calendar checked", _yes_no(entry.calendar_checked)),
        ("Setup", entry.setup_tag),
        ("What worked", entry.what_worked),
        ("Emotions", entry.emotional_factors),
        ("Take it again", _yes_no(entry.would_take_again)),
        ("Notes", entry.text or None),
    ]
    for name, value in fields:
        if value not in (None, ""):
            embed.add_field(name=name, value=_cut(str(value), FIELD), inline=len(str(value)) < 30)
    embed.set_footer(text=entry.at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"))
    return embed


def _yes_no(v: bool | None) -> str | None:
    return None if v is None else ("yes" if v else "no")


def stats_embed(report: StatsReport) -> discord.Embed:
    """Figures as lines, insights (each with its n) as a field."""
    embed = discord.Embed(
        title="Journal statistics",
        description=_lines(report.stats.lines(report.currency), DESCRIPTION),
        colour=COLOUR,
    )
    embed.add_field(name="Trades counted", value=_cut(report.filter.describe(), FIELD),
                    inline=False)
    insights = [f"• {i.text}" for i in report.insights]
    embed.add_field(
        name="Insights",
        value=_lines(
            insights,
            FIELD,
            f"None yet: each comparison needs {report.min_trades} trades on both sides.",
        ),
        inline=False,
    )
    embed.set_footer(text=f"Times in {report.tz.key}")
    return embed


def summary_embed(summary: DailySummary | WeeklySummary, *, with_chart: bool) -> discord.Embed:
    """The summary text, its lists as fields, and the chart attachment as the image."""
    if isinstance(summary, DailySummary):
        title = f"Daily summary {summary.day.isoformat()}"
    else:
        local_start = summary.start.astimezone(summary.chart.tz)
        title = f"Weekly summary, week of {local_start.date().isoformat()}"
    lines = summary.text.splitlines()
    embed = discord.Embed(
        title=title,
        description=_cut("\n".join(lines), DESCRIPTION),
        colour=COLOUR,
    )
    if isinstance(summary, DailySummary):
        if summary.deductions:
            embed.add_field(name="Score deductions", value=_lines(summary.deductions, FIELD),
                            inline=False)
        if summary.rule_hits:
            embed.add_field(name="Rule hits", value=_lines(summary.rule_hits, FIELD),
                            inline=False)
    else:
        if summary.weakness is not None:
            embed.add_field(name="Weakness", value=_cut(summary.weakness.text, FIELD),
                            inline=False)
        if summary.strength is not None:
            embed.add_field(name="Strength", value=_cut(summary.strength.text, FIELD),
                            inline=False)
    if with_chart:
        embed.set_image(url=f"attachment://{CHART_NAME}")
    return embed


def settings_embed(s: EffectiveSettings, *, title: str = "Your Pulse settings") -> discord.Embed:
    """Every setting in force, with the defaults filled in."""
    embed = discord.Embed(title=title, colour=COLOUR)
    embed.add_field(name="Timezone", value=s.timezone, inline=True)
    daily = s.daily_summary or "off"
    weekly = (
        f"{s.weekly_summary[0].capitalize()} {s.weekly_summary[1]}" if s.weekly_summary else "off"
    )
    embed.add_field(name="Daily summary", value=daily, inline=True)
    embed.add_field(name="Weekly summary", value=weekly, inline=True)
    embed.add_field(name="DM nudges", value="on" if s.dm_nudges else "off (summaries still come)",
                    inline=True)
    embed.add_field(
        name="Quiet hours",
        value=f"{s.quiet_hours[0]}-{s.quiet_hours[1]} (critical alerts still come)"
        if s.quiet_hours else "off",
        inline=True,
    )
    embed.add_field(name="Muted kinds", value=", ".join(s.muted_kinds) or "none", inline=False)
    accounts = [f"{a.login}{'@' + a.server if a.server else ''} ({a.currency})"
                for a in s.accounts]
    embed.add_field(name="Linked MT5 accounts",
                    value=_lines(accounts, FIELD, "none: `/settings account` links one"),
                    inline=False)
    embed.set_footer(text="Times are in your timezone.")
    return embed

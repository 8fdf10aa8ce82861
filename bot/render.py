"""Text and embed rendering shared by the cogs: pure functions of plain data.

Nothing here decides anything: verdicts, limits, plans and scores arrive computed (by
``pulse`` or the service) and are only formatted. Keeping the formatting here lets every
cog show a state, a P&L bar or a verdict the same way, and lets tests check the wording
without Discord.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from pulse.models import Verdict
from pulse.sizing import BreakdownPlan, Slice

if TYPE_CHECKING:
    from bot.service import LockoutStatus, TraderStatus
    from pulse.analysis.confluence import ConfluenceResult
    from pulse.config import RiskLimits

__all__ = [
    "ACTION_ICON",
    "RULE_LABEL",
    "STATE_COLOUR",
    "action_colour",
    "duration",
    "money",
    "pnl",
    "rule_label",
    "rule_line",
    "state_light",
    "truncate",
    "usage_bar",
    "verdict_headline",
]

#: Traffic light per behaviour state (DESIGN.md section 4: green / yellow / red).
STATE_LIGHT: dict[str, str] = {"green": "🟢", "yellow": "🟡", "red": "🔴"}
STATE_COLOUR: dict[str, discord.Colour] = {
    "green": discord.Colour.green(),
    "yellow": discord.Colour.gold(),
    "red": discord.Colour.red(),
}
#: One icon per verdict action (allow < warn < soft_block < hard_block).
ACTION_ICON: dict[str, str] = {
    "allow": "✅",
    "warn": "⚠️",
    "soft_block": "⛔",
    "hard_block": "🛑",
}
ACTION_COLOUR: dict[str, discord.Colour] = {
    "allow": discord.Colour.green(),
    "warn": discord.Colour.gold(),
    "soft_block": discord.Colour.orange(),
    "hard_block": discord.Colour.red(),
}
#: Human names of the rule ids of DESIGN.md section 3.
RULE_LABEL: dict[str, str] = {
    "daily_loss": "Daily loss",
    "max_drawdown": "Max drawdown",
    "max_trades": "Trades per day",
    "cooling_period": "Cooling period",
    "position_size": "Position size",
    "stop_loss_required": "Stop loss",
    "consecutive_losses": "Consecutive losses",
}
BAR_FULL = "▰"
BAR_EMPTY = "▱"
ELLIPSIS = "…"


def money(x: float) -> str:
    """``3000`` -> ``"3,000.00"``."""
    return f"{x:,.2f}"


def pnl(x: float) -> str:
    """Signed money: ``-412.5`` -> ``"-412.50"``, ``80`` -> ``"+80.00"``."""
    return f"{x:+,.2f}"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (Discord rejects longer)."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def state_light(state: str) -> str:
    """``"green"`` -> ``"🟢"``; an unknown state gets a neutral white circle."""
    return STATE_LIGHT.get(state.lower(), "⚪")


def state_colour(state: str) -> discord.Colour:
    return STATE_COLOUR.get(state.lower(), discord.Colour.light_grey())


def action_colour(action: str) -> discord.Colour:
    return ACTION_COLOUR.get(action, discord.Colour.light_grey())


def rule_label(rule: str) -> str:
    """``"cooling_period"`` -> ``"Cooling period"`` (unknown ids are prettified)."""
    return RULE_LABEL.get(rule, rule.replace("_", " ").capitalize())


def usage_bar(used_percent: float, limit: float, *, width: int = 10) -> str:
    """``▰▰▰▱▱▱▱▱▱▱ 31% of 3,000.00``: ``used_percent`` of ``limit`` used.

    Cells are rounded to the nearest tenth (31% fills 3 of 10); any use above zero shows
    at least one cell and anything short of the limit leaves one empty, so the bar never
    looks empty while money is lost, or full while some is left. Past the limit the
    percentage says so (``112%``).
    """
    if limit <= 0 or math.isnan(limit):
        return f"{BAR_EMPTY * width} no limit"
    pct = 0.0 if math.isnan(used_percent) else max(0.0, used_percent)
    cells = round(pct / 100 * width)
    if pct > 0 and cells == 0:
        cells = 1
    if pct < 100 and cells >= width:
        cells = width - 1
    cells = max(0, min(width, cells))
    pct_text = f"{pct:.0f}%" if pct >= 1 or pct == 0 else f"{pct:.1f}%"
    return f"{BAR_FULL * cells}{BAR_EMPTY * (width - cells)} {pct_text} of {money(limit)}"


def duration(left: timedelta | float) -> str:
    """Time left for humans: ``"14 min"``, ``"1 h 05 min"``, ``"under a minute"``.

    A float is minutes. Minutes are rounded up, like the risk messages' "minutes left".
    """
    seconds = left.total_seconds() if isinstance(left, timedelta) else float(left) * 60
    if seconds <= 0:
        return "none"
    if seconds < 60:
        return "under a minute"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min"


def verdict_headline(action: str) -> str:
    """One line for the verdict's strongest action."""
    icon = ACTION_ICON.get(action, "❔")
    text = {
        "allow": "Allowed",
        "warn": "Allowed, with a warning",
        "soft_block": "Blocked: you may override with a reason",
        "hard_block": "Blocked: this cannot be overridden",
    }.get(action, action)
    return f"{icon} {text}"


def rule_line(rule: str, action: str, message: str) -> str:
    """``⛔ **Cooling period**: 12 minutes left after a -1.2% loss``."""
    return f"{ACTION_ICON.get(action, '•')} **{rule_label(rule)}**: {message}"


def bullet_lines(lines: Iterable[str], *, limit: int = 1024, empty: str = "none") -> str:
    """Lines joined for an embed field, cut at ``limit`` on a line boundary."""
    out: list[str] = []
    size = 0
    items: Sequence[str] = list(lines)
    for i, line in enumerate(items):
        extra = len(line) + (1 if out else 0)
        if size + extra > limit - 12:
            out.append(f"… {len(items) - i} more")
            break
        out.append(line)
        size += extra
    return truncate("\n".join(out), limit) if out else empty


# --------------------------------------------------------------------------- embeds


def discord_time(at: datetime, style: str = "t") -> str:
    """A Discord timestamp (``<t:1700000000:t>``): each reader sees it in their own zone."""
    return f"<t:{int(at.timestamp())}:{style}>"


def lockout_line(lk: LockoutStatus) -> str:
    """``⛔ Cooling period: 12 min left (until <t:..:t>), you can override it with a reason``."""
    left = duration(timedelta(minutes=lk.minutes_left))
    head = f"{ACTION_ICON['soft_block' if lk.overridable else 'hard_block']} " \
           f"**{'Your break' if lk.self_imposed else rule_label(lk.rule)}**: {left} left " \
           f"(until {discord_time(lk.until)})"
    if lk.overridden:
        return head + ", overridden"
    if lk.overridable:
        return head + ", `/override` with a reason lifts it"
    return head + ", cannot be overridden"


def status_embed(st: TraderStatus, *, name: str | None = None) -> discord.Embed:
    """``/status``: state light and score, deductions, P&L against the limit, trades,
    lockouts with time left, account and feed."""
    title = f"{state_light(st.state)} {st.state.capitalize()} · {st.score}/100"
    if name:
        title = f"{name}: {title}"
    deductions = bullet_lines(st.deductions, limit=4000, empty="No deductions today.")
    embed = discord.Embed(title=truncate(title, 256), description=deductions,
                          colour=state_colour(st.state))
    cur = st.currency
    if st.day_pnl is not None and st.daily_loss_limit is not None:
        used = st.daily_loss_used_percent or 0.0
        embed.add_field(name="Day P&L vs loss limit",
                        value=f"{pnl(st.day_pnl)} {cur}\n"
                              f"{usage_bar(used, st.daily_loss_limit)} {cur}",
                        inline=False)
    else:
        embed.add_field(name="Day P&L vs loss limit",
                        value="No balance known yet: the limit applies once the account "
                              "reports one.", inline=False)
    trades = f"{st.trades_today}/{st.max_trades} today"
    if st.trades_today >= st.max_trades:
        trades += " (no entries left)"
    extra = [f"{st.open_trades} open"]
    if st.consecutive_losses:
        extra.append(f"{st.consecutive_losses} loss{'es' if st.consecutive_losses != 1 else ''}"
                     " in a row")
    embed.add_field(name="Trades", value=f"{trades}\n" + ", ".join(extra), inline=True)
    if st.balance is not None:
        acct = f"Balance {money(st.balance)} {cur}"
        if st.equity is not None:
            acct += f"\nEquity {money(st.equity)} {cur}"
        embed.add_field(name="Account", value=acct, inline=True)
    embed.add_field(name="Lockouts",
                    value=bullet_lines((lockout_line(lk) for lk in st.lockouts),
                                       empty="None: you are free to trade."),
                    inline=False)
    feed = st.feed
    feed_text = f"feed {feed.health.value}"
    if feed.health.value != "up" and feed.last_error:
        feed_text += f" ({feed.last_error})"
    embed.set_footer(text=truncate(f"Trading day {st.day or '-'} · {feed_text}", 2048))
    embed.timestamp = st.at
    return embed


def verdict_embed(verdict: Verdict, *, currency: str = "USD",
                  plan: BreakdownPlan | None = None, note: str | None = None,
                  score_line: str | None = None, ready: Sequence[Slice] = ()) -> discord.Embed:
    """``/risk check``: the headline, one line per rule that spoke, the request's risk,
    and the split suggestion when there is one."""
    action = verdict.action.value
    req = verdict.request
    title = verdict_headline(action)
    embed = discord.Embed(title=title, colour=action_colour(action))
    if req is not None:
        stop = f" stop {req.sl:g}" if req.sl is not None else " no stop"
        tp = f" target {req.tp:g}" if req.tp is not None else ""
        embed.description = f"{req.side.value.upper()} {req.volume:g} {req.symbol} at " \
                            f"{req.price:g},{stop}{tp}"
        if verdict.risk_percent is not None:
            embed.description += f"\nRisk: {verdict.risk_percent:.2f}% of the balance"
    lines = [rule_line(r.rule, r.action.value, r.message) for r in verdict.rules]
    embed.add_field(name="Rules", value=bullet_lines(lines, empty="No rule objected."),
                    inline=False)
    if action == "hard_block":
        embed.add_field(name="Why no override",
                        value="A hard block protects the account outright (loss limits, "
                              "breaks, stop and size rules); it cannot be overridden.",
                        inline=False)
    if plan is not None and plan.slices:
        embed.add_field(name=f"Suggestion: split into {len(plan.slices)} entries",
                        value=plan_text(plan, ready), inline=False)
        if score_line:
            embed.add_field(name="Confluence now", value=truncate(score_line, 1024),
                            inline=False)
    if note:
        embed.add_field(name="Note", value=truncate(note, 1024), inline=False)
    embed.timestamp = verdict.at
    return embed


def plan_text(plan: BreakdownPlan, ready: Sequence[Slice] = ()) -> str:
    """One line per slice (lots, risk, the confluence it waits for) and the plan's notes."""
    ready_ids = {s.index for s in ready}
    lines = []
    for s in plan.slices:
        mark = " ✅ ready" if s.index in ready_ids else ""
        lines.append(f"{s.index}. {s.lots:g} lots · {s.risk_percent:.2f}% · "
                     f"confluence ≥ {s.min_confluence:g}{mark}")
    if plan.slices:
        lines.append(f"Total {plan.total_lots:g} lots, {plan.total_risk_percent:.2f}% of "
                     f"{plan.target_risk_percent:g}% planned")
    lines.extend(f"ℹ️ {n}" for n in plan.notes)
    return bullet_lines(lines)


def plan_embed(plan: BreakdownPlan, *, side: str, price: float, stop: float,
               score_line: str | None = None, ready: Sequence[Slice] = ()) -> discord.Embed:
    """``/split``: the plan, why it departs from the ask, and what the score unlocks."""
    feasible = bool(plan.slices)
    title = (f"Split {plan.target_risk_percent:g}% on {plan.symbol} into "
             f"{len(plan.slices)} entr{'y' if len(plan.slices) == 1 else 'ies'}"
             if feasible else f"No split possible on {plan.symbol}")
    embed = discord.Embed(
        title=truncate(title, 256),
        description=f"{side.upper()} at {price:g}, stop {stop:g}",
        colour=discord.Colour.blurple() if feasible else discord.Colour.orange(),
    )
    embed.add_field(name="Entries" if feasible else "Why", value=plan_text(plan, ready),
                    inline=False)
    if score_line:
        embed.add_field(name="Confluence now", value=truncate(score_line, 1024), inline=False)
    return embed


def rules_embed(limits: RiskLimits, st: TraderStatus | None) -> discord.Embed:
    """``/risk rules``: every rule with its configured value and, when known, today's use."""
    embed = discord.Embed(title="Your risk rules", colour=discord.Colour.blurple())
    cur = st.currency if st is not None else ""
    daily = f"{limits.daily_loss_percent:g}% of the day-start balance"
    if limits.daily_loss_limit is not None:
        daily += f" or {money(limits.daily_loss_limit)} {cur}".rstrip() + ", the smaller"
    daily += f"; warning at {limits.daily_loss_warn_percent:g}% used"
    if st is not None and st.daily_loss_limit is not None:
        daily += f"\n{usage_bar(st.daily_loss_used_percent or 0.0, st.daily_loss_limit)} {cur}"
    rows: list[tuple[str, str]] = [("daily_loss", daily)]
    if limits.max_drawdown_percent is not None or limits.max_drawdown_limit is not None:
        dd = (f"{limits.max_drawdown_percent:g}%" if limits.max_drawdown_percent is not None
              else money(limits.max_drawdown_limit or 0.0))
        rows.append(("max_drawdown", f"{dd} ({limits.max_drawdown_mode.replace('_', ' ')})"))
    else:
        rows.append(("max_drawdown", "off"))
    trades = f"{limits.max_trades_per_day} entries per day"
    if st is not None:
        trades += f"; {st.trades_today} used"
    rows.append(("max_trades", trades))
    rows.append(("cooling_period",
                 f"{limits.cooling_period_minutes} min after a trade losing "
                 f"≥ {limits.cooling_trigger_loss_percent:g}% (soft: `/override` with a reason)"))
    rows.append(("position_size", f"at most {limits.max_position_size:g}% risk per position"))
    rows.append(("stop_loss_required", "required" if limits.require_stop_loss else "optional"))
    streak = f"{limits.max_consecutive_losses} losses in a row → " \
             f"{limits.consecutive_loss_break_minutes} min break"
    if st is not None and st.consecutive_losses:
        streak += f"; {st.consecutive_losses} now"
    rows.append(("consecutive_losses", streak))
    for rule, text in rows:
        embed.add_field(name=rule_label(rule), value=truncate(text, 1024), inline=False)
    if st is not None and st.lockouts:
        embed.add_field(name="In force now",
                        value=bullet_lines(lockout_line(lk) for lk in st.lockouts),
                        inline=False)
    embed.set_footer(text=f"Trading day resets at {limits.day_reset} "
                          f"{limits.day_reset_timezone}. /risk check tests a trade first.")
    return embed


GRADE_COLOUR: dict[str, discord.Colour] = {
    "high": discord.Colour.green(),
    "medium": discord.Colour.gold(),
    "low": discord.Colour.orange(),
    "minimal": discord.Colour.light_grey(),
}
DIRECTION_ICON: dict[str, str] = {"long": "📈", "short": "📉"}


def score_embed(result: ConfluenceResult, *, timeframe: str, bars: int,
                image: str | None = None) -> discord.Embed:
    """``/score``: score, direction and grade; the reasons strongest first; components."""
    head = f"{result.symbol or ''} {timeframe}".strip()
    title = f"{DIRECTION_ICON.get(result.direction, '')} {head} — {result.score:.0f}/100 " \
            f"{result.direction} ({result.grade})"
    embed = discord.Embed(title=truncate(title.strip(), 256),
                          colour=GRADE_COLOUR.get(result.grade, discord.Colour.light_grey()))
    embed.description = bullet_lines((f"• {r}" for r in result.reasons), limit=4000,
                                     empty="No confluence factor is active.")
    comps = " · ".join(f"{k} {v:.0f}" for k, v in result.components.items())
    if comps:
        embed.add_field(name="Components", value=comps, inline=False)
    embed.add_field(name=f"{result.opposite.direction.capitalize()} side",
                    value=f"{result.opposite.score:.0f}/100", inline=True)
    embed.add_field(name="Bar", value=f"{discord_time(result.time, 'f')} · {bars} bars",
                    inline=True)
    if image:
        embed.set_image(url=f"attachment://{image}")
    embed.timestamp = result.time
    return embed


def signals_embed(rows: Sequence[tuple[str, ConfluenceResult]],
                  errors: Sequence[str] = ()) -> discord.Embed:
    """``/signals``: the watchlist's best setups, highest score first (already sorted)."""
    embed = discord.Embed(title="Top watchlist setups", colour=discord.Colour.blurple())
    lines = []
    for i, (tf, r) in enumerate(rows, 1):
        top = r.reasons[0] if r.reasons else "no active factor"
        lines.append(f"**{i}. {r.symbol} {tf}** {DIRECTION_ICON.get(r.direction, '')} "
                     f"{r.score:.0f}/100 {r.direction} ({r.grade}): {top}")
    embed.description = bullet_lines(lines, limit=4000,
                                     empty="No scores yet: the watchlist is scored about once "
                                           "a minute while the feed is up.")
    if errors:
        embed.add_field(name="Not scored", value=bullet_lines(errors), inline=False)
    embed.set_footer(text="/score SYMBOL [timeframe] shows the chart and every reason.")
    return embed

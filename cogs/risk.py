"""``/risk rules``, ``/risk check`` and ``/split``: the rules, a pre-trade verdict, a plan.

``/risk check`` sends the request to the service (which persists the verdict) and shows
the verdict with its reasons. With it come, when they apply:

- **Accept split**: the position-breakdown suggestion (chosen by :mod:`bot.trade_plans`,
  computed by :mod:`pulse.sizing`); pressing it records the plan as a journal note and
  shows which entries the current confluence score unlocks;
- **Override**: only for a soft block; it opens a modal asking why, sends the override
  to the service (recorded in the journal, it costs behaviour score) and re-checks the
  same trade, showing the new verdict. A hard block has no such button and says why.

Everything private is ephemeral, and only the trader who asked can press the buttons.
"""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.render import plan_embed, rules_embed, verdict_embed
from bot.service import PulseService, TraderStatus
from bot.trade_plans import (
    PlanRequest,
    ready_slices,
    side_score,
    split_plan,
    split_suggestion,
)
from cogs.common import (
    ArgumentProblem,
    OwnerView,
    PriceTransformer,
    StopTransformer,
    SymbolTransformer,
    TakeProfitTransformer,
    TradingCog,
    VolumeTransformer,
    answer,
    parse_side,
    report_failure,
)
from pulse.analysis.confluence import ConfluenceResult
from pulse.models import JournalEntry, JournalKind, Side, SymbolSpec, TradeRequest, Verdict
from pulse.requests import side_problems
from pulse.sizing import BreakdownPlan
from storage import repo_journal

__all__ = ["OverrideModal", "RiskCog", "VerdictView", "setup"]

SideName = Literal["buy", "sell"]
Symbol = app_commands.Transform[str, SymbolTransformer]
Volume = app_commands.Transform[float, VolumeTransformer]
Price = app_commands.Transform[float, PriceTransformer]
Stop = app_commands.Transform[float, StopTransformer]
TakeProfit = app_commands.Transform[float, TakeProfitTransformer]

ACCEPT_LABEL = "Accept split"
OVERRIDE_LABEL = "Override"
REASON_MIN = 3
REASON_MAX = 300


def check_sides(side: Side, price: float, stop: float | None, tp: float | None) -> None:
    """Refuse a stop or target on the wrong side of the price (a typo, not a verdict);
    the rule is :func:`pulse.requests.side_problems`, shared with the HTTP API."""
    for problem in side_problems(side, price, stop, tp):
        stop_loss = problem.level == "stop"
        raise ArgumentProblem("stop" if stop_loss else "take_profit", problem.detail,
                              f"A {side.value}'s {'stop-loss' if stop_loss else 'target'} "
                              f"goes {problem.where} the entry price.")


def best_score(svc: PulseService, symbol: str) -> tuple[str, ConfluenceResult] | None:
    """The freshest watchlist score of ``symbol`` (finest timeframe first)."""
    scores = svc.latest_scores()
    for tf in svc.config.feeds.watchlist.timeframes:
        r = scores.get((symbol, tf))
        if r is not None:
            return tf, r
    return None


def score_line(svc: PulseService, symbol: str, side: Side) -> str | None:
    found = best_score(svc, symbol)
    if found is None:
        return None
    tf, r = found
    direction = "long" if side is Side.BUY else "short"
    return f"{symbol} {tf}: {side_score(r, side):.0f}/100 {direction} (best side: {r.summary})"


def plan_score(svc: PulseService, plan: BreakdownPlan | None, symbol: str,
               side: Side) -> dict[str, Any]:
    """The verdict's "Confluence now" line and the plan's entries it unlocks."""
    if plan is None:
        return {}
    found = best_score(svc, symbol)
    return {"score_line": score_line(svc, symbol, side),
            "ready": ready_slices(plan, found[1] if found else None, side)}


class OverrideModal(discord.ui.Modal, title="Override a soft block"):
    """Why the trader overrides: required, recorded in the journal."""

    reason: discord.ui.TextInput[OverrideModal] = discord.ui.TextInput(
        label="Why is this trade worth it?",
        custom_id="reason",
        style=discord.TextStyle.paragraph,
        placeholder="e.g. A+ setup on my plan, size halved",
        min_length=REASON_MIN,
        max_length=REASON_MAX,
        required=True,
    )

    def __init__(self, view: VerdictView) -> None:
        super().__init__(timeout=600)
        self.verdict_view = view

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        await self.verdict_view.apply_override(interaction, self.reason.value)

    async def on_error(  # type: ignore[override]  # Modal's signature has no item
        self, interaction: discord.Interaction, error: Exception, /
    ) -> None:
        await report_failure(interaction, error, "override modal")


class VerdictView(OwnerView):
    """Buttons under a verdict: Accept split (when suggested), Override (soft blocks).

    Custom ids are left to discord.py (random per button), so two verdicts on screen
    never dispatch to each other's view, whatever message id Discord reports.
    """

    def __init__(self, cog: RiskCog, svc: PulseService, trader_id: int, verdict: Verdict,
                 spec: SymbolSpec, plan: BreakdownPlan | None, currency: str) -> None:
        super().__init__(trader_id)
        self.cog = cog
        self.svc = svc
        self.verdict = verdict
        self.spec = spec
        self.plan = plan
        self.currency = currency
        if plan is not None:
            accept: discord.ui.Button[VerdictView] = discord.ui.Button(
                label=ACCEPT_LABEL, style=discord.ButtonStyle.success)
            accept.callback = self.accept  # type: ignore[method-assign]
            self.add_item(accept)
        if verdict.overridable:
            override: discord.ui.Button[VerdictView] = discord.ui.Button(
                label=OVERRIDE_LABEL, style=discord.ButtonStyle.danger)
            override.callback = self.open_override  # type: ignore[method-assign]
            self.add_item(override)

    @property
    def soft_rules(self) -> list[str]:
        return [r.rule for r in self.verdict.rules if r.action.value == "soft_block"]

    async def accept(self, interaction: discord.Interaction) -> None:
        """Record the plan in the journal and show what the score unlocks now."""
        plan, req = self.plan, self.verdict.request
        assert plan is not None and req is not None and req.sl is not None
        now = self.cog.now(self.svc, self.owner_id)
        lines = "; ".join(f"{s.index}: {s.lots:g} lots at confluence >= {s.min_confluence:g}"
                          for s in plan.slices)
        await repo_journal.add_journal_entry(self.svc.db, JournalEntry(
            trader_id=self.owner_id, kind=JournalKind.NOTE, at=now, symbol=req.symbol,
            side=req.side, setup_tag="split-plan",
            text=f"Accepted a {len(plan.slices)}-entry split of {plan.target_risk_percent:g}% "
                 f"on {req.symbol} {req.side.value} at {req.price:g}, stop {req.sl:g}: {lines}",
        ))
        found = best_score(self.svc, req.symbol)
        ready = ready_slices(plan, found[1] if found else None, req.side)
        embed = plan_embed(plan, side=req.side.value, price=req.price, stop=req.sl,
                           score_line=score_line(self.svc, req.symbol, req.side), ready=ready)
        embed.title = f"✅ Plan accepted: {embed.title}"
        embed.set_footer(text="Saved to your journal. Place entry 1 when it is marked ready; "
                              "each later entry waits for a higher score.")
        self.stop()
        await interaction.response.edit_message(embed=embed, view=None)

    async def open_override(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(OverrideModal(self))

    async def apply_override(self, interaction: discord.Interaction, reason: str) -> None:
        """Send the override to the service, then re-check the same trade."""
        text = reason.strip()
        if len(text) < REASON_MIN:
            await interaction.response.send_message(
                "**reason**: an override needs a reason of a few words. Press Override again "
                "and say why this trade is worth lifting the block.", ephemeral=True)
            return
        records = [await self.svc.override(self.owner_id, rule, text)
                   for rule in self.soft_rules]
        refused = [r for r in records if not r.accepted]
        req = self.verdict.request
        assert req is not None
        now = self.cog.now(self.svc, self.owner_id)
        verdict = await self.svc.check(self.owner_id, req.model_copy(update={"time": now}))
        plan = split_suggestion(self.svc.config, verdict, self.spec,
                                self.svc.status(self.owner_id).balance)
        note = " ".join(r.message for r in records) or None
        view = VerdictView(self.cog, self.svc, self.owner_id, verdict, self.spec, plan,
                           self.currency)
        self.stop()
        embed = verdict_embed(verdict, currency=self.currency, plan=plan, note=note,
                              **plan_score(self.svc, plan, req.symbol, req.side))
        if refused:
            embed.title = f"{embed.title} (override refused)"
        await interaction.response.edit_message(
            embed=embed, view=view if view.children else None)


class RiskCog(TradingCog, name="Risk"):
    """/risk rules, /risk check and /split."""

    risk = app_commands.Group(name="risk", description="Your risk rules and pre-trade checks")

    def __init__(self, bot: commands.Bot, service: PulseService | None = None) -> None:
        super().__init__(bot, service)

    @risk.command(name="rules", description="Your risk rules and how much of each you used today")
    async def rules(self, interaction: discord.Interaction) -> None:
        svc = await self.require_service(interaction)
        if svc is None:
            return
        st: TraderStatus | None = None
        session = svc.sessions.get(interaction.user.id)
        if session is not None and session.ready:
            st = svc.status(interaction.user.id)
        embed = rules_embed(svc.config.risk_limits, st)
        if st is None:
            embed.description = ("Not linked to a trading account: these are the rules, "
                                 "without your usage. `/status` says how to link.")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @risk.command(name="check", description="Check a trade before placing it: verdict, reasons, "
                                             "a split plan")
    @app_commands.describe(
        symbol="the symbol as MT5 names it, e.g. EURUSD",
        side="buy or sell",
        volume="lots, e.g. 0.5",
        price="entry price, e.g. 1.0850",
        stop="stop-loss price (below a buy, above a sell)",
        take_profit="target price (optional)",
    )
    async def check(self, interaction: discord.Interaction, symbol: Symbol, side: SideName,
                    volume: Volume, price: Price, stop: Stop | None = None,
                    take_profit: TakeProfit | None = None) -> None:
        found = await self.trader(interaction)
        if found is None:
            return
        svc, tid = found
        trade_side = parse_side(side)
        check_sides(trade_side, price, stop, take_profit)
        name, spec = await self.symbol_spec(svc.sessions[tid], symbol)
        request = TradeRequest(time=self.now(svc, tid), symbol=name, side=trade_side,
                               volume=volume, price=price, sl=stop, tp=take_profit)
        verdict = await svc.check(tid, request)
        st = svc.status(tid)
        plan = split_suggestion(svc.config, verdict, spec, st.balance)
        view = VerdictView(self, svc, tid, verdict, spec, plan, st.currency)
        embed = verdict_embed(verdict, currency=st.currency, plan=plan,
                              **plan_score(svc, plan, name, trade_side))
        if view.children:
            await interaction.response.send_message(embed=embed, view=view, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="split", description="Split a risk budget into entries that "
                                                    "wait for rising confluence")
    @app_commands.describe(
        symbol="the symbol as MT5 names it, e.g. EURUSD",
        side="buy or sell",
        price="entry price, e.g. 1.0850",
        stop="stop-loss price (below a buy, above a sell)",
        risk_percent="total risk in % of the balance (default: your maximum position size)",
        splits="number of entries (default from the config)",
    )
    async def split(self, interaction: discord.Interaction, symbol: Symbol, side: SideName,
                    price: Price, stop: Stop,
                    risk_percent: app_commands.Range[float, 0.001, 100.0] | None = None,
                    splits: app_commands.Range[int, 1, 20] | None = None) -> None:
        found = await self.trader(interaction)
        if found is None:
            return
        svc, tid = found
        trade_side = parse_side(side)
        check_sides(trade_side, price, stop, None)
        if risk_percent is not None and not 0 < risk_percent <= 100:
            raise ArgumentProblem("risk_percent", f"must be above 0 and at most 100, got "
                                  f"{risk_percent:g}", "Type a percent like 1.5.")
        if splits is not None and not 1 <= splits <= 20:
            raise ArgumentProblem("splits", f"must be 1 to 20, got {splits}",
                                  "Type a number of entries like 5.")
        name, spec = await self.symbol_spec(svc.sessions[tid], symbol)
        st = svc.status(tid)
        if st.balance is None or st.balance <= 0:
            await answer(interaction, "Pulse does not know your balance yet, so it cannot size "
                         "a plan. Try again once the feed reports your account.")
            return
        plan = split_plan(svc.config, PlanRequest(name, trade_side, price, stop), spec,
                          st.balance, risk_percent, splits)
        found_score = best_score(svc, name)
        ready = ready_slices(plan, found_score[1] if found_score else None, trade_side)
        embed = plan_embed(plan, side=side, price=price, stop=stop,
                           score_line=score_line(svc, name, trade_side), ready=ready)
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    """Extension entry point (``bot.load_extension('cogs.risk')``)."""
    await bot.add_cog(RiskCog(bot))

"""``/journal add|list|stats|export`` and the post-trade reflection button.

- ``/journal add [symbol] [side]`` opens the pre-trade modal (confidence 1-10, strategy
  or emotion, economic calendar checked, setup tag, notes); ``/journal add trade:<id>``
  opens the post-trade reflection for one of the trader's closed trades instead.
- ``/journal list``, ``/journal stats`` and ``/journal export`` show or send only the
  caller's own journal, ephemerally (the export as a CSV or JSON file).
- The "Reflect on this trade" button of a ``post_trade_prompt`` nudge (custom id
  ``pulse:reflect:<trade_id>``, see :mod:`bot.delivery`) is a
  :class:`discord.ui.DynamicItem`, registered when the cog loads, so it keeps working
  after a restart. Only the trader who made the trade can use it.

Answers that cannot be used (confidence 12, driver "maybe") are refused with one line
per field and a button that reopens the form with what was typed.

Nothing is computed here: :mod:`bot.journal_ops` stores and computes, :mod:`bot.journal_render`
formats.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import journal_ops
from bot.delivery import REFLECT_CUSTOM_ID_PREFIX, reflect_custom_id
from bot.feeds.base import SymbolRefused, check_symbol_syntax
from bot.journal_render import entries_embed, entry_saved_embed, stats_embed, trade_label
from bot.journal_service import trader_timezone
from cogs._access import (
    NotReady,
    OwnerView,
    answer,
    answer_error,
    config_of,
    engine_of,
    now_of,
)
from pulse.journal.entries import JournalInputError
from pulse.models import Driver, JournalEntry, JournalKind, Side, Trade
from storage.repo_traders import accounts_for_trader

__all__ = ["JournalCog", "PostTradeModal", "PreTradeModal", "ReflectButton"]

MAX_EXPORT_BYTES = 8 * 1024 * 1024  # under Discord's smallest upload limit (10 MiB)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KINDS: dict[str, JournalKind] = {k.value: k for k in JournalKind}


class ArgumentError(Exception):
    """A slash-command option that cannot be used: the message names it and the fix."""


def parse_symbol(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    try:
        return check_symbol_syntax(text.strip().upper())
    except SymbolRefused:
        raise ArgumentError(
            f"symbol: {text!r} is not a symbol name; use the name MT5 shows, e.g. EURUSD "
            "(letters, digits and ._#+- only)"
        ) from None


def parse_date(text: str | None, option: str) -> date | None:
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ArgumentError(
            f"{option}: {text!r} is not a date; use YYYY-MM-DD, e.g. 2026-03-02"
        ) from None


def problems_text(problems: list[str]) -> str:
    return "Some answers could not be used:\n" + "\n".join(f"• {p}" for p in problems)


# --------------------------------------------------------------------------- modals


def _input(
    custom_id: str,
    *,
    required: bool,
    max_length: int,
    placeholder: str | None = None,
    default: str | None = None,
    paragraph: bool = False,
) -> discord.ui.TextInput[Any]:
    return discord.ui.TextInput(
        custom_id=custom_id,
        style=discord.TextStyle.paragraph if paragraph else discord.TextStyle.short,
        required=required,
        max_length=max_length,
        placeholder=placeholder,
        default=default,
    )


class _JournalModal(discord.ui.Modal):
    """Common parts: the owner, reading answers by custom id, errors answered privately."""

    def __init__(self, *, title: str, owner_id: int) -> None:
        super().__init__(title=title[:45], timeout=900)
        self.owner_id = owner_id
        self._inputs: dict[str, discord.ui.TextInput[Any]] = {}

    def add_question(self, text: str, description: str, field: discord.ui.TextInput[Any]) -> None:
        self._inputs[field.custom_id] = field
        self.add_item(discord.ui.Label(text=text[:45], description=description[:100],
                                       component=field))

    def answers(self) -> dict[str, str]:
        return {k: v.value.strip() for k, v in self._inputs.items()}

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.owner_id

    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction, error: Exception, /
    ) -> None:
        await answer_error(interaction, error)


class PreTradeModal(_JournalModal):
    """The pre-trade prompt (DESIGN.md section 7)."""

    def __init__(self, owner_id: int, *, symbol: str | None = None, side: Side | None = None,
                 defaults: dict[str, str] | None = None) -> None:
        where = " ".join(x for x in (symbol, side.value if side else None) if x)
        super().__init__(title=f"Pre-trade check {where}".strip(), owner_id=owner_id)
        self.symbol = symbol
        self.side = side
        d = defaults or {}
        self.add_question("Confidence (1-10)", "How confident are you in this trade?",
                          _input("confidence", required=True, max_length=5, placeholder="7",
                                 default=d.get("confidence")))
        self.add_question("Strategy or emotion?", "Is this trade driven by your strategy "
                          "or by emotion?",
                          _input("driver", required=False, max_length=10,
                                 placeholder="strategy", default=d.get("driver")))
        self.add_question("Economic calendar checked?", "yes or no",
                          _input("calendar_checked", required=False, max_length=5,
                                 placeholder="yes", default=d.get("calendar_checked")))
        self.add_question("Setup", "A short tag, e.g. london-breakout",
                          _input("setup_tag", required=False, max_length=64,
                                 default=d.get("setup_tag")))
        self.add_question("Notes", "Anything else about this entry (optional)",
                          _input("text", required=False, max_length=1000, paragraph=True,
                                 default=d.get("text")))

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        bot = interaction.client
        raw = self.answers()
        answers: dict[str, Any] = dict(raw)
        if self.symbol:
            answers["symbol"] = self.symbol
        if self.side:
            answers["side"] = self.side
        try:
            entry = await journal_ops.add_pre_trade(
                engine_of(bot), interaction.user.id, now_of(interaction), answers
            )
        except JournalInputError as exc:
            retry = RetryView(self.owner_id, lambda: PreTradeModal(
                self.owner_id, symbol=self.symbol, side=self.side, defaults=raw))
            await answer(interaction, problems_text(exc.problems), view=retry)
            return
        tz = await trader_timezone(engine_of(bot), config_of(bot), interaction.user.id)
        await answer(interaction, embed=entry_saved_embed(entry, tz))


class PostTradeModal(_JournalModal):
    """The post-trade reflection on one trade (DESIGN.md section 7)."""

    def __init__(self, owner_id: int, trade: Trade, *, currency: str = "",
                 defaults: dict[str, str] | None = None) -> None:
        super().__init__(title=f"Reflect: {trade_label(trade, currency)}", owner_id=owner_id)
        self.trade_id = trade.trade_id
        self.currency = currency
        self.trade = trade
        d = defaults or {}
        self.add_question("What worked, and what didn't?", "Execution, plan, timing",
                          _input("what_worked", required=True, max_length=1000, paragraph=True,
                                 default=d.get("what_worked")))
        self.add_question("What were you feeling?", "Emotional factors during the trade",
                          _input("emotional_factors", required=False, max_length=1000,
                                 paragraph=True, default=d.get("emotional_factors")))
        self.add_question("Would you take it again?", "yes or no",
                          _input("would_take_again", required=False, max_length=5,
                                 placeholder="yes", default=d.get("would_take_again")))
        self.add_question("Notes", "Anything else (optional)",
                          _input("text", required=False, max_length=1000, paragraph=True,
                                 default=d.get("text")))

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        bot = interaction.client
        raw = self.answers()
        engine = engine_of(bot)
        try:
            entry, created = await journal_ops.save_reflection(
                engine, interaction.user.id, self.trade_id, now_of(interaction), raw
            )
        except journal_ops.TradeNotFound:
            await answer(interaction, f"Trade {self.trade_id} is not one of your trades.")
            return
        except JournalInputError as exc:
            retry = RetryView(self.owner_id, lambda: PostTradeModal(
                self.owner_id, self.trade, currency=self.currency, defaults=raw))
            await answer(interaction, problems_text(exc.problems), view=retry)
            return
        tz = await trader_timezone(engine, config_of(bot), interaction.user.id)
        await answer(interaction, embed=entry_saved_embed(entry, tz, revised=not created))


class RetryView(OwnerView):
    """"Fix my answers": reopens the form with what the trader typed."""

    def __init__(self, owner_id: int, make_modal: Any) -> None:
        super().__init__(owner_id, timeout=900)
        self.make_modal = make_modal

    @discord.ui.button(label="Fix my answers", style=discord.ButtonStyle.primary)
    async def fix(self, interaction: discord.Interaction,
                  button: discord.ui.Button[RetryView]) -> None:
        await interaction.response.send_modal(self.make_modal())


def _reflection_defaults(entry: JournalEntry | None) -> dict[str, str]:
    if entry is None:
        return {}
    again = entry.would_take_again
    return {
        "what_worked": entry.what_worked or "",
        "emotional_factors": entry.emotional_factors or "",
        "would_take_again": "" if again is None else ("yes" if again else "no"),
        "text": entry.text or "",
    }


async def open_reflection(interaction: discord.Interaction, trade_id: str) -> None:
    """Answer with the reflection modal for the caller's own trade, or refuse privately."""
    bot = interaction.client
    engine = engine_of(bot)
    try:
        trade = await journal_ops.own_trade(engine, interaction.user.id, trade_id)
    except journal_ops.TradeNotFound:
        await answer(
            interaction,
            f"Trade {trade_id} is not one of your trades: only the trader who made it can "
            "reflect on it.",
        )
        return
    if trade.close_time is None:
        await answer(interaction, f"Trade {trade_id} is still open: reflect once it has closed.")
        return
    existing = await journal_ops.reflection_for(engine, interaction.user.id, trade_id)
    currency = await _currency(bot, interaction.user.id)
    await interaction.response.send_modal(PostTradeModal(
        interaction.user.id, trade, currency=currency, defaults=_reflection_defaults(existing)))


async def _currency(bot: discord.Client, trader_id: int) -> str:
    accounts = await accounts_for_trader(engine_of(bot), trader_id)
    return accounts[0].currency if accounts else config_of(bot).system.currency


class ReflectButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.escape(REFLECT_CUSTOM_ID_PREFIX) + r"(?P<trade_id>[^\s]{1,90})",
):
    """The nudge's "Reflect on this trade" button, answered even after a restart."""

    def __init__(self, trade_id: str) -> None:
        super().__init__(discord.ui.Button(
            label="Reflect on this trade",
            style=discord.ButtonStyle.primary,
            custom_id=reflect_custom_id(trade_id),
        ))
        self.trade_id = trade_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction,
                             item: discord.ui.Item[Any], match: re.Match[str], /) -> ReflectButton:
        return cls(match["trade_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await open_reflection(interaction, self.trade_id)
        except NotReady as exc:
            await answer(interaction, str(exc))


# --------------------------------------------------------------------------- the cog


class JournalCog(commands.GroupCog, name="Journal", group_name="journal",
                 group_description="Your trading journal: prompts, entries, statistics"):
    """The /journal commands."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ReflectButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ReflectButton)

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        await answer_error(interaction, error)

    # -- add

    @app_commands.command(name="add", description="Journal a trade: the pre-trade prompt, "
                          "or with trade the post-trade reflection")
    @app_commands.describe(symbol="the symbol you are about to trade, e.g. EURUSD",
                           side="buy or sell",
                           trade="a closed trade to reflect on (pick from the list)")
    async def add(self, interaction: discord.Interaction, symbol: str | None = None,
                  side: Literal["buy", "sell"] | None = None,
                  trade: str | None = None) -> None:
        if trade is not None and trade.strip():
            if symbol or side:
                await answer(interaction, "trade: a reflection is about that trade's symbol "
                             "and side; leave symbol and side empty with trade.")
                return
            await open_reflection(interaction, trade.strip())
            return
        try:
            sym = parse_symbol(symbol)
        except ArgumentError as exc:
            await answer(interaction, str(exc))
            return
        await interaction.response.send_modal(
            PreTradeModal(interaction.user.id, symbol=sym, side=Side(side) if side else None))

    @add.autocomplete("trade")
    async def _trade_autocomplete(self, interaction: discord.Interaction,
                                  current: str) -> list[app_commands.Choice[str]]:
        try:
            engine = engine_of(self.bot)
        except NotReady:
            return []
        trades = await journal_ops.reflectable_trades(engine, interaction.user.id)
        tz = await trader_timezone(engine, config_of(self.bot), interaction.user.id)
        needle = current.strip().casefold()
        out: list[app_commands.Choice[str]] = []
        for t in trades:
            closed = t.close_time.astimezone(tz) if t.close_time else t.open_time
            name = f"{t.trade_id} · {trade_label(t)} · closed {closed:%Y-%m-%d %H:%M}"
            if needle and needle not in name.casefold():
                continue
            out.append(app_commands.Choice(name=name[:100], value=t.trade_id))
        return out[:25]

    # -- list

    @app_commands.command(name="list", description="Your latest journal entries")
    @app_commands.describe(limit="how many (1-25, default 10)", kind="only this kind of entry")
    async def list_entries(self, interaction: discord.Interaction,
                   limit: app_commands.Range[int, 1, 25] = 10,
                   kind: Literal["pre_trade", "post_trade", "note", "override"] | None = None,
                   ) -> None:
        tz, entries = await journal_ops.recent_entries(
            engine_of(self.bot), config_of(self.bot), interaction.user.id,
            limit=limit, kind=KINDS[kind] if kind else None,
        )
        title = f"Your last {len(entries)} journal entries" if entries else "Your journal"
        await answer(interaction, embed=entries_embed(entries, tz, title=title))

    # -- stats

    @app_commands.command(name="stats", description="Win rate, P&L, profit factor, "
                          "expectancy, R, drawdown and insights from your journal")
    @app_commands.describe(
        since="first local day, YYYY-MM-DD", until="day after the last, YYYY-MM-DD",
        symbol="only this symbol", setup="only this setup tag", side="only buys or sells",
        hour="only entries in this local hour (0-23)", weekday="only entries on this day",
        flag="only trades with this behaviour flag", driver="only strategy- or emotion-driven",
    )
    async def stats(
        self, interaction: discord.Interaction,
        since: str | None = None, until: str | None = None,
        symbol: str | None = None, setup: str | None = None,
        side: Literal["buy", "sell"] | None = None,
        hour: app_commands.Range[int, 0, 23] | None = None,
        weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] | None = None,
        flag: Literal["revenge", "overconfidence", "fatigue", "overtrading", "tilt"] | None = None,
        driver: Literal["strategy", "emotion"] | None = None,
    ) -> None:
        try:
            query = journal_ops.StatsQuery(
                since=parse_date(since, "since"), until=parse_date(until, "until"),
                symbol=parse_symbol(symbol), setup=(setup or "").strip() or None,
                side=Side(side) if side else None, hour=hour,
                weekday=WEEKDAYS.index(weekday) if weekday else None,
                flag=flag, driver=Driver(driver) if driver else None,
            )
        except ArgumentError as exc:
            await answer(interaction, str(exc))
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            report = await journal_ops.journal_stats(
                engine_of(self.bot), config_of(self.bot), interaction.user.id, query)
        except JournalInputError as exc:
            await answer(interaction, "\n".join(exc.problems))
            return
        await answer(interaction, embed=stats_embed(report))

    @stats.autocomplete("setup")
    async def _setup_autocomplete(self, interaction: discord.Interaction,
                                  current: str) -> list[app_commands.Choice[str]]:
        try:
            tags = await journal_ops.setup_tags(engine_of(self.bot), interaction.user.id)
        except NotReady:
            return []
        needle = current.strip().casefold()
        return [app_commands.Choice(name=t, value=t) for t in tags
                if needle in t.casefold()][:25]

    # -- export

    @app_commands.command(name="export", description="Download your journal as a file")
    @app_commands.describe(format="csv (entries) or json (entries and trades)")
    async def export(self, interaction: discord.Interaction,
                     format: Literal["csv", "json"] = "csv") -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await journal_ops.export_journal(engine_of(self.bot), interaction.user.id, format)
        data = text.encode("utf-8")
        if len(data) > MAX_EXPORT_BYTES:
            await answer(interaction, f"Your journal is {len(data) / 1e6:.1f} MB, over what "
                         "Discord accepts; use `pulse journal export` on the server instead.")
            return
        day = now_of(interaction).date().isoformat()
        name = f"pulse-journal-{day}.{format}"
        await answer(interaction, f"Your journal ({format.upper()}), only visible to you.",
                     file=discord.File(io.BytesIO(data), filename=name))


async def setup(bot: commands.Bot) -> None:
    """Extension entry point (``bot.load_extension('cogs.journal')``)."""
    await bot.add_cog(JournalCog(bot))

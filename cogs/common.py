"""Plumbing shared by the trading cogs: the service handle, argument parsing, refusals.

- :class:`ArgumentProblem`: an argument the trader got wrong, with the fix. Transformers
  raise it while discord.py parses options, callbacks raise it for combinations
  (a stop on the wrong side of the price); :meth:`TradingCog.cog_app_command_error`
  answers it ephemerally, naming the argument.
- Transformers for symbols, timeframes, decimal numbers and minutes: Discord shows
  their limits and autocomplete; ``transform`` refuses what slips through (another
  client, the API) with the same clear message.
- :class:`OwnerView`: buttons only the trader who asked can press.
- :meth:`TradingCog.trader`: the invoking user's trader id, or a friendly "not linked"
  answer. Nothing here decides a trading question: that is the service's and pulse's job.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.feeds.base import FeedError, SymbolRefused, check_symbol_syntax
from bot.service import PulseService, ServiceError, TraderSession
from pulse.config import TIMEFRAMES
from pulse.models import Side, SymbolSpec

__all__ = [
    "ArgumentProblem",
    "MinutesTransformer",
    "NumberTransformer",
    "OwnerView",
    "SymbolTransformer",
    "TimeframeTransformer",
    "TradingCog",
    "not_linked_text",
    "parse_number",
    "parse_side",
    "service_of",
]

log = logging.getLogger("pulse.cogs")

EPHEMERAL_REFUSAL = "Only the trader who asked can use these buttons."
MAX_BREAK_MINUTES = 8 * 60  # /break: a pause within a trading day, not a day off


class ArgumentProblem(app_commands.AppCommandError):
    """An argument the trader got wrong: which one, what was given, how to fix it."""

    def __init__(self, argument: str, problem: str, fix: str) -> None:
        self.argument = argument
        self.problem = problem
        self.fix = fix
        super().__init__(f"{argument}: {problem}")

    def text(self) -> str:
        return f"**{self.argument}**: {self.problem}. {self.fix}"


def not_linked_text(user_id: int) -> str:
    """What an unknown user is told: how to get linked."""
    return (
        "Your Discord account is not linked to a trading account yet, so Pulse has "
        "nothing to show you. To link it, ask the Pulse admin to add you under "
        f"`traders:` in config.yaml with `discord_user_id: {user_id}` (your id) and the "
        "feed of your MT5 account, then restart Pulse. `/help` lists what you can use "
        "meanwhile."
    )


def service_of(bot: commands.Bot) -> PulseService | None:
    """The process's :class:`PulseService` (``bot.service``), once wiring set it."""
    svc = getattr(bot, "service", None)
    return svc if isinstance(svc, PulseService) else None


# --------------------------------------------------------------------------- parsing

_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def parse_number(argument: str, text: str, *, example: str) -> float:
    """``"0.5"`` or ``"0,5"`` -> 0.5 (MT5 and European keyboards); refuse anything else.

    Thousands separators are refused rather than guessed: ``1,085`` could be either.
    """
    raw = str(text).strip().replace(" ", "").replace("\u00a0", "")
    if not _NUMBER.match(raw):
        raise ArgumentProblem(argument, f"{text!r} is not a number", f"Type it like {example}.")
    value = float(raw.replace(",", "."))
    if value <= 0:
        raise ArgumentProblem(argument, f"must be greater than 0, got {text}",
                              f"Type it like {example}.")
    return value


def parse_side(text: str) -> Side:
    """``buy``/``sell`` (Discord offers only these; another client may send anything)."""
    try:
        return Side(str(text).strip().lower())
    except ValueError:
        raise ArgumentProblem("side", f"{text!r} is not a side", "Choose buy or sell.") from None


class NumberTransformer(app_commands.Transformer):
    """A positive decimal typed as text (accepts a decimal comma); named in errors."""

    def __init__(self, argument: str, example: str) -> None:
        self.argument = argument
        self.example = example

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.string

    @property
    def max_value(self) -> int:
        return 32  # max length of the text

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        return parse_number(self.argument, str(value), example=self.example)


class VolumeTransformer(NumberTransformer):
    def __init__(self) -> None:
        super().__init__("volume", "0.5 (lots)")


class PriceTransformer(NumberTransformer):
    def __init__(self) -> None:
        super().__init__("price", "1.0850")


class StopTransformer(NumberTransformer):
    def __init__(self) -> None:
        super().__init__("stop", "1.0830 (the stop-loss price)")


class TakeProfitTransformer(NumberTransformer):
    def __init__(self) -> None:
        super().__init__("take_profit", "1.0900")


class MinutesTransformer(app_commands.Transformer):
    """Whole minutes from 1 to ``MAX_BREAK_MINUTES`` (8 hours); Discord shows the range,
    ``transform`` enforces it."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.integer

    @property
    def min_value(self) -> int:
        return 1

    @property
    def max_value(self) -> int:
        return MAX_BREAK_MINUTES

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> int:
        try:
            minutes = int(value)
        except (TypeError, ValueError):
            raise ArgumentProblem("minutes", f"{value!r} is not a whole number",
                                  "Type minutes like 30.") from None
        if minutes != value and not isinstance(value, str):
            raise ArgumentProblem("minutes", f"{value!r} is not a whole number",
                                  "Type minutes like 30.")
        if not 1 <= minutes <= MAX_BREAK_MINUTES:
            raise ArgumentProblem(
                "minutes", f"must be between 1 and {MAX_BREAK_MINUTES}, got {minutes}",
                "Type how long you want to pause, e.g. 30.")
        return minutes


class SymbolTransformer(app_commands.Transformer):
    """A symbol name (syntax checked here, existence by the feed); autocomplete from the
    watchlist and the symbols the service knows."""

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> str:
        text = str(value).strip()
        try:
            return check_symbol_syntax(text)
        except SymbolRefused:
            raise ArgumentProblem(
                "symbol", f"{text!r} is not a symbol name",
                "Use the name as MT5 shows it, e.g. EURUSD (letters, digits and ._#+- only).",
            ) from None

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction, value: str, /
    ) -> list[app_commands.Choice[str]]:
        names: list[str] = []
        svc = service_of(interaction.client)  # type: ignore[arg-type]
        if svc is not None:
            names = [*svc.config.feeds.watchlist.symbols, *sorted(svc.symbols)]
        needle = value.strip().upper()
        seen = dict.fromkeys(n for n in names if needle in n.upper())
        return [app_commands.Choice(name=n, value=n) for n in seen][:25]


class TimeframeTransformer(app_commands.Transformer):
    """``H1``, ``m15`` ... (case-insensitive); autocomplete lists the watchlist's first."""

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> str:
        text = str(value).strip().upper()
        if text not in TIMEFRAMES:
            raise ArgumentProblem(
                "timeframe", f"{value!r} is not a timeframe",
                f"Use one of {', '.join(TIMEFRAMES)}.")
        return text

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction, value: str, /
    ) -> list[app_commands.Choice[str]]:
        svc = service_of(interaction.client)  # type: ignore[arg-type]
        first = list(svc.config.feeds.watchlist.timeframes) if svc is not None else []
        order = dict.fromkeys([*first, *TIMEFRAMES])
        needle = value.strip().upper()
        return [app_commands.Choice(name=tf, value=tf) for tf in order if needle in tf][:25]


# --------------------------------------------------------------------------- views


class OwnerView(discord.ui.View):
    """A view whose buttons answer only the trader it was made for."""

    def __init__(self, owner_id: int, *, timeout: float | None = 600) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(EPHEMERAL_REFUSAL, ephemeral=True)
        return False

    async def on_error(self, interaction: discord.Interaction, error: Exception,
                       item: discord.ui.Item[Any], /) -> None:
        """A failing button answers (instead of Discord's bare "interaction failed")."""
        await report_failure(interaction, error, f"button {getattr(item, 'label', '?')!r}")


async def report_failure(interaction: discord.Interaction, error: BaseException,
                         what: str) -> None:
    """Log an unexpected failure and tell the user, ephemerally, that it was ours."""
    log.error("%s failed", what, exc_info=error)
    try:
        await answer(interaction, "Something went wrong on Pulse's side; the error is logged. "
                     "Please try again in a moment.")
    except discord.HTTPException:  # the interaction may have expired meanwhile
        log.warning("%s: could not tell the user about the failure", what)


# --------------------------------------------------------------------------- the base cog


async def answer(interaction: discord.Interaction, content: str | None = None, *,
                 ephemeral: bool = True, **kwargs: Any) -> None:
    """Reply, or follow up when the interaction was already answered (deferred)."""
    if interaction.response.is_done():
        await interaction.followup.send(content if content is not None else discord.utils.MISSING,
                                        ephemeral=ephemeral, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=ephemeral, **kwargs)


class TradingCog(commands.Cog):
    """Base of the trading cogs: service access, trader lookup and the error handler."""

    def __init__(self, bot: commands.Bot, service: PulseService | None = None) -> None:
        self.bot = bot
        self._service = service

    @property
    def service(self) -> PulseService | None:
        return self._service if self._service is not None else service_of(self.bot)

    async def require_service(self, interaction: discord.Interaction) -> PulseService | None:
        svc = self.service
        if svc is None:
            await answer(interaction, "Pulse's trading service is not running yet (the bot is "
                         "starting or runs without feeds). Try again in a minute.")
        return svc

    async def trader(self, interaction: discord.Interaction) -> tuple[PulseService, int] | None:
        """The service and the invoking user's trader id, or None after telling them why."""
        svc = await self.require_service(interaction)
        if svc is None:
            return None
        tid = interaction.user.id
        session = svc.sessions.get(tid)
        if session is None:
            await answer(interaction, not_linked_text(tid))
            return None
        if not session.ready:
            await answer(interaction, "Your account is linked, but Pulse has not reached it "
                         "yet (the feed was down at start and nothing is stored). "
                         "Try again when the feed is back; `/status` will show it.")
            return None
        return svc, tid

    @staticmethod
    def now(svc: PulseService, trader_id: int) -> datetime:
        """The trader's clock (UTC for MT5, replay time for a replay feed)."""
        return svc.sessions[trader_id].clock()

    @staticmethod
    def market_session(svc: PulseService, trader_id: int | None) -> TraderSession | None:
        """The invoker's own session when ready, else any ready one (for market data)."""
        own = svc.sessions.get(trader_id) if trader_id is not None else None
        if own is not None and own.ready:
            return own
        return next((s for s in svc.sessions.values() if s.ready), None)

    async def symbol_spec(self, session: TraderSession, symbol: str) -> tuple[str, SymbolSpec]:
        """The symbol as the feed names it and its spec; an unknown one is an argument
        problem (tried as typed, then upper-cased: ``eurusd`` finds ``EURUSD``)."""
        tried: list[str] = list(dict.fromkeys([symbol, symbol.upper()]))
        last: Exception | None = None
        for name in tried:
            try:
                return name, await session.feed.symbol_spec(name)
            except SymbolRefused as exc:
                last = exc
            except (FeedError, ValueError) as exc:
                raise ArgumentProblem(
                    "symbol", f"the feed could not describe {symbol!r} ({exc})",
                    "Check the symbol is in MT5's Market Watch and try again.") from None
        raise ArgumentProblem("symbol", f"{symbol!r} is unknown to your feed ({last})",
                              "Use a symbol your terminal lists, e.g. EURUSD.")

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Argument problems and service refusals answered ephemerally; the rest logged."""
        cause: BaseException = error
        if isinstance(error, app_commands.CommandInvokeError):
            cause = error.original
        if isinstance(cause, ArgumentProblem):
            await answer(interaction, cause.text())
        elif isinstance(cause, app_commands.TransformerError):
            await answer(interaction, f"**{_option_name(interaction, cause)}**: {cause.value!r} "
                         "is not valid here. `/help` shows what each option expects.")
        elif isinstance(cause, ServiceError):
            await answer(interaction, f"Pulse could not answer: {cause}")
        else:
            name = interaction.command.qualified_name if interaction.command else "?"
            await report_failure(interaction, cause, f"/{name}")


def _option_name(interaction: discord.Interaction, err: app_commands.TransformerError) -> str:
    cmd = interaction.command
    if isinstance(cmd, app_commands.Command):
        for p in cmd.parameters:
            if getattr(interaction.namespace, p.name, None) == err.value:
                return p.display_name
    return "argument"

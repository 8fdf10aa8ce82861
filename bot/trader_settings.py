"""A trader's own settings (``/settings``): validation, persistence and what is in force.

The cog parses Discord options and renders; everything decided about settings lives
here, once:

- :func:`parse_timezone` accepts IANA names only (``zoneinfo.available_timezones()``),
  case-insensitively, and refuses anything else with the closest names as suggestions;
  :func:`timezone_choices` feeds the autocomplete.
- :func:`parse_hhmm` accepts ``7:30`` / ``07:30`` and refuses anything that is not a
  time of day, naming the option and the expected form.
- :func:`change_settings` stores the changes (``repo_traders.update_settings``, the
  timezone on the trader row) and returns the new :class:`EffectiveSettings`.
- :func:`effective_settings` merges stored choices over config.yaml's defaults
  (``discord.*`` and the trader's config entry): stored ``None`` means "the default".
- :func:`link_account` links an MT5 account login to the trader, refusing one that is
  already another trader's.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.journal_service import trader_timezone
from bot.scheduler import schedule_for
from pulse.config import PulseConfig
from storage.records import AccountRecord, TraderRecord, TraderSettings
from storage.repo_settings import set_trader_timezone
from storage.repo_traders import (
    account_by_login,
    accounts_for_trader,
    ensure_account,
    get_trader,
    update_settings,
    upsert_trader,
)

__all__ = [
    "WEEKDAYS",
    "AccountLinkError",
    "EffectiveSettings",
    "SettingsInputError",
    "change_settings",
    "effective_settings",
    "link_account",
    "load_settings",
    "parse_hhmm",
    "parse_timezone",
    "parse_weekday",
    "timezone_choices",
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^\s*(\d{1,2})[:.h](\d{2})\s*$")


class SettingsInputError(ValueError):
    """A setting that cannot be used; ``problems`` has one line per option, with the fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


# --------------------------------------------------------------------------- parsing


@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    """IANA names, ``Area/City`` first (what people pick), legacy aliases last."""
    names = available_timezones() - {"localtime"}
    return tuple(sorted(names, key=lambda n: ("/" not in n, n.startswith("Etc/"), n)))


@lru_cache(maxsize=1)
def _by_folded() -> dict[str, str]:
    return {n.casefold(): n for n in _zones()}


def timezone_suggestions(text: str, limit: int = 5) -> list[str]:
    """Close IANA names for a misspelt one (``Europe/Pargue`` -> ``Europe/Prague``)."""
    needle = text.strip().replace(" ", "_").casefold()
    if not needle:
        return []
    folded = _by_folded()
    hits = difflib.get_close_matches(needle, list(folded), n=limit, cutoff=0.6)
    city = needle.rsplit("/", 1)[-1]
    hits += [k for k in folded if k.rsplit("/", 1)[-1] == city and k not in hits]
    return [folded[h] for h in hits[:limit]]


def parse_timezone(text: str) -> str:
    """The canonical IANA name for ``text`` (case-insensitive), or a SettingsInputError."""
    name = text.strip().replace(" ", "_")
    found = _by_folded().get(name.casefold())
    if found is not None:
        return found
    hint = timezone_suggestions(text)
    fix = (
        f"did you mean {', '.join(hint)}?"
        if hint
        else "pick one from the list as you type (Area/City, e.g. Europe/Prague)"
    )
    raise SettingsInputError([f"timezone: {text!r} is not a known timezone; {fix}"])


def timezone_choices(current: str, limit: int = 25) -> list[str]:
    """Autocomplete: names containing what was typed (prefix matches first)."""
    needle = current.strip().replace(" ", "_").casefold()
    if not needle:
        return list(_zones()[:limit])
    starts = [n for n in _zones() if n.casefold().startswith(needle)]
    city = [n for n in _zones() if n.casefold().rsplit("/", 1)[-1].startswith(needle)]
    inside = [n for n in _zones() if needle in n.casefold()]
    out: list[str] = []
    for n in starts + city + inside + timezone_suggestions(current, limit):
        if n not in out:
            out.append(n)
        if len(out) >= limit:
            break
    return out


def parse_hhmm(text: str, option: str) -> str:
    """``7:30`` / ``07:30`` / ``7.30`` -> ``"07:30"``; anything else names ``option``."""
    m = _HHMM.match(text)
    if m is not None:
        h, mi = int(m.group(1)), int(m.group(2))
        if 0 <= h <= 23 and 0 <= mi <= 59:
            return f"{h:02d}:{mi:02d}"
    raise SettingsInputError(
        [f"{option}: {text!r} is not a time of day; use 24-hour HH:MM, e.g. 21:30"]
    )


def parse_weekday(text: str, option: str) -> Weekday:
    """``mon``..``sun`` (or the full English name, any case)."""
    key = text.strip().casefold()[:3]
    for d in WEEKDAYS:
        if key == d:
            return d
    raise SettingsInputError(
        [f"{option}: {text!r} is not a weekday; use one of {', '.join(WEEKDAYS)}"]
    )


# --------------------------------------------------------------------------- in force


@dataclass(frozen=True)
class EffectiveSettings:
    """What applies to a trader now: stored choices over config.yaml's defaults.

    ``daily_summary`` is the local ``HH:MM`` (None: off); ``weekly_summary`` the day and
    time (None: off), as the scheduler will run them.
    """

    trader_id: int
    timezone: str
    daily_summary: str | None
    weekly_summary: tuple[Weekday, str] | None
    dm_nudges: bool
    muted_kinds: tuple[str, ...]
    quiet_hours: tuple[str, str] | None
    accounts: tuple[AccountRecord, ...] = ()


def effective_settings(
    cfg: PulseConfig,
    trader_id: int,
    record: TraderRecord | None,
    tz: ZoneInfo,
    accounts: tuple[AccountRecord, ...] = (),
) -> EffectiveSettings:
    """Merge a stored trader row (maybe none yet) over the config's defaults; ``tz`` is
    the trader's timezone as ``bot.journal_service.trader_timezone`` resolves it.

    Summary times come from :func:`bot.scheduler.schedule_for` (the scheduler's own rule),
    so what is shown is what will run."""
    s = record.settings if record is not None else TraderSettings()
    d = cfg.discord
    sched = schedule_for(cfg, trader_id, s, tz)
    qh_default = d.quiet_hours
    enabled = s.quiet_hours_enabled if s.quiet_hours_enabled is not None else qh_default is not None
    quiet: tuple[str, str] | None = None
    if enabled:
        start = s.quiet_hours_start or (qh_default.start if qh_default else None)
        end = s.quiet_hours_end or (qh_default.end if qh_default else None)
        if start and end:
            quiet = (start, end)
    return EffectiveSettings(
        trader_id=trader_id,
        timezone=tz.key,
        daily_summary=f"{sched.daily:%H:%M}" if sched.daily is not None else None,
        weekly_summary=(sched.weekly[0], f"{sched.weekly[1]:%H:%M}")
        if sched.weekly is not None else None,
        dm_nudges=d.dm_nudges if s.dm_nudges is None else s.dm_nudges,
        muted_kinds=tuple(s.muted_kinds),
        quiet_hours=quiet,
        accounts=accounts,
    )


async def load_settings(engine: AsyncEngine, cfg: PulseConfig, trader_id: int) -> EffectiveSettings:
    """The trader's settings in force (defaults when nothing is stored yet)."""
    record = await get_trader(engine, trader_id)
    accounts = tuple(await accounts_for_trader(engine, trader_id))
    tz = await trader_timezone(engine, cfg, trader_id)
    return effective_settings(cfg, trader_id, record, tz, accounts)


async def change_settings(
    engine: AsyncEngine,
    cfg: PulseConfig,
    trader_id: int,
    at: datetime,
    *,
    timezone: str | None = None,
    **changes: Any,
) -> EffectiveSettings:
    """Store ``changes`` (TraderSettings fields, already parsed) and the timezone.

    Both are written, or neither: values are validated by :class:`TraderSettings`
    before anything is stored.
    """
    if changes:
        record = await get_trader(engine, trader_id)
        base = record.settings if record is not None else TraderSettings()
        try:
            TraderSettings.model_validate({**base.model_dump(), **changes})
        except ValueError as exc:
            raise SettingsInputError([f"settings: {exc}"]) from None
    if timezone is not None:
        name = parse_timezone(timezone)
        # Marked as chosen (traders.timezone_set_at), so a chosen UTC is not the default.
        await set_trader_timezone(engine, trader_id, name, at)
    if changes:
        await update_settings(engine, trader_id, at, **changes)
    elif timezone is None:
        await upsert_trader(engine, trader_id, at=at)
    return await load_settings(engine, cfg, trader_id)


class AccountLinkError(SettingsInputError):
    """The account belongs to someone else (its owner is not revealed)."""


async def link_account(
    engine: AsyncEngine, trader_id: int, login: int, server: str, at: datetime
) -> AccountRecord:
    """Link MT5 account ``login``@``server`` to the trader.

    An account already linked to another trader is refused: linking would show their
    trades in this trader's journal and summaries.
    """
    if login <= 0:
        raise SettingsInputError([f"login: must be your MT5 account number, got {login}"])
    server = server.strip()
    known = await account_by_login(engine, login, server)
    if known is not None and known.trader_id not in (None, trader_id):
        raise AccountLinkError(
            [f"login: account {login}{'@' + server if server else ''} is linked to another "
             "trader; ask the server admin if it is yours"]
        )
    return await ensure_account(engine, login, at=at, server=server, trader_id=trader_id)

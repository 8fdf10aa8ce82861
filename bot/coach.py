"""Coach channels: what a consenting trader's coach sees, and who may look at whom.

A trader consents per coach (``storage.repo_coach``). While a consent is active, the
trader's daily summaries, red states and violations are *mirrored*: for every nudge
that qualifies (:func:`should_mirror`), one more outbox row addressed to the coach's
channel is written in the same transaction as the trader's own row. The coach's
channel is the consent's ``channel_id`` or, without one, ``discord.coach_channel_id``.

Unsharing stops mirroring at once: the outbox worker calls :func:`consent_active`
right before it sends a mirrored row, so rows queued before the unshare (a retry, a
deferred one) are suppressed, not sent.

:func:`coach_can_view` is the one permission check the cogs use before showing a
trader's data to someone else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pulse.config import PulseConfig
from pulse.models import Nudge, NudgeKind, Severity
from storage.engine import DB, transaction
from storage.records import CoachConsent
from storage.repo_coach import active_consents
from storage.repo_outbox import enqueue_nudge

__all__ = [
    "MIRRORED_KINDS",
    "RED_KINDS",
    "coach_can_view",
    "coach_channel",
    "consent_active",
    "dm_fallback_channel",
    "mirror_nudges",
    "mirror_red_state",
    "red_state_nudge",
    "should_mirror",
]

MIRRORED_KINDS = frozenset({"daily_summary", "violation"})
"""Kinds always mirrored to a consenting trader's coaches."""

RED_KINDS = frozenset({"daily_loss_hit", "max_drawdown_hit", "tilt", "state_red"})
"""Kinds that mean the trader is in a red state. Any nudge whose ``data["state"]`` is
``"red"`` (a behaviour state change) counts too."""


def should_mirror(nudge: Nudge) -> bool:
    """Does this trader nudge go to their coaches (daily summary, red state, violation)?"""
    if nudge.trader_id is None or "mirror" in nudge.data or "to" in nudge.data:
        return False  # system messages, and rows already addressed to a channel
    return (
        nudge.kind in MIRRORED_KINDS
        or nudge.kind in RED_KINDS
        or str(nudge.data.get("state", "")).lower() == "red"
    )


def coach_channel(consent: CoachConsent, config: PulseConfig) -> int | None:
    """Where a coach reads a trader's mirror: the consent's channel, else the server's."""
    return consent.channel_id or config.discord.coach_channel_id


async def consent_active(db: DB, trader_id: int, coach_user_id: int) -> bool:
    """Does the trader share with this coach right now?"""
    return any(c.coach_user_id == coach_user_id for c in await active_consents(db, trader_id))


async def coach_can_view(db: DB, coach_id: int, trader_id: int) -> bool:
    """May ``coach_id`` see ``trader_id``'s data? Only the trader themself, or a coach the
    trader consented to (and has not unshared from)."""
    if coach_id == trader_id:
        return True
    return await consent_active(db, trader_id, coach_id)


async def mirror_nudges(db: DB, config: PulseConfig, nudge: Nudge) -> list[Nudge]:
    """The coach-channel copies of ``nudge`` (empty if it does not qualify or nobody
    consented). Each copy has its own dedupe key ``<key>|coach:<coach id>``."""
    if not should_mirror(nudge) or nudge.trader_id is None:
        return []
    out: list[Nudge] = []
    seen: set[int] = set()
    for consent in await active_consents(db, nudge.trader_id):
        channel = coach_channel(consent, config)
        if channel is None or consent.coach_user_id in seen:
            continue
        seen.add(consent.coach_user_id)
        data: dict[str, Any] = {
            **nudge.data,
            "to": {"channel_id": channel},
            "mirror": {"coach_user_id": consent.coach_user_id, "source_key": nudge.dedupe_key},
        }
        out.append(
            nudge.model_copy(
                update={
                    "dedupe_key": f"{nudge.dedupe_key}|coach:{consent.coach_user_id}"[:200],
                    "data": data,
                }
            )
        )
    return out


async def dm_fallback_channel(
    db: DB, config: PulseConfig, trader_id: int
) -> tuple[str, int] | None:
    """Where a nudge goes when the trader's DMs are closed: a consenting coach's channel
    (``("coach_channel", id)``), else ``discord.fallback_channel_id``
    (``("fallback_channel", id)``), else None."""
    for consent in await active_consents(db, trader_id):
        channel = coach_channel(consent, config)
        if channel is not None:
            return "coach_channel", channel
    if config.discord.fallback_channel_id is not None:
        return "fallback_channel", config.discord.fallback_channel_id
    return None


RED_STATE_KIND: NudgeKind = "state_red"
"""The kind a red-state mirror is stored under (its own kind, so the per-kind rate limit
never swallows a red state behind the tilt nudge that caused it)."""


def red_state_nudge(
    trader_id: int,
    at: datetime,
    score: int,
    flags: Sequence[str] = (),
    deductions: Sequence[str] = (),
) -> Nudge:
    """The message for a trader turning red (the kernel's ``StateOut``), to mirror."""
    lines = [f"Behaviour score {score}/100: red."]
    if deductions:
        lines.append("Deductions: " + ", ".join(deductions))
    if flags:
        lines.append("Flags: " + ", ".join(flags))
    return Nudge(
        at=at,
        kind=RED_STATE_KIND,
        severity=Severity.WARNING,
        text="\n".join(lines),
        dedupe_key=f"state:red:{trader_id}:{at.isoformat()}",
        trader_id=trader_id,
        data={"state": "red", "score": score, "title": "Behaviour state red"},
    )


async def mirror_red_state(
    db: DB,
    config: PulseConfig,
    trader_id: int,
    at: datetime,
    score: int,
    flags: Sequence[str] = (),
    deductions: Sequence[str] = (),
) -> list[int]:
    """Queue a red state for the trader's consenting coaches only (the trader already
    gets the nudges that made them red). Returns the new outbox row ids; wake the
    outbox worker afterwards."""
    base = red_state_nudge(trader_id, at, score, flags, deductions)
    ids: list[int] = []
    async with transaction(db) as conn:
        for copy in await mirror_nudges(conn, config, base):
            item_id = await enqueue_nudge(conn, copy)
            if item_id is not None:
                ids.append(item_id)
    return ids

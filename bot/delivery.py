"""The Discord side of nudge delivery: send one message to a DM or a channel.

:class:`DiscordDelivery` wraps a logged-in :class:`discord.Client` and turns what
discord.py raises into three outcomes the outbox worker acts on:

* :class:`DMsClosed`: 403 with JSON code 50007 ("Cannot send messages to this user");
  the worker falls back to a coach or configured channel.
* :class:`TransientDeliveryError`: HTTP 429 (discord.py gave up waiting,
  :class:`discord.RateLimited`), 5xx, a timeout or a connection error; retried with
  backoff.
* :class:`PermanentDeliveryError`: any other refusal (unknown channel, missing
  permissions, invalid body); retrying would not help.

Anything else is a bug and propagates. :class:`Delivery` is the interface; tests of
pure worker logic use a fake that raises these same exceptions.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import discord

__all__ = [
    "CANNOT_DM_USER",
    "REFLECT_CUSTOM_ID_PREFIX",
    "DMsClosed",
    "Delivery",
    "DeliveryError",
    "DiscordDelivery",
    "OutgoingMessage",
    "PermanentDeliveryError",
    "TransientDeliveryError",
    "reflect_custom_id",
    "reflection_view",
]

CANNOT_DM_USER = 50007
"""Discord's JSON error code for a DM to a user who does not accept them."""

REFLECT_CUSTOM_ID_PREFIX = "pulse:reflect:"
"""Custom id prefix of the post-trade reflection button; the cogs answer it with the
reflection modal (a persistent view or a DynamicItem matching this prefix)."""


class DeliveryError(Exception):
    """A message was not delivered."""


class DMsClosed(DeliveryError):
    """The user does not accept DMs from the bot (403, code 50007)."""


class TransientDeliveryError(DeliveryError):
    """Worth retrying later (429, 5xx, network); ``retry_after`` in seconds if known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Refused for good (unknown channel, missing permission, invalid message)."""


@dataclass(frozen=True)
class OutgoingMessage:
    """What to send: text and/or an embed, an optional PNG and an optional view."""

    content: str | None = None
    embed: discord.Embed | None = None
    file_name: str | None = None
    file_bytes: bytes | None = None
    view: discord.ui.View | None = None
    mention_user_id: int | None = None  # the only user the message may ping


class Delivery(Protocol):
    """Send one message; returns the Discord message id or raises a DeliveryError."""

    async def send_dm(self, user_id: int, message: OutgoingMessage) -> int: ...

    async def send_channel(self, channel_id: int, message: OutgoingMessage) -> int: ...


def reflect_custom_id(trade_id: str) -> str:
    """The button custom id for a trade's reflection (Discord allows 100 characters)."""
    return f"{REFLECT_CUSTOM_ID_PREFIX}{trade_id}"[:100]


def reflection_view(trade_id: str) -> discord.ui.View:
    """A timeout-free view with the "Reflect on this trade" button.

    The button has no callback here: the cogs register the handler for the
    ``pulse:reflect:`` prefix (a DynamicItem), which also works after a restart. The view
    is returned already stopped: its components are still sent, but discord.py does not
    keep a copy of it per message in its view store (timeout-free views would pile up
    there, one per post-trade prompt, for the life of the process).
    """
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(
            label="Reflect on this trade",
            style=discord.ButtonStyle.primary,
            custom_id=reflect_custom_id(trade_id),
        )
    )
    view.stop()
    return view


def _classify(exc: BaseException) -> DeliveryError | None:
    """The delivery outcome for what discord.py/aiohttp raised, or None (a bug)."""
    if isinstance(exc, discord.RateLimited):
        return TransientDeliveryError(f"rate limited for {exc.retry_after:.1f}s",
                                      retry_after=exc.retry_after)
    if isinstance(exc, discord.Forbidden):
        if exc.code == CANNOT_DM_USER:
            return DMsClosed(f"403 {exc.code}: {exc.text}")
        return PermanentDeliveryError(f"403 {exc.code}: {exc.text}")
    if isinstance(exc, discord.HTTPException):
        status = exc.status
        msg = f"HTTP {status} {exc.code}: {exc.text}"
        if status == 429 or status >= 500:
            return TransientDeliveryError(msg)
        return PermanentDeliveryError(msg)
    if isinstance(exc, (aiohttp.ClientError, TimeoutError, OSError)):
        return TransientDeliveryError(f"{type(exc).__name__}: {exc}")
    return None


class DiscordDelivery:
    """:class:`Delivery` over a discord.py client (a bot that is logged in).

    ``timeout`` bounds one send, including discord.py's own waits for rate limits
    (the outbox lease must be longer).
    """

    def __init__(self, client: discord.Client, *, timeout: float = 60.0) -> None:
        self.client = client
        self.timeout = timeout

    async def send_dm(self, user_id: int, message: OutgoingMessage) -> int:
        async def go() -> int:
            channel = await self.client.create_dm(discord.Object(id=user_id))
            return await self._send(channel, message)

        return await self._guard(go())

    async def send_channel(self, channel_id: int, message: OutgoingMessage) -> int:
        async def go() -> int:
            channel = self.client.get_channel(channel_id)
            target: discord.abc.Messageable
            if isinstance(channel, discord.abc.Messageable):
                target = channel
            else:
                target = self.client.get_partial_messageable(channel_id)
            return await self._send(target, message)

        return await self._guard(go())

    async def _guard(self, coro: Coroutine[Any, Any, int]) -> int:
        try:
            return await asyncio.wait_for(coro, timeout=self.timeout)
        except DeliveryError:
            raise
        except Exception as exc:
            outcome = _classify(exc)
            if outcome is None:
                raise
            raise outcome from exc

    @staticmethod
    async def _send(target: discord.abc.Messageable, message: OutgoingMessage) -> int:
        mentions = (
            discord.AllowedMentions(users=[discord.Object(id=message.mention_user_id)],
                                    everyone=False, roles=False)
            if message.mention_user_id is not None
            else discord.AllowedMentions.none()
        )
        kwargs: dict[str, object] = {"allowed_mentions": mentions}
        if message.embed is not None:
            kwargs["embed"] = message.embed
        if message.file_bytes is not None:
            kwargs["file"] = discord.File(
                io.BytesIO(message.file_bytes), filename=message.file_name or "chart.png"
            )
        if message.view is not None:
            kwargs["view"] = message.view
        sent = await target.send(message.content, **kwargs)  # type: ignore[call-overload]
        return int(sent.id)

"""A fake of :class:`bot.delivery.Delivery` for pure worker logic.

It raises exactly what :class:`bot.delivery.DiscordDelivery` raises for the same
Discord answers (``DMsClosed`` for 403/50007, ``TransientDeliveryError`` for 429/5xx,
``PermanentDeliveryError`` otherwise), and records every message it accepted.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bot.delivery import (
    DeliveryError,
    DMsClosed,
    OutgoingMessage,
)


@dataclass
class Sent:
    kind: str  # "dm" | "channel"
    target: int
    message: OutgoingMessage
    message_id: int


@dataclass
class FakeDelivery:
    closed_dms: set[int] = field(default_factory=set)
    failures: list[DeliveryError] = field(default_factory=list)  # raised by the next calls
    sent: list[Sent] = field(default_factory=list)
    calls: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(9000))

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)

    async def send_dm(self, user_id: int, message: OutgoingMessage) -> int:
        self._maybe_fail()
        if user_id in self.closed_dms:
            raise DMsClosed("403 50007: Cannot send messages to this user")
        mid = next(self._ids)
        self.sent.append(Sent("dm", user_id, message, mid))
        return mid

    async def send_channel(self, channel_id: int, message: OutgoingMessage) -> int:
        self._maybe_fail()
        mid = next(self._ids)
        self.sent.append(Sent("channel", channel_id, message, mid))
        return mid

    def dms(self, user_id: int) -> list[Sent]:
        return [s for s in self.sent if s.kind == "dm" and s.target == user_id]

    def to_channel(self, channel_id: int) -> list[Sent]:
        return [s for s in self.sent if s.kind == "channel" and s.target == channel_id]

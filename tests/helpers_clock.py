"""A clock tests move by hand and a sleep that never waits, shared by every test dir that
drives time-dependent code (feeds, service, outbox, scheduler, cogs) so there is one of each."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    """A clock the test moves by hand (the code under test calls it for "now")."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        """Move the clock by ``timedelta(**kw)`` and return the new time."""
        self.now += timedelta(**kw)
        return self.now


async def no_sleep(_seconds: float) -> None:
    """Injected sleep: loops under test never wait."""

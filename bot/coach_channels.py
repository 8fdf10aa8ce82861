"""Which channel of a Discord server receives coach mirrors (``/coach channel``).

A member with Manage Server picks the channel; a trader who runs ``/coach share`` in
that server records their consent with it (``coach_consents.channel_id``), which is
where :mod:`bot.coach` mirrors to. The choice per server is stored in the
``guild_settings`` table (revision 0002). Before that it lived in a JSON file beside the
database (``pulse-coach-channels.json``): the first use in a process imports that file
once (a server already in storage keeps its stored channel) and renames it to
``*.migrated``, so storage is the only source afterwards.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.repo_settings import get_guild_settings, set_coach_channel

__all__ = ["DEFAULT_NAME", "CoachChannels", "read_legacy_file"]

log = logging.getLogger(__name__)

DEFAULT_NAME = "pulse-coach-channels.json"


def read_legacy_file(path: Path) -> dict[int, tuple[int, int | None]]:
    """Server id -> (channel id, set by) from the old JSON file; {} if absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    guilds = data.get("guilds") if isinstance(data, dict) else None
    out: dict[int, tuple[int, int | None]] = {}
    for key, entry in (guilds or {}).items():
        if not isinstance(entry, dict) or not str(key).isdigit():
            continue
        channel, by = entry.get("channel_id"), entry.get("set_by")
        if isinstance(channel, int):
            out[int(key)] = (channel, by if isinstance(by, int) else None)
    return out


class CoachChannels:
    """Server id -> coach channel id, in storage; imports the legacy file on first use."""

    def __init__(self, engine: AsyncEngine, legacy_path: Path | None = None) -> None:
        self.engine = engine
        self.legacy_path = legacy_path
        self._imported = legacy_path is None
        self._lock = asyncio.Lock()

    async def import_legacy(self, at: datetime) -> int:
        """Copy the old JSON file's channels into storage once; returns how many."""
        async with self._lock:
            if self._imported:
                return 0
            self._imported = True
            path = self.legacy_path
            if path is None or not path.exists():
                return 0
            entries = read_legacy_file(path)
            for guild_id, (channel_id, by) in entries.items():
                await set_coach_channel(self.engine, guild_id, channel_id, by=by, at=at,
                                        only_if_unset=True)
            try:
                path.replace(path.with_name(path.name + ".migrated"))
            except OSError as exc:  # read-only volume: importing again is harmless
                log.warning("coach channels imported from %s but not renamed: %s", path, exc)
            log.info("coach channels: %d server(s) imported from %s", len(entries), path)
            return len(entries)

    async def get(self, guild_id: int, *, at: datetime) -> int | None:
        """The server's coach channel, or None when none was set."""
        await self.import_legacy(at)
        found = await get_guild_settings(self.engine, guild_id)
        return None if found is None else found.coach_channel_id

    async def set(self, guild_id: int, channel_id: int, *, by: int, at: datetime) -> int | None:
        """Set the server's coach channel; returns the previous one."""
        await self.import_legacy(at)
        return await set_coach_channel(self.engine, guild_id, channel_id, by=by, at=at)

"""Which channel of a Discord server receives coach mirrors (``/coach channel``).

A member with Manage Server picks the channel; a trader who runs ``/coach share`` in
that server records their consent with it (``coach_consents.channel_id``), which is
where :mod:`bot.coach` mirrors to. The choice per server is kept in a small JSON file
next to the database (like the command-sync state), written atomically, because
storage has no per-server table yet (see docs/commands_journal.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_NAME", "CoachChannels"]

DEFAULT_NAME = "pulse-coach-channels.json"
VERSION = 1


class CoachChannels:
    """Server id -> coach channel id, persisted in ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._guilds: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # unreadable: behave as unset (the admin can set it again)
        guilds = data.get("guilds") if isinstance(data, dict) else None
        return {k: v for k, v in (guilds or {}).items() if isinstance(v, dict)}

    def get(self, guild_id: int) -> int | None:
        entry = self._guilds.get(str(guild_id))
        value = entry.get("channel_id") if entry else None
        return int(value) if isinstance(value, int) else None

    def set(self, guild_id: int, channel_id: int, *, by: int, at: datetime) -> int | None:
        """Set the server's coach channel; returns the previous one."""
        previous = self.get(guild_id)
        self._guilds[str(guild_id)] = {
            "channel_id": channel_id, "set_by": by, "set_at": at.isoformat(),
        }
        self._write()
        return previous

    def _write(self) -> None:
        payload = {"version": VERSION, "guilds": self._guilds}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".coach-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, indent=2, sort_keys=True)
                fh.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

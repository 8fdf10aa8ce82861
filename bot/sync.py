"""Slash-command sync that only talks to Discord when the command set changed.

Discord rate-limits command registration (a bulk overwrite is cheap once, but a bot
that syncs on every start while crash-looping gets throttled). So the process hashes
exactly the JSON that ``CommandTree.sync`` would send (``command.to_dict(tree)`` for
each command of the scope) and remembers, per application and scope, the hash of the
last successful sync in a small JSON state file. A start with the same commands skips
the PUT entirely.

State file layout (written atomically, human-readable)::

    {"version": 1,
     "synced": {"<application_id>:global": {"hash": "<sha256>", "commands": ["help", ...]},
                "<application_id>:guild:<guild_id>": {...}}}
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

log = logging.getLogger(__name__)

STATE_VERSION = 1
DEFAULT_STATE_NAME = "pulse-command-sync.json"


def command_payloads(
    tree: app_commands.CommandTree[Any], guild: discord.abc.Snowflake | None = None
) -> list[dict[str, Any]]:
    """The payloads ``tree.sync(guild=guild)`` would PUT, in the tree's order."""
    return [cmd.to_dict(tree) for cmd in tree.get_commands(guild=guild)]


def command_set_hash(payloads: Sequence[dict[str, Any]]) -> str:
    """A stable sha256 of a command set: key order and command order do not matter."""
    ordered = sorted(payloads, key=lambda p: (int(p.get("type", 1)), str(p.get("name", ""))))
    blob = json.dumps(ordered, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def scope_key(application_id: int, guild_id: int | None) -> str:
    """The state-file key of one sync target (global or one guild) of one application."""
    return f"{application_id}:global" if guild_id is None else f"{application_id}:guild:{guild_id}"


def default_state_path(storage_url: str, cwd: Path | None = None) -> Path:
    """Where the sync state lives by default: next to the SQLite database file.

    For ``sqlite+aiosqlite:///data/pulse.db`` that is ``data/pulse-command-sync.json``
    (so a Docker volume holding the database keeps it too); for an in-memory SQLite
    database or PostgreSQL it is the working directory.
    """
    base = cwd if cwd is not None else Path.cwd()
    prefix = "sqlite+aiosqlite:///"
    if storage_url.startswith(prefix):
        db = storage_url[len(prefix) :].split("?", 1)[0]
        if db and db != ":memory:":
            db_path = Path(db)
            if not db_path.is_absolute():
                db_path = base / db_path
            return db_path.parent / DEFAULT_STATE_NAME
    return base / DEFAULT_STATE_NAME


class SyncState:
    """The last synced hash per scope, persisted as a small JSON file.

    A missing or unreadable file counts as "never synced" (the worst case is one
    extra sync), never as an error that stops the bot.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._synced: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("command sync state %s unreadable (%s); will sync once", self.path, exc)
            return {}
        synced = data.get("synced") if isinstance(data, dict) else None
        if not isinstance(synced, dict):
            log.warning("command sync state %s has no 'synced' map; will sync once", self.path)
            return {}
        return {k: v for k, v in synced.items() if isinstance(v, dict)}

    def last_hash(self, key: str) -> str | None:
        entry = self._synced.get(key)
        value = entry.get("hash") if entry else None
        return value if isinstance(value, str) else None

    def record(self, key: str, digest: str, names: Sequence[str]) -> None:
        """Remember a successful sync and write the file atomically."""
        self._synced[key] = {"hash": digest, "commands": sorted(names)}
        payload = {"version": STATE_VERSION, "synced": self._synced}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sync-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, indent=2, sort_keys=True)
                fh.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


@dataclass(frozen=True)
class SyncOutcome:
    """What :func:`sync_if_changed` did (logged at start, asserted in tests)."""

    synced: bool
    scope: str
    digest: str
    commands: tuple[str, ...]


async def sync_if_changed(
    tree: app_commands.CommandTree[Any],
    *,
    application_id: int,
    guild_id: int | None,
    state: SyncState,
    force: bool = False,
) -> SyncOutcome:
    """Sync ``tree`` to ``guild_id`` (or globally) unless the same set was synced last.

    With a guild id, global commands are copied to that guild first (instant updates
    while developing); globally, Discord may take a while to propagate.
    """
    guild = discord.Object(id=guild_id) if guild_id is not None else None
    if guild is not None:
        tree.copy_global_to(guild=guild)
    payloads = command_payloads(tree, guild)
    digest = command_set_hash(payloads)
    key = scope_key(application_id, guild_id)
    names = tuple(sorted(str(p["name"]) for p in payloads))
    if not force and state.last_hash(key) == digest:
        log.info("commands unchanged (%d, %s): sync skipped", len(names), key)
        return SyncOutcome(False, key, digest, names)
    await tree.sync(guild=guild)
    state.record(key, digest, names)
    log.info("synced %d commands to %s: %s", len(names), key, ", ".join(names))
    return SyncOutcome(True, key, digest, names)

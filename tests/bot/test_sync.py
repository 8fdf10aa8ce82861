"""Command-set hashing and the sync-only-when-changed policy (bot/sync.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.sync import (
    SyncState,
    command_payloads,
    command_set_hash,
    default_state_path,
    scope_key,
    sync_if_changed,
)

APP_ID = 42


def make_tree(*names: str, describe: str = "does a thing") -> app_commands.CommandTree[Any]:
    """A real CommandTree on an offline client, with one slash command per name."""
    client = discord.Client(intents=discord.Intents.none())
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
    for name in names:

        async def cb(interaction: discord.Interaction, symbol: str) -> None: ...

        tree.add_command(app_commands.Command(name=name, description=describe, callback=cb))
    return tree


class RecordingTree:
    """Wraps a real tree and counts sync calls instead of calling Discord."""

    def __init__(self, tree: app_commands.CommandTree[Any]) -> None:
        self.tree = tree
        self.synced: list[discord.abc.Snowflake | None] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tree, name)

    async def sync(self, *, guild: discord.abc.Snowflake | None = None) -> list[Any]:
        self.synced.append(guild)
        return []


def test_hash_ignores_command_and_key_order() -> None:
    a = command_payloads(make_tree("status", "help"))
    b = command_payloads(make_tree("help", "status"))
    assert [p["name"] for p in a] != [p["name"] for p in b]
    assert command_set_hash(a) == command_set_hash(b)
    reordered = [dict(reversed(list(p.items()))) for p in a]
    assert command_set_hash(reordered) == command_set_hash(a)


def test_hash_changes_with_any_visible_change() -> None:
    base = command_set_hash(command_payloads(make_tree("help", "status")))
    assert command_set_hash(command_payloads(make_tree("help"))) != base  # removed
    assert command_set_hash(command_payloads(make_tree("help", "status", "risk"))) != base
    assert command_set_hash(
        command_payloads(make_tree("help", "status", describe="new text"))
    ) != base  # a description is part of what Discord stores


def test_payloads_are_what_tree_sync_sends() -> None:
    tree = make_tree("score")
    (payload,) = command_payloads(tree)
    assert payload["name"] == "score"
    assert payload["type"] == 1
    assert payload["options"][0]["name"] == "symbol"
    assert payload["options"][0]["required"] is True


async def test_sync_once_then_skip_until_changed(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    rec = RecordingTree(make_tree("help"))
    first = await sync_if_changed(rec, application_id=APP_ID, guild_id=None,  # type: ignore[arg-type]
                                  state=SyncState(path))
    assert first.synced and first.commands == ("help",)
    assert rec.synced == [None]

    again = await sync_if_changed(rec, application_id=APP_ID, guild_id=None,  # type: ignore[arg-type]
                                  state=SyncState(path))  # re-read from disk, like a restart
    assert not again.synced and again.digest == first.digest
    assert rec.synced == [None]

    changed = RecordingTree(make_tree("help", "status"))
    third = await sync_if_changed(changed, application_id=APP_ID, guild_id=None,  # type: ignore[arg-type]
                                  state=SyncState(path))
    assert third.synced and third.commands == ("help", "status")
    saved = json.loads(path.read_text())
    assert saved["synced"][scope_key(APP_ID, None)]["hash"] == third.digest


async def test_force_and_scopes_are_independent(tmp_path: Path) -> None:
    state = SyncState(tmp_path / "s.json")
    rec = RecordingTree(make_tree("help"))
    await sync_if_changed(rec, application_id=APP_ID, guild_id=None, state=state)  # type: ignore[arg-type]
    guild = await sync_if_changed(rec, application_id=APP_ID, guild_id=7, state=state)  # type: ignore[arg-type]
    assert guild.synced and guild.scope == "42:guild:7"
    assert [g.id if g else None for g in rec.synced] == [None, 7]
    other_app = await sync_if_changed(rec, application_id=43, guild_id=None, state=state)  # type: ignore[arg-type]
    assert other_app.synced  # another bot token/application has its own state
    forced = await sync_if_changed(rec, application_id=APP_ID, guild_id=None, state=state,  # type: ignore[arg-type]
                                   force=True)
    assert forced.synced and len(rec.synced) == 4


async def test_failed_sync_is_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "s.json"

    class Failing(RecordingTree):
        async def sync(self, *, guild: discord.abc.Snowflake | None = None) -> list[Any]:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await sync_if_changed(Failing(make_tree("help")), application_id=APP_ID,  # type: ignore[arg-type]
                              guild_id=None, state=SyncState(path))
    assert not path.exists()
    assert SyncState(path).last_hash(scope_key(APP_ID, None)) is None


@pytest.mark.parametrize("content", ["{not json", "[]", '{"synced": 3}'])
def test_corrupt_state_means_sync_once(tmp_path: Path, content: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    assert SyncState(path).last_hash(scope_key(APP_ID, None)) is None


def test_default_state_path_sits_next_to_sqlite_db(tmp_path: Path) -> None:
    assert default_state_path("sqlite+aiosqlite:///data/pulse.db", tmp_path) == (
        tmp_path / "data" / "pulse-command-sync.json"
    )
    assert default_state_path("sqlite+aiosqlite:////var/lib/pulse/p.db", tmp_path) == Path(
        "/var/lib/pulse/pulse-command-sync.json"
    )
    assert default_state_path("sqlite+aiosqlite:///:memory:", tmp_path) == (
        tmp_path / "pulse-command-sync.json"
    )
    assert default_state_path("postgresql+asyncpg://u@h/db", tmp_path) == (
        tmp_path / "pulse-command-sync.json"
    )

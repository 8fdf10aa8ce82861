"""A fake Discord (REST + gateway) on 127.0.0.1 for end-to-end tests of the real bot.

It implements what discord.py 2.7 actually calls, with Discord's payload shapes:

REST under ``/api/v10`` (``Authorization: Bot <token>`` checked, 401 otherwise)
  GET  /users/@me, /users/{id}, /oauth2/applications/@me, /gateway, /gateway/bot
  GET|PUT /applications/{app}/commands, /applications/{app}/guilds/{g}/commands
  POST /users/@me/channels (open a DM), POST /channels/{id}/messages (403 + code 50007
       for users whose DMs are closed, like Discord)
  POST /interactions/{id}/{token}/callback (no auth, 404 10062 unknown interaction,
       400 40060 already acknowledged), POST|GET|PATCH|DELETE /webhooks/{app}/{token}...
  anything else: 404 ``{"message": "404: Not Found", "code": 0}``, recorded.
Gateway at ``/gateway`` (text frames; discord.py accepts uncompressed text even when
it asked for ``compress=zlib-stream``)
  HELLO (op 10) -> IDENTIFY (op 2, token checked, close 4004 otherwise) -> READY
  (user, session_id, resume_gateway_url, application {id, flags}, guilds unavailable)
  -> GUILD_CREATE per guild; heartbeat op 1 -> op 11; RESUME -> RESUMED;
  :meth:`FakeDiscord.dispatch` pushes any event (e.g. INTERACTION_CREATE).

Every REST request is recorded (:attr:`FakeDiscord.requests`) and every gateway
frame from the client too (:attr:`FakeDiscord.gateway_frames`). Responses carry
``Content-Type: application/json`` exactly (discord.py compares the header verbatim).
A 429 (from :meth:`FakeDiscord.fail_next`) carries Discord's ``Via``, ``Retry-After`` and
``X-RateLimit-Scope`` headers: without ``Via`` discord.py reads a 429 as a Cloudflare ban
and raises instead of waiting ``retry_after`` (``cloudflare=True`` fakes exactly that).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import web

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000
# Snowflakes are minted from a fixed instant (2026-01-01) plus a counter: stable ids.
_SNOWFLAKE_BASE_MS = 1767225600000
JSON = "application/json"

# Permission bits (Discord's values).
PERM_ADMINISTRATOR = 1 << 3
PERM_MANAGE_GUILD = 1 << 5
PERM_VIEW_CHANNEL = 1 << 10
PERM_SEND_MESSAGES = 1 << 11
PERM_EMBED_LINKS = 1 << 14
PERM_ATTACH_FILES = 1 << 15
PERM_READ_HISTORY = 1 << 16
PERM_USE_APP_COMMANDS = 1 << 31
EVERYONE_PERMISSIONS = (
    PERM_VIEW_CHANNEL | PERM_SEND_MESSAGES | PERM_EMBED_LINKS | PERM_ATTACH_FILES
    | PERM_READ_HISTORY | PERM_USE_APP_COMMANDS
)

INTENT_GUILD_MEMBERS = 1 << 1

# Discord JSON error codes used here.
UNKNOWN_CHANNEL = 10003
UNKNOWN_USER = 10013
UNKNOWN_INTERACTION = 10062
CANNOT_DM_USER = 50007
ALREADY_ACKNOWLEDGED = 40060


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class FakeUser:
    """A Discord user (the bot itself, a trader, a coach)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "username": self.username, "discriminator": "0",
            "global_name": self.global_name, "avatar": None, "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 1

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "name": self.name, "permissions": str(self.permissions),
            "position": self.position, "color": 0, "hoist": False, "managed": False,
            "mentionable": False, "flags": 0, "icon": None, "unicode_emoji": None,
        }


@dataclass
class FakeMember:
    user: FakeUser
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int = 0  # 0 = guild text, 1 = DM
    position: int = 0


@dataclass
class FakeGuild:
    """One guild with its roles, text channels and members (sent in GUILD_CREATE)."""

    id: int
    name: str
    owner_id: int
    channels: list[FakeChannel] = field(default_factory=list)
    roles: list[FakeRole] = field(default_factory=list)
    members: list[FakeMember] = field(default_factory=list)

    def everyone(self) -> FakeRole:
        return FakeRole(self.id, "@everyone", EVERYONE_PERMISSIONS, position=0)

    def member(self, user_id: int) -> FakeMember | None:
        return next((m for m in self.members if m.user.id == user_id), None)

    def permissions_of(self, user_id: int) -> int:
        """Guild-level permissions: owner and Administrator get everything."""
        if user_id == self.owner_id:
            return (1 << 53) - 1
        m = self.member(user_id)
        perms = self.everyone().permissions
        for role in self.roles:
            if m is not None and role.id in m.role_ids:
                perms |= role.permissions
        return (1 << 53) - 1 if perms & PERM_ADMINISTRATOR else perms

    def member_payload(self, m: FakeMember, *, with_permissions: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "user": m.user.payload(), "roles": [str(r) for r in m.role_ids], "nick": m.nick,
            "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False,
            "flags": 0, "pending": False, "premium_since": None, "avatar": None,
            "communication_disabled_until": None,
        }
        if with_permissions:
            out["permissions"] = str(self.permissions_of(m.user.id))
        return out

    def channel_payload(self, c: FakeChannel) -> dict[str, Any]:
        return {
            "id": str(c.id), "type": c.type, "guild_id": str(self.id), "name": c.name,
            "position": c.position, "permission_overwrites": [], "nsfw": False,
            "parent_id": None, "topic": None, "last_message_id": None,
            "rate_limit_per_user": 0, "flags": 0,
        }

    def create_payload(self, intents: int = 0, bot_id: int | None = None) -> dict[str, Any]:
        """GUILD_CREATE. Like Discord, the member list holds only the bot itself unless
        the client identified with the privileged GUILD_MEMBERS intent (1 << 1)."""
        members = [
            m for m in self.members if intents & INTENT_GUILD_MEMBERS or m.user.id == bot_id
        ]
        return {
            "id": str(self.id), "name": self.name, "icon": None, "splash": None,
            "discovery_splash": None, "banner": None, "description": None,
            "owner_id": str(self.owner_id), "afk_channel_id": None, "afk_timeout": 300,
            "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0,
            "premium_tier": 0, "premium_progress_bar_enabled": False,
            "system_channel_id": None, "system_channel_flags": 0, "rules_channel_id": None,
            "public_updates_channel_id": None, "preferred_locale": "en-US",
            "features": [], "emojis": [], "stickers": [],
            "roles": [self.everyone().payload()] + [r.payload() for r in self.roles],
            "channels": [self.channel_payload(c) for c in self.channels],
            "members": [self.member_payload(m) for m in members],
            "member_count": len(self.members), "large": False, "unavailable": False,
            "joined_at": "2026-01-01T00:00:00+00:00", "threads": [], "presences": [],
            "voice_states": [], "stage_instances": [], "guild_scheduled_events": [],
            "soundboard_sounds": [], "application_id": None, "max_members": 500000,
        }


@dataclass
class RecordedRequest:
    """One REST call as the fake saw it."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    json: Any
    status: int
    response: Any = None
    files: list[str] = field(default_factory=list)
    authorized: bool = False


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any]
    times: int
    cloudflare: bool = False


@dataclass
class GatewaySession:
    ws: web.WebSocketResponse
    query: dict[str, str]
    session_id: str | None = None
    seq: int = 0
    identified: bool = False
    identify: dict[str, Any] | None = None


class FakeDiscord:
    """The fake. ``async with FakeDiscord(...) as fake:`` or ``start()``/``stop()``."""

    def __init__(
        self,
        *,
        token: str = "test-token",
        application_id: int = 1_100_000_000_000_000_001,
        bot_user: FakeUser | None = None,
        guilds: list[FakeGuild] | None = None,
        heartbeat_interval_ms: int = 41_250,
    ) -> None:
        self.token = token
        self.application_id = application_id
        self.bot_user = bot_user or FakeUser(1_100_000_000_000_000_001, "Pulse", bot=True)
        self.owner = FakeUser(1_100_000_000_000_000_002, "owner")
        self.guilds = guilds if guilds is not None else [default_guild(self.bot_user)]
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.requests: list[RecordedRequest] = []
        self.gateway_frames: list[dict[str, Any]] = []
        self.sessions: list[GatewaySession] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}  # "global" | "guild:<id>"
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.closed_dms: set[int] = set()
        self.messages: dict[int, dict[str, Any]] = {}
        self.interactions: dict[int, dict[str, Any]] = {}  # id -> payload pushed
        self.acknowledged: set[int] = set()
        self._faults: list[_Fault] = []
        self._cloudflare = False  # the fault answering the current request omits Via
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port: int = 0

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        for s in list(self.sessions):
            with contextlib.suppress(Exception):
                await s.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @contextlib.contextmanager
    def redirect_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and gateway at this fake; restore on exit."""
        old_base = discord.http.Route.BASE
        old_gw = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gw

    # ----------------------------------------------------------------- test controls

    def snowflake(self) -> int:
        return ((_SNOWFLAKE_BASE_MS - DISCORD_EPOCH_MS) << 22) | next(self._ids)

    def close_dms(self, user_id: int) -> None:
        """Make DMs to this user fail like Discord does (403, code 50007)."""
        self.closed_dms.add(user_id)

    def fail_next(
        self, method: str, path_regex: str, status: int, body: dict[str, Any], *, times: int = 1,
        cloudflare: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` and ``body``.

        A 429 gets Discord's rate-limit headers (``Via`` included) unless ``cloudflare``:
        then it has none, like Cloudflare's ban page, which discord.py does not wait out.
        """
        self._faults.append(
            _Fault(method.upper(), re.compile(path_regex), status, body, times, cloudflare)
        )

    def find(self, method: str, path_regex: str) -> list[RecordedRequest]:
        rx = re.compile(path_regex)
        return [r for r in self.requests if r.method == method.upper() and rx.fullmatch(r.path)]

    async def wait_for_request(
        self, method: str, path_regex: str, *, count: int = 1, timeout: float = 5.0
    ) -> RecordedRequest:
        """The ``count``-th matching request, waiting at most ``timeout`` seconds."""
        async def _ok() -> bool:
            return len(self.find(method, path_regex)) >= count
        await self._wait(_ok, timeout, f"{method} {path_regex} x{count}")
        return self.find(method, path_regex)[count - 1]

    async def wait_for_frame(
        self, op: int, *, count: int = 1, timeout: float = 5.0
    ) -> dict[str, Any]:
        async def _ok() -> bool:
            return sum(1 for f in self.gateway_frames if f.get("op") == op) >= count
        await self._wait(_ok, timeout, f"gateway op {op} x{count}")
        return [f for f in self.gateway_frames if f.get("op") == op][count - 1]

    async def wait_for_disconnect(self, *, timeout: float = 5.0) -> None:
        """Until no gateway client is connected (the bot closed its websocket)."""
        async def _ok() -> bool:
            return not self.sessions
        await self._wait(_ok, timeout, "all gateway clients to disconnect")

    async def _wait(self, ok: Any, timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await ok():
            left = deadline - loop.time()
            if left <= 0:
                seen = [f"{r.method} {r.path} -> {r.status}" for r in self.requests]
                raise AssertionError(f"timed out waiting for {what}; requests seen: {seen}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.2))

    def _notify(self) -> None:
        self._changed.set()

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT to every client, as Discord does now and then; the
        client is expected to reconnect and RESUME its session."""
        for s in list(self.sessions):
            if not s.ws.closed:
                await s.ws.send_str(json.dumps({"op": 7, "d": None, "s": None, "t": None}))

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Send a DISPATCH (op 0) to every identified client; returns how many got it."""
        sent = 0
        for s in list(self.sessions):
            if s.identified and not s.ws.closed:
                await self._send_dispatch(s, event, data)
                sent += 1
        return sent

    # ----------------------------------------------------------------- interactions

    def registered_command(self, name: str, guild_id: int | None = None) -> dict[str, Any]:
        scope = "global" if guild_id is None else f"guild:{guild_id}"
        for cmd in self.commands.get(scope, []):
            if cmd["name"] == name:
                return cmd
        raise KeyError(f"/{name} is not registered in {scope}: {self.command_names(scope)}")

    def command_names(self, scope: str = "global") -> list[str]:
        return sorted(c["name"] for c in self.commands.get(scope, []))

    def slash_interaction(
        self,
        name: str,
        options: list[dict[str, Any]] | None = None,
        *,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        command_guild_id: int | None = None,
        interaction_type: int = 2,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for a registered slash command.

        ``guild_id`` None means the command is used in a DM with the bot; otherwise
        the member, channel and permissions come from that fake guild.
        ``command_guild_id`` is where the command is registered (None = global).
        ``interaction_type`` 4 makes it an autocomplete request.
        """
        cmd = self.registered_command(name, command_guild_id)
        data: dict[str, Any] = {
            "id": cmd["id"], "name": name, "type": cmd.get("type", 1),
            "options": options or [],
        }
        if command_guild_id is not None:
            data["guild_id"] = str(command_guild_id)
        return self._interaction(interaction_type, data, user_id, guild_id, channel_id)

    def component_interaction(
        self, message_id: int, custom_id: str, *, user_id: int, component_type: int = 2,
        values: list[str] | None = None,
    ) -> dict[str, Any]:
        """A button (2) or select press on a message this fake recorded."""
        msg = self.messages[message_id]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        guild_id = msg.get("guild_id")
        payload = self._interaction(
            3, data, user_id, int(guild_id) if guild_id else None, int(msg["channel_id"])
        )
        payload["message"] = msg
        return payload

    def modal_submit_interaction(
        self, custom_id: str, fields: dict[str, str], *, user_id: int,
        guild_id: int | None = None, channel_id: int | None = None,
    ) -> dict[str, Any]:
        """A modal submit (type 5): ``fields`` maps text-input custom_id -> typed value.

        The components mirror the modal the bot sent (callback type 9) with this
        custom_id, like Discord does: a Label (type 18) wraps its input, an action row
        (type 1) lists it. A field the modal does not have, or a required input left
        out, is a test error (the Discord client would not allow it).
        """
        modal = self.sent_modal(custom_id)
        rows: list[dict[str, Any]] = []
        if modal is None:
            rows = [{"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
                    for k, v in fields.items()]
        else:
            known: set[str] = set()
            for comp in modal.get("components", []):
                inner = [comp["component"]] if comp.get("type") == 18 else comp.get(
                    "components", [])
                submitted = []
                for item in inner:
                    cid = item.get("custom_id")
                    if item.get("type") != 4 or cid is None:
                        continue
                    known.add(cid)
                    if cid not in fields and item.get("required", True):
                        raise ValueError(f"modal {custom_id!r}: required input {cid!r} empty")
                    submitted.append({"type": 4, "custom_id": cid, "value": fields.get(cid, "")})
                if not submitted:
                    continue
                if comp.get("type") == 18:
                    rows.append({"type": 18, "component": submitted[0]})
                else:
                    rows.append({"type": 1, "components": submitted})
            unknown = sorted(set(fields) - known)
            if unknown:
                raise ValueError(
                    f"modal {custom_id!r} has no input(s) {unknown}; has {sorted(known)}"
                )
        data = {"custom_id": custom_id, "components": rows}
        return self._interaction(5, data, user_id, guild_id, channel_id)

    def sent_modal(self, custom_id: str) -> dict[str, Any] | None:
        """The last modal (callback type 9) the bot showed with this custom_id."""
        for rec in reversed(self.requests):
            body = rec.json
            if (rec.path.endswith("/callback") and isinstance(body, dict)
                    and body.get("type") == 9
                    and (body.get("data") or {}).get("custom_id") == custom_id):
                data: dict[str, Any] = body["data"]
                return data
        return None

    def _interaction(
        self, itype: int, data: dict[str, Any], user_id: int, guild_id: int | None,
        channel_id: int | None,
    ) -> dict[str, Any]:
        iid = self.snowflake()
        payload: dict[str, Any] = {
            "id": str(iid), "application_id": str(self.application_id), "type": itype,
            "data": data, "token": "itoken-" + secrets.token_hex(8), "version": 1,
            "locale": "en-US", "entitlements": [], "attachment_size_limit": 10_485_760,
            "app_permissions": str(EVERYONE_PERMISSIONS),
        }
        if guild_id is not None:
            guild = self.guild(guild_id)
            member = guild.member(user_id)
            if member is None:
                raise KeyError(f"user {user_id} is not a member of guild {guild_id}")
            channel = next(
                (c for c in guild.channels if channel_id is None or c.id == channel_id), None
            )
            if channel is None:
                raise KeyError(f"guild {guild_id} has no channel {channel_id}")
            payload.update(
                guild_id=str(guild_id), guild_locale="en-US",
                guild={"id": str(guild_id), "locale": "en-US", "features": []},
                channel=guild.channel_payload(channel), channel_id=str(channel.id),
                member=guild.member_payload(member, with_permissions=True),
                context=0, authorizing_integration_owners={"0": str(guild_id)},
            )
        else:
            user = self.user(user_id)
            dm = self._dm_channel_id(user_id)
            payload.update(
                user=user.payload(), channel_id=str(dm), context=1,
                channel={"id": str(dm), "type": 1, "recipients": [user.payload()],
                         "last_message_id": None, "flags": 0},
                authorizing_integration_owners={"0": str(user_id)},
            )
        self.interactions[iid] = payload
        return payload

    async def push_interaction(self, payload: dict[str, Any]) -> RecordedRequest:
        """Dispatch INTERACTION_CREATE and wait for the bot's callback POST."""
        sent = await self.dispatch("INTERACTION_CREATE", payload)
        if not sent:
            raise AssertionError("no identified gateway client to receive the interaction")
        return await self.wait_for_request(
            "POST", rf"/interactions/{payload['id']}/{re.escape(payload['token'])}/callback"
        )

    # ----------------------------------------------------------------- lookups

    def guild(self, guild_id: int) -> FakeGuild:
        for g in self.guilds:
            if g.id == guild_id:
                return g
        raise KeyError(f"no fake guild {guild_id}")

    def user(self, user_id: int) -> FakeUser:
        if user_id == self.bot_user.id:
            return self.bot_user
        for g in self.guilds:
            m = g.member(user_id)
            if m is not None:
                return m.user
        raise KeyError(f"no fake user {user_id}")

    def _dm_channel_id(self, user_id: int) -> int:
        if user_id not in self.dm_channels:
            self.dm_channels[user_id] = self.snowflake()
        return self.dm_channels[user_id]

    def _channel(self, channel_id: int) -> tuple[FakeGuild | None, int | None]:
        """(guild, None) for a guild channel; (None, user id) for a DM channel."""
        for g in self.guilds:
            if any(c.id == channel_id for c in g.channels):
                return g, None
        for uid, cid in self.dm_channels.items():
            if cid == channel_id:
                return None, uid
        raise KeyError(channel_id)

    # ----------------------------------------------------------------- REST

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
        if status == 204:
            return web.Response(status=204)
        return web.Response(
            status=status, body=json.dumps(body).encode(),
            headers={"Content-Type": JSON, **(headers or {})},
        )

    @staticmethod
    def _rate_limit_headers(body: Any) -> dict[str, str]:
        """What Discord's API sends with a 429 (the ``Via`` of its Google front end)."""
        retry_after = float(body.get("retry_after", 1.0)) if isinstance(body, dict) else 1.0
        is_global = bool(body.get("global")) if isinstance(body, dict) else False
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return headers

    @staticmethod
    def _error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
        return status, {"message": message, "code": code}

    async def _read_body(self, request: web.Request) -> tuple[Any, list[str]]:
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("multipart/"):
            payload: Any = None
            files: list[str] = []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, aiohttp.BodyPartReader):
                    continue
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    files.append(part.filename or part.name or "")
                    await part.read()
            return payload, files
        raw = await request.read()
        return (json.loads(raw) if raw else None), []

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body, files = await self._read_body(request)
        authorized = request.headers.get("Authorization") == f"Bot {self.token}"
        rec = RecordedRequest(
            request.method, path, dict(request.query), body, 0, files=files,
            authorized=authorized,
        )
        self._cloudflare = False
        status, out = self._route(request.method, path, body, files, authorized)
        rec.status, rec.response = status, out
        self.requests.append(rec)
        self._notify()
        headers = self._rate_limit_headers(out) if status == 429 and not self._cloudflare else None
        return self._json(status, out, headers)

    def _route(
        self, method: str, path: str, body: Any, files: list[str], authorized: bool
    ) -> tuple[int, Any]:
        for fault in self._faults:
            if fault.times > 0 and fault.method == method and fault.pattern.fullmatch(path):
                fault.times -= 1
                self._cloudflare = fault.cloudflare
                return fault.status, fault.body
        app = self.application_id
        public = path.startswith(("/interactions/", "/webhooks/"))
        if not public and not authorized:
            return self._error(401, 0, "401: Unauthorized")
        if method == "GET" and path == "/users/@me":
            return 200, self.bot_user.payload()
        if method == "GET" and path == "/oauth2/applications/@me":
            return 200, self._app_info()
        if method == "GET" and path == "/gateway":
            return 200, {"url": self.gateway_url}
        if method == "GET" and path == "/gateway/bot":
            return 200, {
                "url": self.gateway_url, "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 999,
                                        "reset_after": 14_400_000, "max_concurrency": 1},
            }
        if (m := re.fullmatch(r"/users/(\d+)", path)) and method == "GET":
            try:
                return 200, self.user(int(m[1])).payload()
            except KeyError:
                return self._error(404, UNKNOWN_USER, "Unknown User")
        if m := re.fullmatch(rf"/applications/{app}(?:/guilds/(\d+))?/commands", path):
            scope = "global" if m[1] is None else f"guild:{m[1]}"
            if method == "PUT":
                self.commands[scope] = [self._store_command(c, m[1]) for c in body or []]
                return 200, self.commands[scope]
            if method == "GET":
                return 200, self.commands.get(scope, [])
        if method == "POST" and path == "/users/@me/channels":
            uid = int((body or {}).get("recipient_id", 0))
            try:
                user = self.user(uid)
            except KeyError:
                return self._error(400, 50035, "Invalid Form Body: recipient_id")
            return 200, {"id": str(self._dm_channel_id(uid)), "type": 1,
                         "recipients": [user.payload()], "last_message_id": None, "flags": 0}
        if (m := re.fullmatch(r"/channels/(\d+)/messages", path)) and method == "POST":
            try:
                guild, dm_user = self._channel(int(m[1]))
            except KeyError:
                return self._error(404, UNKNOWN_CHANNEL, "Unknown Channel")
            if dm_user is not None and dm_user in self.closed_dms:
                return self._error(403, CANNOT_DM_USER, "Cannot send messages to this user")
            return 200, self._store_message(int(m[1]), guild, body or {}, files)
        if m := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path):
            return self._callback(int(m[1]), m[2], body or {}, files)
        if m := re.fullmatch(rf"/webhooks/{app}/([^/]+)(?:/messages/(@original|\d+))?", path):
            return self._webhook(method, m[1], m[2], body or {}, files)
        return self._error(404, 0, "404: Not Found")

    def _app_info(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id), "name": self.bot_user.username,
            "description": "", "icon": None, "bot_public": False,
            "bot_require_code_grant": False, "owner": self.owner.payload(),
            "team": None, "verify_key": "0" * 64, "flags": 0, "summary": "",
            "interactions_endpoint_url": None, "bot": self.bot_user.payload(),
        }

    def _store_command(self, cmd: dict[str, Any], guild_id: str | None) -> dict[str, Any]:
        out = dict(cmd)
        out.update(id=str(self.snowflake()), application_id=str(self.application_id),
                   version=str(self.snowflake()))
        out.setdefault("type", 1)
        out.setdefault("default_member_permissions", None)
        if guild_id is not None:
            out["guild_id"] = guild_id
        return out

    def _store_message(
        self, channel_id: int, guild: FakeGuild | None, body: dict[str, Any], files: list[str],
        *, author: FakeUser | None = None, flags: int | None = None,
        interaction_id: int | None = None,
    ) -> dict[str, Any]:
        mid = self.snowflake()
        msg: dict[str, Any] = {
            "id": str(mid), "channel_id": str(channel_id),
            "type": 0 if interaction_id is None else 20,  # 20 = chat input command reply
            "author": (author or self.bot_user).payload(), "content": body.get("content") or "",
            "timestamp": now_iso(), "edited_timestamp": None, "tts": bool(body.get("tts")),
            "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": [
                {"id": str(self.snowflake()), "filename": f, "size": 0,
                 "url": f"https://cdn.fake/{f}", "proxy_url": f"https://media.fake/{f}"}
                for f in files
            ],
            "embeds": body.get("embeds") or [], "components": body.get("components") or [],
            "pinned": False, "flags": body.get("flags", 0) if flags is None else flags,
        }
        if guild is not None:
            msg["guild_id"] = str(guild.id)
        self.messages[mid] = msg
        return msg

    def _callback(
        self, iid: int, token: str, body: dict[str, Any], files: list[str]
    ) -> tuple[int, Any]:
        pushed = self.interactions.get(iid)
        if pushed is None or pushed["token"] != token:
            return self._error(404, UNKNOWN_INTERACTION, "Unknown interaction")
        if iid in self.acknowledged:
            return self._error(400, ALREADY_ACKNOWLEDGED,
                               "Interaction has already been acknowledged.")
        self.acknowledged.add(iid)
        rtype = int(body.get("type", 0))
        data = body.get("data") or {}
        interaction: dict[str, Any] = {"id": str(iid), "type": pushed["type"],
                                       "activity_instance_id": None}
        out: dict[str, Any] = {"interaction": interaction}
        if rtype == 7 and "message" in pushed:  # update the message the button is on
            msg = self.messages[int(pushed["message"]["id"])]
            for key in ("content", "embeds", "components"):
                if key in data:
                    empty: Any = "" if key == "content" else []
                    msg[key] = data[key] if data[key] is not None else empty
            msg["edited_timestamp"] = now_iso()
            interaction["response_message_id"] = msg["id"]
            out["resource"] = {"type": rtype, "message": msg}
        elif rtype in (4, 5):  # message, deferred message
            flags = int(data.get("flags", 0))
            interaction.update(response_message_loading=rtype == 5,
                               response_message_ephemeral=bool(flags & 64))
            channel_id = int(pushed.get("channel_id") or 0)
            guild_id = pushed.get("guild_id")
            msg = self._store_message(channel_id, self.guild(int(guild_id)) if guild_id else None,
                                      data, files, flags=flags, interaction_id=iid)
            interaction["response_message_id"] = msg["id"]
            out["resource"] = {"type": rtype, "message": msg}
        elif rtype:
            out["resource"] = {"type": rtype}
        return 200, out

    def _webhook(
        self, method: str, token: str, message: str | None, body: dict[str, Any], files: list[str]
    ) -> tuple[int, Any]:
        pushed = next((p for p in self.interactions.values() if p["token"] == token), None)
        if pushed is None:
            return self._error(404, 10015, "Unknown Webhook")
        channel_id = int(pushed.get("channel_id") or 0)
        guild_id = pushed.get("guild_id")
        guild = self.guild(int(guild_id)) if guild_id else None
        if method == "POST" and message is None:  # followup.send
            return 200, self._store_message(channel_id, guild, body, files,
                                            flags=int(body.get("flags", 0)))
        if message is None:
            return self._error(405, 0, "405: Method Not Allowed")
        mid = self._original_id(int(pushed["id"])) if message == "@original" else int(message)
        if mid is None or mid not in self.messages:
            return self._error(404, 10008, "Unknown Message")
        if method == "DELETE":
            del self.messages[mid]
            return 204, None
        if method == "PATCH":
            msg = self.messages[mid]
            for key in ("content", "embeds", "components"):
                if key in body:
                    empty: Any = "" if key == "content" else []
                    msg[key] = body[key] if body[key] is not None else empty
            msg["edited_timestamp"] = now_iso()
            return 200, msg
        return 200, self.messages[mid]

    def _original_id(self, iid: int) -> int | None:
        for rec in reversed(self.requests):
            resp = rec.response
            if (rec.path.startswith(f"/interactions/{iid}/") and isinstance(resp, dict)
                    and "resource" in resp and "message" in resp["resource"]):
                return int(resp["resource"]["message"]["id"])
        return None

    # ----------------------------------------------------------------- gateway

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        session = GatewaySession(ws, dict(request.query))
        self.sessions.append(session)
        try:
            await ws.send_str(json.dumps(
                {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                 "s": None, "t": None}))
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.gateway_frames.append(frame)
                await self._on_frame(session, frame)
                self._notify()  # after answering: a waiter sees the frame fully handled
        finally:
            self.sessions.remove(session)
            self._notify()
        return ws

    async def _on_frame(self, s: GatewaySession, frame: dict[str, Any]) -> None:
        op, d = frame.get("op"), frame.get("d")
        if op == 1:
            await s.ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
        elif op == 2:
            if not isinstance(d, dict) or d.get("token") != self.token:
                await s.ws.close(code=4004, message=b"Authentication failed.")
                return
            s.identify, s.identified = d, True
            s.session_id = secrets.token_hex(16)
            ready = {
                "v": 10, "user": self.bot_user.payload(), "session_id": s.session_id,
                "resume_gateway_url": self.gateway_url, "session_type": "normal",
                "guilds": [{"id": str(g.id), "unavailable": True} for g in self.guilds],
                "application": {"id": str(self.application_id), "flags": 0},
                "private_channels": [], "relationships": [], "presences": [],
                "geo_ordered_rtc_regions": [], "user_settings": {},
            }
            if "shard" in d:
                ready["shard"] = d["shard"]
            await self._send_dispatch(s, "READY", ready)
            intents = int(d.get("intents", 0))
            for g in self.guilds:
                await self._send_dispatch(
                    s, "GUILD_CREATE", g.create_payload(intents, self.bot_user.id)
                )
        elif op == 6:
            if isinstance(d, dict) and d.get("token") == self.token and d.get("session_id"):
                s.session_id, s.identified = d["session_id"], True
                await self._send_dispatch(s, "RESUMED", {})
            else:
                await s.ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))

    async def _send_dispatch(self, s: GatewaySession, event: str, data: dict[str, Any]) -> None:
        s.seq += 1
        await s.ws.send_str(json.dumps({"op": 0, "t": event, "s": s.seq, "d": data}))


def default_guild(bot_user: FakeUser) -> FakeGuild:
    """A small server: a trader, a trader with DMs to be closed, a coach with Manage Server."""
    gid = 1_200_000_000_000_000_001
    coach_role = FakeRole(1_200_000_000_000_000_101, "Coach", PERM_MANAGE_GUILD)
    return FakeGuild(
        id=gid,
        name="Pulse Test Desk",
        owner_id=1_100_000_000_000_000_002,
        channels=[
            FakeChannel(1_200_000_000_000_000_011, "trading", position=0),
            FakeChannel(1_200_000_000_000_000_012, "coach-room", position=1),
        ],
        roles=[coach_role],
        members=[
            FakeMember(bot_user),
            FakeMember(FakeUser(1_300_000_000_000_000_001, "ann", "Ann")),
            FakeMember(FakeUser(1_300_000_000_000_000_002, "bob", "Bob")),
            FakeMember(FakeUser(1_300_000_000_000_000_003, "cora", "Cora"), [coach_role.id]),
        ],
    )


# Ids of the default guild, for tests.
GUILD_ID = 1_200_000_000_000_000_001
TRADING_CHANNEL_ID = 1_200_000_000_000_000_011
COACH_CHANNEL_ID = 1_200_000_000_000_000_012
COACH_ROLE_ID = 1_200_000_000_000_000_101
ANN_ID = 1_300_000_000_000_000_001
BOB_ID = 1_300_000_000_000_000_002
CORA_ID = 1_300_000_000_000_000_003

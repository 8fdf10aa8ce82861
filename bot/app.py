"""The Pulse process: one discord.py bot that hosts everything else.

Start-up (``setup_hook``, after login, before the gateway connects):
  1. the startup callbacks, in order (later work: open storage + migrate, start the
     feeds, the scheduler and the outbox worker),
  2. the cogs (extension modules, ``DEFAULT_EXTENSIONS``),
  3. command sync to ``discord.dev_guild_id`` or globally, only when the command set
     changed since the last successful sync (:mod:`bot.sync`).

Shutdown (SIGTERM/SIGINT or :meth:`PulseBot.close`): the shutdown phases run in
``SHUTDOWN_PHASES`` order while Discord is still connected (so an outbox flush can
still deliver), each callback bounded by its timeout and isolated from the others'
failures; then cogs are unloaded and the gateway and HTTP session close.

The token comes from ``DISCORD_TOKEN`` only and is never logged (a logging filter
redacts it from every record, whatever library emits it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import discord
import discord.gateway
import discord.http
import yarl
from discord.ext import commands

from bot.sync import SyncOutcome, SyncState, default_state_path, sync_if_changed
from pulse.config import ConfigError, PulseConfig, Secrets, load_config

log = logging.getLogger(__name__)

#: Cogs loaded at start, in order. Later cogs (status, risk, score, journal ...) join here.
DEFAULT_EXTENSIONS: tuple[str, ...] = ("cogs.status", "cogs.risk", "cogs.analysis", "cogs.journal",
                                        "cogs.summary", "cogs.settings", "cogs.coach", "cogs.help")

#: Shutdown order. Feeds stop first (no new deals, so no new nudges), then the
#: scheduler (no new summaries), then the outbox is flushed while the gateway and
#: HTTP session are still open, then the HTTP API, then storage (everything above
#: may still write to it).
SHUTDOWN_PHASES: tuple[str, ...] = (
    "close_feeds",
    "stop_scheduler",
    "flush_outbox",
    "stop_http",
    "close_storage",
)
ShutdownPhase = Literal[
    "close_feeds", "stop_scheduler", "flush_outbox", "stop_http", "close_storage"
]

AsyncCallback = Callable[[], Awaitable[Any]]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


# --------------------------------------------------------------------------- secrets


def require_token(secrets: Secrets) -> str:
    """The Discord token, or a :class:`ConfigError` with one actionable line."""
    token = (secrets.discord_token or "").strip()
    if not token:
        raise ConfigError(
            [
                "DISCORD_TOKEN is not set: export the bot token from the Discord developer "
                "portal (Bot > Reset Token) as DISCORD_TOKEN; it is never read from config.yaml"
            ],
            source="environment",
        )
    return token


class RedactFilter(logging.Filter):
    """Replace every occurrence of the given secrets in log records with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[REDACTED]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True


def install_redaction(secrets: Iterable[str], logger: logging.Logger | None = None) -> RedactFilter:
    """Attach a :class:`RedactFilter` to every handler of ``logger`` (default: root)."""
    flt = RedactFilter(secrets)
    for handler in (logger or logging.getLogger()).handlers:
        handler.addFilter(flt)
    return flt


# --------------------------------------------------------------------------- endpoints

#: Environment overrides of Discord's endpoints: for a REST rate-limit proxy in front of
#: Discord, and for running the real process against tests' fake Discord.
API_BASE_ENV = "PULSE_DISCORD_API_BASE"
GATEWAY_ENV = "PULSE_DISCORD_GATEWAY"


def apply_endpoint_overrides(env: Mapping[str, str]) -> list[str]:
    """Point discord.py at other REST/gateway endpoints when the env says so.

    Returns what was changed (for the start-up log). Bad URLs raise ConfigError.
    """
    changed: list[str] = []
    problems: list[str] = []
    api = env.get(API_BASE_ENV, "").strip().rstrip("/")
    gateway = env.get(GATEWAY_ENV, "").strip()
    if api and not api.startswith(("http://", "https://")):
        problems.append(f"{API_BASE_ENV}: must be an http(s) URL like "
                        f"https://discord.com/api/v10, got {api!r}")
    if gateway and not gateway.startswith(("ws://", "wss://")):
        problems.append(f"{GATEWAY_ENV}: must be a ws(s) URL like "
                        f"wss://gateway.discord.gg/, got {gateway!r}")
    if problems:  # validate both before changing either
        raise ConfigError(problems, source="environment")
    if api:
        discord.http.Route.BASE = api
        changed.append(f"REST {api}")
    if gateway:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
        changed.append(f"gateway {gateway}")
    return changed


# --------------------------------------------------------------------------- shutdown


@dataclass(frozen=True)
class CallbackResult:
    """How one lifecycle callback ended: ``ok``, ``error`` or ``timeout``."""

    phase: str
    name: str
    outcome: Literal["ok", "error", "timeout"]
    detail: str = ""


@dataclass
class _Callback:
    name: str
    func: AsyncCallback
    timeout: float


@dataclass
class ShutdownSequence:
    """Ordered async callbacks, grouped in phases, each awaited once at shutdown.

    Callbacks of a phase run in registration order; phases run in ``phases`` order. A
    callback that raises or overruns its timeout is logged and recorded, and the
    sequence goes on: one stuck feed must not keep the outbox from flushing.
    """

    phases: tuple[str, ...] = SHUTDOWN_PHASES
    _callbacks: dict[str, list[_Callback]] = field(default_factory=dict)
    results: list[CallbackResult] = field(default_factory=list)

    def add(self, phase: str, name: str, func: AsyncCallback, *, timeout: float = 10.0) -> None:
        if phase not in self.phases:
            raise ValueError(f"unknown shutdown phase {phase!r}; use one of {list(self.phases)}")
        if timeout <= 0:
            raise ValueError("timeout must be > 0 seconds")
        self._callbacks.setdefault(phase, []).append(_Callback(name, func, timeout))

    def names(self, phase: str) -> list[str]:
        return [c.name for c in self._callbacks.get(phase, [])]

    async def run_phase(self, phase: str) -> list[CallbackResult]:
        """Await the callbacks of one phase, in order, and return how each ended."""
        out: list[CallbackResult] = []
        for cb in self._callbacks.get(phase, []):
            try:
                await asyncio.wait_for(cb.func(), timeout=cb.timeout)
            except TimeoutError:
                log.error("shutdown %s/%s: still running after %.1fs, abandoned",
                          phase, cb.name, cb.timeout)
                res = CallbackResult(phase, cb.name, "timeout", f"after {cb.timeout:g}s")
            except Exception as exc:
                log.exception("shutdown %s/%s failed", phase, cb.name)
                res = CallbackResult(phase, cb.name, "error", f"{type(exc).__name__}: {exc}")
            else:
                res = CallbackResult(phase, cb.name, "ok")
            out.append(res)
            self.results.append(res)
        return out

    async def run(self) -> list[CallbackResult]:
        """Every phase in order."""
        out: list[CallbackResult] = []
        for phase in self.phases:
            out.extend(await self.run_phase(phase))
        return out


# --------------------------------------------------------------------------- the bot


class PulseBot(commands.Bot):
    """The Pulse Discord process: config, cogs, command sync and an orderly shutdown.

    ``options`` are passed to :class:`discord.ext.commands.Bot` (tests use
    ``guild_ready_timeout`` to make READY fast).
    """

    def __init__(
        self,
        config: PulseConfig,
        *,
        extensions: Sequence[str] = DEFAULT_EXTENSIONS,
        sync_state_path: Path | None = None,
        force_sync: bool = False,
        **options: Any,
    ) -> None:
        intents = options.pop("intents", None) or discord.Intents.default()
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            **options,
        )
        self.config = config
        self.extension_names: tuple[str, ...] = tuple(extensions)
        self.sync_state_path = (
            sync_state_path
            if sync_state_path is not None
            else default_state_path(config.storage.url)
        )
        self.force_sync = force_sync
        self.sync_outcome: SyncOutcome | None = None
        self.startup: list[tuple[str, AsyncCallback]] = []
        self.shutdown = ShutdownSequence()
        self._close_task: asyncio.Task[None] | None = None
        self._skip_shutdown = asyncio.Event()

    # -- lifecycle hooks later work fills

    def on_startup(self, name: str, func: AsyncCallback) -> None:
        """Run ``func`` in ``setup_hook`` (in registration order) before the cogs load."""
        self.startup.append((name, func))

    def on_shutdown(
        self, phase: ShutdownPhase, name: str, func: AsyncCallback, *, timeout: float = 10.0
    ) -> None:
        """Await ``func`` during shutdown, in phase ``phase`` (see ``SHUTDOWN_PHASES``)."""
        self.shutdown.add(phase, name, func, timeout=timeout)

    async def close_feeds(self) -> list[CallbackResult]:
        """Stop every feed registered under ``close_feeds`` (no new deals after this)."""
        return await self.shutdown.run_phase("close_feeds")

    async def flush_outbox(self) -> list[CallbackResult]:
        """Deliver what the outbox still holds (callbacks under ``flush_outbox``)."""
        return await self.shutdown.run_phase("flush_outbox")

    # -- discord.py hooks

    async def setup_hook(self) -> None:
        for name, func in self.startup:
            log.info("startup: %s", name)
            await func()
        for ext in self.extension_names:
            await self.load_extension(ext)
        await self.sync_commands()

    async def sync_commands(self) -> SyncOutcome | None:
        """Sync the command tree if it changed; a failed sync is logged, not fatal.

        A bot that crash-loops on a sync error would only hit Discord's rate limit
        harder; the old commands keep working and the next start retries.
        """
        if self.application_id is None:
            raise RuntimeError("sync_commands needs the application id (call after login)")
        try:
            self.sync_outcome = await sync_if_changed(
                self.tree,
                application_id=self.application_id,
                guild_id=self.config.discord.dev_guild_id,
                state=SyncState(self.sync_state_path),
                force=self.force_sync,
            )
        except discord.HTTPException as exc:
            log.error("command sync failed (%s %s): %s; keeping the commands Discord has",
                      exc.status, exc.code, exc.text)
            self.sync_outcome = None
        return self.sync_outcome

    async def on_ready(self) -> None:
        user = self.user
        log.info("connected as %s (id %s) to %d guild(s)",
                 user, user.id if user else "?", len(self.guilds))

    async def close(self) -> None:
        """Run the shutdown phases once (still connected), then close discord.py."""
        if self._close_task is None:
            self._close_task = asyncio.create_task(self._shutdown_and_close())
        await asyncio.shield(self._close_task)

    async def _shutdown_and_close(self) -> None:
        log.info("shutting down")
        hooks = asyncio.create_task(self.shutdown.run())
        skip = asyncio.create_task(self._skip_shutdown.wait())
        try:
            await asyncio.wait({hooks, skip}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            skip.cancel()
        if not hooks.done():
            log.warning("shutdown callbacks abandoned; closing the Discord connection now")
            hooks.cancel()
            await asyncio.gather(hooks, return_exceptions=True)
        await super().close()

    def request_shutdown(self, signame: str = "request") -> None:
        """Signal-handler entry point: schedule :meth:`close`.

        A second signal while the shutdown callbacks still run abandons them and
        closes at once (the usual "press Ctrl+C again" escape hatch).
        """
        if self._close_task is None:
            log.info("received %s, shutting down", signame)
            self._close_task = asyncio.get_running_loop().create_task(self._shutdown_and_close())
        elif not self._close_task.done():
            log.warning("received %s again, skipping the remaining shutdown steps", signame)
            self._skip_shutdown.set()


# --------------------------------------------------------------------------- running


async def serve(
    bot: PulseBot,
    token: str,
    *,
    signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
) -> None:
    """Run ``bot`` until it closes; SIGTERM/SIGINT trigger the orderly shutdown.

    Signal handlers are removed again on return (restoring the defaults), so this can
    run inside a test's event loop.
    """
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in signals:
        try:
            loop.add_signal_handler(sig, bot.request_shutdown, sig.name)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, non-main thread
            log.warning("cannot install a %s handler here; use Ctrl+C / close()", sig.name)
        else:
            installed.append(sig)
    try:
        async with bot:
            await bot.start(token)
        if bot._close_task is not None:
            await bot._close_task
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def run(
    config_path: Path | None,
    *,
    force_sync: bool = False,
    env: Mapping[str, str] | None = None,
) -> int:
    """``pulse run``: load config and token, configure logging, serve until stopped.

    Config and token problems raise :class:`ConfigError` (the CLI prints one line
    per problem and exits 2); a rejected token also exits 2; a connection failure
    exits 1 with one line.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    config = load_config(config_path)
    secrets = Secrets.from_env(environ)
    token = require_token(secrets)
    from bot.wiring import PulseProcess, build_feeds  # late: pulls in pandas, the kernel

    feeds = build_feeds(config, secrets)  # a bad trader feed: ConfigError, before any I/O
    endpoints = apply_endpoint_overrides(environ)
    discord.utils.setup_logging(level=getattr(logging, config.system.log_level))
    install_redaction([token, secrets.mt5_password or "", secrets.api_token or ""])
    for endpoint in endpoints:
        log.info("Discord endpoint override: %s", endpoint)
    bot = PulseBot(config, force_sync=force_sync)
    # storage, service + feeds, outbox, scheduler and HTTP start in setup_hook
    PulseProcess(bot, feeds=feeds, api_token=secrets.api_token).install()
    try:
        asyncio.run(serve(bot, token))
    except discord.LoginFailure:
        print("environment: DISCORD_TOKEN was rejected by Discord (401); reset the bot token "
              "in the developer portal and export it again", file=sys.stderr)
        return EXIT_BAD_INPUT
    except discord.PrivilegedIntentsRequired:
        print("discord: a privileged intent is not enabled for this bot; enable it under "
              "Bot > Privileged Gateway Intents", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (discord.DiscordException, OSError) as exc:
        text = str(exc).replace(token, "[REDACTED]")
        print(f"discord: cannot run the bot: {type(exc).__name__}: {text}", file=sys.stderr)
        return EXIT_FAILURE
    except ConfigError:
        raise  # the CLI prints one line per problem and exits 2
    except Exception as exc:
        log.exception("the bot stopped on an unexpected error")
        text = str(exc).replace(token, "[REDACTED]")
        print(f"pulse run: stopped on {type(exc).__name__}: {text}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK

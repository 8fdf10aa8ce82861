"""``pulse import FILE --trader ID``: load a statement or a journal export into storage.

Formats (detected from the content, or ``--format``): MT5's trade history report saved
as HTML, a generic deals CSV (columns in docs/journal.md), and the journal's own CSV
export. Deals are stored idempotently (unique per account and ticket), then the
account's trades are rebuilt through :func:`pulse.trades.reconstruct_trades` and only
the trades that changed are written; importing the same file twice changes nothing.
A file with any malformed row is refused whole, with one line per row and column.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.commands._journal_common import (
    EXIT_BAD_INPUT,
    BadInput,
    add_db_args,
    positive_int,
    run_db,
)
from bot.commands.config_cmd import config_of
from pulse.config import PulseConfig
from pulse.journal.importers import ParsedStatement, StatementError, apply_stops, detect_format
from pulse.journal.importers.deals_csv import parse_deals_csv
from pulse.journal.importers.journal_csv import new_entries, parse_journal_csv
from pulse.journal.importers.mt5_html import parse_mt5_html
from pulse.models import JournalEntry
from pulse.trades import reconstruct_trades
from storage.repo_deals import insert_deals, load_deals, load_trades, upsert_trades
from storage.repo_journal import add_journal_entry, list_journal_entries
from storage.repo_traders import account_by_login, ensure_account

PROG = "pulse import"
FORMATS = ("auto", "mt5_html", "deals_csv", "journal_csv")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import",
        help="import an MT5 HTML report, a deals CSV or a journal CSV export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", type=Path)
    p.add_argument("--trader", type=positive_int, required=True, help="Discord user id")
    p.add_argument("--account", type=positive_int, default=None, help="MT5 login")
    p.add_argument("--server", default="", help="MT5 server name of the account")
    p.add_argument("--format", choices=FORMATS, default="auto")
    tz = p.add_mutually_exclusive_group()
    tz.add_argument(
        "--server-utc-offset",
        type=float,
        default=None,
        help="hours the report's times are ahead of UTC (e.g. 2 or 3)",
    )
    tz.add_argument(
        "--server-timezone", default=None, help="IANA zone of the report's times (DST-aware)"
    )
    add_db_args(p)
    p.set_defaults(func=run_import)


def _server_tz(args: argparse.Namespace, cfg: PulseConfig) -> tuple[tzinfo, str]:
    if args.server_timezone:
        try:
            return ZoneInfo(args.server_timezone), args.server_timezone
        except (ZoneInfoNotFoundError, ValueError):
            raise BadInput(
                [f"--server-timezone: unknown zone {args.server_timezone!r} (e.g. Europe/Athens)"]
            ) from None
    hours = args.server_utc_offset
    if hours is None:
        hours = cfg.feeds.mt5.server_utc_offset_hours
    if hours is None:
        return UTC, "UTC (assumed: pass --server-utc-offset if the broker's clock differs)"
    if not -12 <= hours <= 14:
        raise BadInput([f"--server-utc-offset: must be between -12 and 14, got {hours:g}"])
    return timezone(timedelta(hours=hours)), f"UTC{hours:+g}"


def _parse(kind: str, data: bytes, tz: tzinfo) -> ParsedStatement:
    if kind == "mt5_html":
        return parse_mt5_html(data, tz)
    return parse_deals_csv(data, tz)


def run_import(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        print(f"{PROG}: file not found: {path}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:
        print(f"{PROG}: cannot read {path}: {e.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not data.strip():
        print(f"{PROG}: {path} is empty", file=sys.stderr)
        return EXIT_BAD_INPUT
    cfg = config_of(args)
    kind = detect_format(data) if args.format == "auto" else args.format
    if kind == "xlsx":
        print(
            f"{PROG}: {path} is an Excel (Open XML) file; in MT5 save the report as HTML "
            "(History tab -> right click -> Report -> HTML) and import that",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    trader_id: int = args.trader
    try:
        if kind == "journal_csv":
            entries = parse_journal_csv(data, trader_id)
            code, _ = run_db(PROG, args, cfg, lambda e: _store_entries(e, trader_id, entries, path))
            return code
        try:
            tz, tz_label = _server_tz(args, cfg)
        except BadInput as e:
            for p in e.problems:
                print(f"{PROG}: {p}", file=sys.stderr)
            return EXIT_BAD_INPUT
        st = _parse(kind, data, tz)
    except StatementError as e:
        for p in e.problems:
            print(f"{PROG}: {path}: {p}", file=sys.stderr)
        print(
            f"{PROG}: {path}: nothing imported (fix the rows above and import again)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    login = _login(args, cfg, st, trader_id)
    if isinstance(login, list):
        for p in login:
            print(f"{PROG}: {p}", file=sys.stderr)
        return EXIT_BAD_INPUT
    code, _ = run_db(
        PROG, args, cfg, lambda e: _store_deals(e, args, st, login, kind, tz_label, path)
    )
    return code


def _login(
    args: argparse.Namespace, cfg: PulseConfig, st: ParsedStatement, trader_id: int
) -> int | list[str]:
    if args.account is not None:
        if st.account_login is not None and st.account_login != args.account:
            return [
                f"--account {args.account}: the report is of account {st.account_login}; "
                "pass the report's account (or omit --account)"
            ]
        return int(args.account)
    if st.account_login is not None:
        return st.account_login
    tc = cfg.trader(trader_id)
    if tc is not None and tc.account_login is not None:
        return tc.account_login
    return ["--account: this file does not name its account; pass --account LOGIN"]


async def _store_deals(
    engine: AsyncEngine,
    args: argparse.Namespace,
    st: ParsedStatement,
    login: int,
    kind: str,
    tz_label: str,
    path: Path,
) -> None:
    trader_id: int = args.trader
    now = datetime.now(UTC)
    existing = await account_by_login(engine, login, args.server)
    if existing is not None and existing.trader_id not in (None, trader_id):
        raise BadInput(
            [f"account {login}: linked to another trader; it cannot be imported as {trader_id}"]
        )
    account = await ensure_account(
        engine,
        login,
        at=now,
        server=args.server,
        trader_id=trader_id,
        currency=st.currency or "USD",
    )
    async with engine.begin() as conn:
        new = await insert_deals(conn, account.id, st.deals)
        stored = {t.trade_id: t for t in await load_trades(conn, account.id)}
        all_deals = await load_deals(conn, account.id)
        rebuilt = []
        for t in apply_stops(reconstruct_trades(all_deals), st.stops):
            old = stored.get(t.trade_id)
            if old is not None and t.stop_loss is None and old.stop_loss is not None:
                t = t.model_copy(update={"stop_loss": old.stop_loss})
            if old != t:
                rebuilt.append(t)
        await upsert_trades(conn, account.id, rebuilt)
    trade_deals = sum(1 for d in st.deals if d.is_trade)
    print(
        f"{path.name}: {kind}, account {login}, times read as {tz_label}: "
        f"{len(st.deals)} deals ({trade_deals} trade, {len(st.deals) - trade_deals} cash), "
        f"{len(new)} new, {len(st.deals) - len(new)} already stored; "
        f"{len(rebuilt)} trades written, {len(st.stops)} stops known"
    )
    for w in st.warnings:
        print(f"{PROG}: warning: {w}", file=sys.stderr)


async def _store_entries(
    engine: AsyncEngine, trader_id: int, entries: list[JournalEntry], path: Path
) -> None:
    existing = await list_journal_entries(engine, trader_id)
    fresh = new_entries(entries, existing)
    async with engine.begin() as conn:
        for e in fresh:
            await add_journal_entry(conn, e)
    print(
        f"{path.name}: journal_csv: {len(entries)} entries, {len(fresh)} new, "
        f"{len(entries) - len(fresh)} already in the journal"
    )

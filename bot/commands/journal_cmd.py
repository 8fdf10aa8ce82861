"""``pulse journal export|stats|list|delete --trader ID``: a trader's own journal.

Every action is scoped to ``--trader``: only that trader's entries and trades (through
the accounts linked to them) are read, edited or deleted.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.commands._journal_common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    BadInput,
    add_db_args,
    positive_int,
    run_db,
)
from bot.commands.config_cmd import config_of
from bot.journal_ops import (
    StatsQuery,
    entry_line,
    export_journal,
    journal_stats,
    recent_entries,
    summary_for,
)
from pulse.journal.entries import (
    EDITABLE_FIELDS,
    JournalInputError,
    edit_entry,
    parse_bool,
    parse_confidence,
    parse_driver,
)
from pulse.journal.summary import DailySummary, WeeklySummary
from pulse.models import Driver, JournalEntry, Side
from storage.journal_queries import delete_own_entry, get_own_entry
from storage.repo_journal import update_journal_entry

PROG = "pulse journal"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FLAGS = ("revenge", "overconfidence", "fatigue", "overtrading", "tilt")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("journal", help="a trader's journal: export, stats, list, delete")
    jsub = p.add_subparsers(dest="journal_command", metavar="ACTION")
    jsub.required = True

    exp = jsub.add_parser("export", help="export entries (csv) or entries and trades (json)")
    exp.add_argument("--trader", type=positive_int, required=True)
    exp.add_argument("--format", choices=("csv", "json"), default="csv")
    exp.add_argument("--output", type=Path, default=None, help="file (default: stdout)")
    add_db_args(exp)
    exp.set_defaults(func=run_export)

    st = jsub.add_parser("stats", help="statistics and insights over a period, filterable")
    st.add_argument("--trader", type=positive_int, required=True)
    st.add_argument("--since", type=_date, default=None, help="YYYY-MM-DD (trader's local)")
    st.add_argument("--until", type=_date, default=None, help="YYYY-MM-DD, exclusive")
    st.add_argument("--symbol", default=None)
    st.add_argument("--setup", default=None, help="setup tag")
    st.add_argument("--side", choices=("buy", "sell"), default=None)
    st.add_argument("--hour", type=_hour, default=None, help="entry hour 0-23 (local)")
    st.add_argument("--weekday", choices=_DAYS, default=None)
    st.add_argument("--driver", choices=("strategy", "emotion"), default=None)
    st.add_argument("--flag", choices=_FLAGS, default=None, help="behaviour flag")
    st.add_argument("--balance", type=float, default=None, help="start balance for percents")
    st.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_db_args(st)
    st.set_defaults(func=run_stats)

    ls = jsub.add_parser("list", help="list entries")
    ls.add_argument("--trader", type=positive_int, required=True)
    ls.add_argument("--limit", type=positive_int, default=50)
    add_db_args(ls)
    ls.set_defaults(func=run_list)

    ed = jsub.add_parser("edit", help="change fields of one of your entries")
    ed.add_argument("--trader", type=positive_int, required=True)
    ed.add_argument("--id", type=positive_int, required=True, dest="entry_id")
    ed.add_argument(
        "--set",
        action="append",
        required=True,
        metavar="FIELD=VALUE",
        help=f"repeatable; FIELD one of {', '.join(sorted(EDITABLE_FIELDS))}; empty VALUE clears",
    )
    add_db_args(ed)
    ed.set_defaults(func=run_edit)

    sm = jsub.add_parser("summary", help="daily or weekly summary (text, optional chart PNG)")
    sm.add_argument("--trader", type=positive_int, required=True)
    which = sm.add_mutually_exclusive_group(required=True)
    which.add_argument("--day", type=_date, help="YYYY-MM-DD (trader's local trading day)")
    which.add_argument("--week", type=_date, help="any date in the week, YYYY-MM-DD")
    sm.add_argument("--chart", type=Path, default=None, help="write the chart PNG here")
    sm.add_argument("--json", action="store_true", help="print the structured summary")
    add_db_args(sm)
    sm.set_defaults(func=run_summary)

    rm = jsub.add_parser("delete", help="delete one of your entries")
    rm.add_argument("--trader", type=positive_int, required=True)
    rm.add_argument("--id", type=positive_int, required=True, dest="entry_id")
    add_db_args(rm)
    rm.set_defaults(func=run_delete)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, got {text!r}") from None


def _hour(text: str) -> int:
    try:
        h = int(text)
    except ValueError:
        h = -1
    if not 0 <= h <= 23:
        raise argparse.ArgumentTypeError(f"must be an hour 0-23, got {text!r}")
    return h


def run_export(args: argparse.Namespace) -> int:
    cfg = config_of(args)
    trader_id: int = args.trader

    async def work(engine: AsyncEngine) -> str:
        return await export_journal(engine, trader_id, args.format)

    code, text = run_db(PROG, args, cfg, work)
    if code != EXIT_OK or text is None:
        return code
    if args.output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        try:
            args.output.write_text(text, encoding="utf-8", newline="")
        except OSError as e:
            print(f"{PROG}: cannot write {args.output}: {e.strerror}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"wrote {args.output}")
    return EXIT_OK


def run_stats(args: argparse.Namespace) -> int:
    cfg = config_of(args)
    query = StatsQuery(
        since=args.since,
        until=args.until,
        symbol=args.symbol,
        setup=args.setup,
        side=Side(args.side) if args.side else None,
        hour=args.hour,
        weekday=_DAYS.index(args.weekday) if args.weekday else None,
        flag=args.flag,
        driver=Driver(args.driver) if args.driver else None,
        balance=args.balance,
    )

    async def work(engine: AsyncEngine) -> str:
        try:
            report = await journal_stats(engine, cfg, args.trader, query)
        except JournalInputError as e:
            raise BadInput([f"--{p}" for p in e.problems]) from None
        if args.json:
            return json.dumps(report.to_dict(), indent=2)
        return "\n".join(report.lines())

    code, out = run_db(PROG, args, cfg, work)
    if out is not None:
        print(out)
    return code


def run_list(args: argparse.Namespace) -> int:
    cfg = config_of(args)
    trader_id: int = args.trader

    async def work(engine: AsyncEngine) -> str:
        tz, shown = await recent_entries(engine, cfg, trader_id, limit=args.limit)
        lines = [entry_line(e, tz) for e in shown]
        return "\n".join(lines) if lines else f"trader {trader_id}: no journal entries"

    code, out = run_db(PROG, args, cfg, work)
    if out is not None:
        print(out)
    return code


def run_delete(args: argparse.Namespace) -> int:
    cfg = config_of(args)

    async def work(engine: AsyncEngine) -> bool:
        return await delete_own_entry(engine, args.trader, args.entry_id)

    code, deleted = run_db(PROG, args, cfg, work)
    if code != EXIT_OK:
        return code
    if not deleted:
        print(f"{PROG}: no entry #{args.entry_id} in your journal", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"deleted entry #{args.entry_id}")
    return EXIT_OK


def _edit_value(field: str, raw: str) -> object:
    if raw == "":
        return None
    if field == "confidence":
        return parse_confidence(raw)
    if field == "driver":
        return parse_driver(raw)
    if field in ("calendar_checked", "would_take_again"):
        return parse_bool(raw, field)
    if field == "side":
        if raw.casefold() not in ("buy", "sell"):
            raise JournalInputError([f"side: must be buy or sell, got {raw!r}"])
        return Side(raw.casefold())
    return raw


def run_edit(args: argparse.Namespace) -> int:
    cfg = config_of(args)
    changes: dict[str, object] = {}
    problems: list[str] = []
    for item in args.set:
        field, sep, raw = item.partition("=")
        field = field.strip()
        if not sep:
            problems.append(f"--set {item!r}: expected FIELD=VALUE")
            continue
        if field not in EDITABLE_FIELDS:
            problems.append(
                f"--set {field}: not editable (editable: {', '.join(sorted(EDITABLE_FIELDS))})"
            )
            continue
        try:
            changes[field] = _edit_value(field, raw.strip())
        except JournalInputError as e:
            problems.extend(f"--set {p}" for p in e.problems)
    if problems:
        for p in problems:
            print(f"{PROG}: {p}", file=sys.stderr)
        return EXIT_BAD_INPUT

    async def work(engine: AsyncEngine) -> JournalEntry:
        entry = await get_own_entry(engine, args.trader, args.entry_id)
        if entry is None:
            raise BadInput([f"no entry #{args.entry_id} in your journal"])
        try:
            edited = edit_entry(entry, args.trader, changes)
        except JournalInputError as e:
            raise BadInput(e.problems) from None
        await update_journal_entry(engine, edited)
        return edited

    code, edited = run_db(PROG, args, cfg, work)
    if edited is not None:
        print(f"updated entry #{edited.id}: " + ", ".join(f"{k}={v}" for k, v in changes.items()))
    return code


def run_summary(args: argparse.Namespace) -> int:
    cfg = config_of(args)
    day: date = args.day or args.week

    async def work(engine: AsyncEngine) -> DailySummary | WeeklySummary:
        return await summary_for(engine, cfg, args.trader, "day" if args.day else "week", day=day)

    code, summary = run_db(PROG, args, cfg, work)
    if summary is None:
        return code
    if args.json:
        print(json.dumps(_summary_json(summary), indent=2, default=str))
    else:
        print(summary.text)
    if args.chart is not None:
        from bot.charts.summary_chart import render_summary_chart

        try:
            args.chart.write_bytes(render_summary_chart(summary.chart))
        except OSError as e:
            print(f"{PROG}: cannot write {args.chart}: {e.strerror}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"chart: {args.chart}")
    return code


def _summary_json(s: DailySummary | WeeklySummary) -> dict[str, object]:
    out: dict[str, object] = {"text": s.text, "start": s.start, "end": s.end}
    out["stats"] = s.stats.to_dict()
    if isinstance(s, DailySummary):
        out.update(score=s.score, deductions=s.deductions, rule_hits=s.rule_hits)
    else:
        out["days"] = [
            {
                "day": d.day,
                "weekday": d.weekday,
                "trades": d.trades,
                "net_pnl": d.net_pnl,
                "net_pnl_pct": d.net_pnl_pct,
            }
            for d in s.days
        ]
        out["weakness"] = s.weakness.short if s.weakness else None
        out["strength"] = s.strength.short if s.strength else None
    return out

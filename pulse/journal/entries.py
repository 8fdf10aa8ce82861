"""Journal entries: the prompts, building entries from answers, ownership and edits.

A trader lists, edits and deletes only their own entries: every function that acts on
an entry takes the *acting* trader id and raises :class:`JournalAccessError` for anyone
else's. Storage enforces the same rule in its queries (``WHERE trader_id = ?``); this
module is the single place the rule is stated for the pure layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from pulse.models import Driver, JournalEntry, JournalKind, Nudge, Side, Trade, Verdict

__all__ = [
    "EDITABLE_FIELDS",
    "POST_TRADE_QUESTIONS",
    "PRE_TRADE_QUESTIONS",
    "JournalAccessError",
    "JournalInputError",
    "Question",
    "edit_entry",
    "new_note",
    "new_override",
    "new_post_trade",
    "new_pre_trade",
    "own_entries",
    "parse_bool",
    "parse_confidence",
    "parse_driver",
    "post_trade_nudge",
    "require_owner",
]


class JournalAccessError(PermissionError):
    """The acting trader is not the entry's owner (the message never reveals its content)."""


class JournalInputError(ValueError):
    """An answer that cannot be used; ``problems`` has one line per field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Question:
    """One prompt question: the field it fills, the text shown, and the accepted answers."""

    field: str
    text: str
    hint: str


PRE_TRADE_QUESTIONS: tuple[Question, ...] = (
    Question("confidence", "How confident are you in this trade?", "1-10"),
    Question("driver", "Is this trade driven by your strategy or by emotion?", "strategy/emotion"),
    Question("calendar_checked", "Did you check the economic calendar?", "yes/no"),
    Question("setup_tag", "Which setup is this?", "a short tag, e.g. london-breakout"),
    Question("text", "Anything else about this entry?", "free text (optional)"),
)

POST_TRADE_QUESTIONS: tuple[Question, ...] = (
    Question("what_worked", "What worked, and what didn't?", "free text"),
    Question("emotional_factors", "What were you feeling during the trade?", "free text"),
    Question("would_take_again", "Would you take this trade again?", "yes/no"),
)

EDITABLE_FIELDS = frozenset(
    {
        "text",
        "confidence",
        "driver",
        "calendar_checked",
        "setup_tag",
        "symbol",
        "side",
        "what_worked",
        "emotional_factors",
        "would_take_again",
        "trade_id",
    }
)
"""What an owner may change; ``id``, ``trader_id``, ``kind`` and ``at`` are history."""

_YES = {"y", "yes", "true", "1", "ano", "ja", "oui", "si"}
_NO = {"n", "no", "false", "0", "ne", "nein", "non"}


def parse_confidence(value: Any) -> int:
    """``7``, ``"7"`` or ``"7/10"`` -> 7; anything outside 1-10 is refused."""
    text = str(value).strip().removesuffix("/10").strip()
    try:
        n = int(text)
    except ValueError:
        problem = f"confidence: must be a whole number 1-10, got {value!r}"
        raise JournalInputError([problem]) from None
    if not 1 <= n <= 10:
        raise JournalInputError([f"confidence: must be between 1 and 10, got {n}"])
    return n


def parse_driver(value: Any) -> Driver:
    """``strategy``/``emotion`` (or ``s``/``e``, any case)."""
    text = str(value).strip().casefold()
    for d in Driver:
        if text in (d.value, d.value[0]):
            return d
    raise JournalInputError([f"driver: must be strategy or emotion, got {value!r}"])


def parse_bool(value: Any, field: str) -> bool:
    """yes/no answers (a few languages), true/false, 1/0."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise JournalInputError([f"{field}: must be yes or no, got {value!r}"])


def _tag(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text[:64] or None


def _build(**kw: Any) -> JournalEntry:
    try:
        return JournalEntry(**kw)
    except ValidationError as exc:
        raise JournalInputError(
            [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        ) from None


def new_pre_trade(
    trader_id: int,
    at: datetime,
    answers: Mapping[str, Any],
    *,
    verdict_id: int | None = None,
    verdict: Verdict | None = None,
) -> JournalEntry:
    """A pre-trade entry from the prompt's answers, linked to the verdict it preceded.

    ``answers`` keys are the :data:`PRE_TRADE_QUESTIONS` fields (plus optional ``symbol``
    and ``side``, taken from the verdict's request when absent). Every bad answer is
    reported at once.
    """
    problems: list[str] = []
    kw: dict[str, Any] = {"trader_id": trader_id, "kind": JournalKind.PRE_TRADE, "at": at}
    parsers = {
        "confidence": parse_confidence,
        "driver": parse_driver,
        "calendar_checked": lambda v: parse_bool(v, "calendar_checked"),
    }
    for key, parse in parsers.items():
        if answers.get(key) not in (None, ""):
            try:
                kw[key] = parse(answers[key])
            except JournalInputError as exc:
                problems.extend(exc.problems)
    if problems:
        raise JournalInputError(problems)
    kw["setup_tag"] = _tag(answers.get("setup_tag"))
    kw["text"] = str(answers.get("text") or "")
    req = verdict.request if verdict else None
    kw["symbol"] = answers.get("symbol") or (req.symbol if req else None)
    side = answers.get("side") or (req.side if req else None)
    kw["side"] = Side(side) if side else None
    kw["verdict_id"] = verdict_id
    return _build(**kw)


def new_post_trade(
    trader_id: int, at: datetime, trade: Trade, answers: Mapping[str, Any]
) -> JournalEntry:
    """A post-trade reflection linked to ``trade``."""
    again = answers.get("would_take_again")
    return _build(
        trader_id=trader_id,
        kind=JournalKind.POST_TRADE,
        at=at,
        trade_id=trade.trade_id,
        symbol=trade.symbol,
        side=trade.side,
        what_worked=str(answers.get("what_worked") or "") or None,
        emotional_factors=str(answers.get("emotional_factors") or "") or None,
        would_take_again=None if again in (None, "") else parse_bool(again, "would_take_again"),
        text=str(answers.get("text") or ""),
    )


def new_note(trader_id: int, at: datetime, text: str, symbol: str | None = None) -> JournalEntry:
    """A free note (must say something)."""
    if not text.strip():
        raise JournalInputError(["text: a note cannot be empty"])
    return _build(trader_id=trader_id, kind=JournalKind.NOTE, at=at, text=text, symbol=symbol)


def new_override(
    trader_id: int, at: datetime, rule: str, reason: str, *, verdict_id: int | None = None
) -> JournalEntry:
    """The reason a trader gave for overriding a soft block (recorded, never judged here)."""
    if not reason.strip():
        raise JournalInputError(["reason: an override needs a reason"])
    return _build(
        trader_id=trader_id,
        kind=JournalKind.OVERRIDE,
        at=at,
        rule=rule,
        text=reason,
        verdict_id=verdict_id,
    )


def require_owner(entry: JournalEntry, acting_trader_id: int) -> None:
    """Raise unless ``acting_trader_id`` owns ``entry``."""
    if entry.trader_id != acting_trader_id:
        raise JournalAccessError(f"journal entry {entry.id}: not yours")


def own_entries(entries: Iterable[JournalEntry], acting_trader_id: int) -> list[JournalEntry]:
    """Only the acting trader's entries, oldest first."""
    return sorted(
        (e for e in entries if e.trader_id == acting_trader_id), key=lambda e: (e.at, e.id or 0)
    )


def edit_entry(
    entry: JournalEntry, acting_trader_id: int, changes: Mapping[str, Any]
) -> JournalEntry:
    """A validated copy of ``entry`` with ``changes``; only the owner, only editable fields."""
    require_owner(entry, acting_trader_id)
    bad = sorted(set(changes) - EDITABLE_FIELDS)
    if bad:
        raise JournalInputError(
            [f"{k}: cannot be edited (editable: {', '.join(sorted(EDITABLE_FIELDS))})" for k in bad]
        )
    data = entry.model_dump()
    data.update(changes)
    return _build(**data)


def post_trade_nudge(
    trade: Trade, trader_id: int, at: datetime, *, currency: str = "", r: float | None = None
) -> Nudge:
    """The ``post_trade_prompt`` nudge sent when a trade closes."""
    cur = f" {currency}" if currency else ""
    r_txt = f" ({r:+.1f}R)" if r is not None else ""
    text = (
        f"{trade.symbol} {trade.side.value} closed {trade.net_pnl:+.2f}{cur}{r_txt}. "
        + " ".join(q.text for q in POST_TRADE_QUESTIONS)
    )
    return Nudge(
        at=at,
        kind="post_trade_prompt",
        text=text,
        dedupe_key=f"post_trade_prompt:{trader_id}:{trade.trade_id}",
        trader_id=trader_id,
        data={"trade_id": trade.trade_id},
    )

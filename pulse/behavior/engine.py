"""BehaviorEngine: the flags of DESIGN.md section 4 and the day's behaviour score.

Pure and deterministic: every instant comes from the trades (an entry is judged at its
``open_time``), never from the clock. Each rule sees only what was known at that instant:
entries opened at or before it, exits at or before it (a trade closed later counts as
open), never the entry itself. So the same trades in any order give the same flags.

Sizes are ``Trade.entry_volume`` (the opening deal, known at entry time; scale-ins later
do not rewrite history). The thresholds come from :class:`pulse.config.BehavioralConfig`;
docs/behavior.md documents each detector, its confidence formula and the decisions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice
from statistics import median

from pulse.config import BehavioralConfig
from pulse.models import BehaviorState, FlagId, Trade

from .tape import TradeTape, TradeView
from .types import FLAG_ORDER, BehaviorReport, Deduction, Flag

__all__ = ["Baseline", "BehaviorEngine"]

_DAY = 86_400
_REL_EPS = 1e-9
"""Relative tolerance of size comparisons, so 1.25 x 0.80 = 1.00 lot counts as 1.25x."""
_FULL_NIGHT_DEPTH = 3 * 3600
"""Seconds into the fatigue window (or away from optimal hours) at which fatigue is sure."""
_CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def _clamp01(x: float) -> float:
    return 0.0 if x <= 0 else 1.0 if x >= 1 else x


def _at_least(value: float, threshold: float) -> bool:
    """``value >= threshold`` up to a relative rounding tolerance."""
    return value >= threshold - _REL_EPS * max(1.0, abs(threshold))


def _lots(v: float) -> str:
    return f"{v:.2f}" if abs(v - round(v, 2)) < 1e-12 else f"{v:g}"


def _ratio(r: float) -> str:
    s = f"{r:.2f}".rstrip("0").rstrip(".")
    return f"{s}×"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _duration(td: timedelta) -> str:
    s = int(td.total_seconds())
    if s < 60:
        return f"{s} s"
    m, rem = divmod(s, 60)
    return f"{m} min" if rem == 0 else f"{m} min {rem} s"


def _sod(dt: datetime) -> int:
    """Seconds since local midnight (wall clock)."""
    return dt.hour * 3600 + dt.minute * 60 + dt.second


def _parse_hhmm(s: str) -> int:
    h, m = s.strip().split(":")
    return int(h) * 3600 + int(m) * 60


def _in_window(s: int, start: int, end: int) -> bool:
    """Wall-clock window [start, end); start > end wraps midnight; start == end is all day."""
    if start == end:
        return True
    if start < end:
        return start <= s < end
    return s >= start or s < end


def _flag_sort_key(f: Flag) -> tuple[datetime, int, str, str, float]:
    """Total order of flags: time, canonical flag order, trade, evidence, confidence."""
    return (f.at, FLAG_ORDER.index(f.id), f.trade_id or "", f.evidence, f.confidence)


class Baseline:
    """Median entry volume of the last ``n`` entries."""

    __slots__ = ("n", "size")

    def __init__(self, size: float, n: int) -> None:
        self.size = size
        self.n = n


class _BaselineMemo:
    """The baseline at one view, computed on first use (most entries never need it)."""

    __slots__ = ("_done", "_engine", "_value", "_view")

    def __init__(self, engine: BehaviorEngine, view: TradeView) -> None:
        self._engine = engine
        self._view = view
        self._done = False
        self._value: Baseline | None = None

    def get(self) -> Baseline | None:
        if not self._done:
            self._value = self._engine._baseline(self._view)
            self._done = True
        return self._value


class BehaviorEngine:
    """Detects behaviour flags on entries and scores the day.

    ``tz`` is the trader's timezone (fatigue hours and the times in evidence texts);
    ``currency`` only formats money in evidence texts.
    """

    def __init__(self, cfg: BehavioralConfig, tz: tzinfo = UTC, *, currency: str = "USD") -> None:
        self.cfg = cfg
        self.tz = tz
        self.currency = currency
        self._tz_name = str(getattr(tz, "key", None) or tz)
        self._fatigue = (cfg.fatigue_hour * 3600, cfg.fatigue_morning_hour * 3600)
        self._revenge_window = timedelta(minutes=cfg.revenge_trade_window)
        self._overtrading_window = timedelta(minutes=cfg.overtrading_window_minutes)
        self._tilt_lookback = timedelta(minutes=cfg.tilt_revenge_lookback_minutes)
        self._tilt_horizon = self._tilt_lookback + self._revenge_window
        self._clean = BehaviorReport(100, self.state_for(100), (), ())
        self._optimal: tuple[tuple[int, int], ...] = tuple(
            (_parse_hhmm(a), _parse_hhmm(b))
            for a, b in (w.split("-") for w in (cfg.optimal_hours or []))
        )

    # ------------------------------------------------------------------ public API
    def flags_for_entry(
        self, entry: Trade, history: Sequence[Trade], daily_loss_used_pct: float
    ) -> list[Flag]:
        """Flags raised by ``entry``, in :data:`FLAG_ORDER`.

        ``history``: trades known before this entry, open and closed, any order (a
        :class:`TradeTape` avoids the sort). ``daily_loss_used_pct``: percent (0..100+)
        of today's daily loss limit already used, for the tilt signal.
        """
        tape = history if isinstance(history, TradeTape) else TradeTape(history)
        view = tape.view(entry.open_time, (entry.trade_id,))
        baseline = _BaselineMemo(self, view)
        flags: list[Flag] = []
        revenge = self._revenge(entry, view, baseline)
        if revenge is not None:
            flags.append(revenge)
        if (f := self._overconfidence(entry, view, baseline)) is not None:
            flags.append(f)
        if (f := self._fatigue_flag(entry, view, baseline)) is not None:
            flags.append(f)
        if (f := self._overtrading(entry, view, baseline)) is not None:
            flags.append(f)
        if (f := self._tilt(entry, view, revenge, daily_loss_used_pct)) is not None:
            flags.append(f)
        return flags

    def report(self, flags: Sequence[Flag], overrides: int, violations: int) -> BehaviorReport:
        """The day's score: 100 minus every deduction, floored at 0, and the state.

        Each flag occurrence deducts its configured points; an occurrence is one flag id
        on one entry, so the same (id, trade_id, at) passed twice counts once (the most
        confident copy is kept). Deductions are listed flags first in time order, then
        overrides, then violations; zero-point deductions are not listed.
        """
        if overrides < 0 or violations < 0:
            raise ValueError(
                f"overrides and violations must be >= 0, got {overrides} and {violations}"
            )
        if not flags and not overrides and not violations:
            return self._clean  # a new day's report, asked for at every rollover
        ordered = self._dedupe(flags)
        points = self.cfg.deductions
        deductions: list[Deduction] = []
        for f in ordered:
            p = int(getattr(points, f.id))
            if p:
                when = f.at.astimezone(self.tz).strftime("%H:%M")
                deductions.append(Deduction(f.id, p, f"{when} {f.evidence}"))
        for reason, count, text in (
            ("override", overrides, "soft block overridden"),
            ("violation", violations, "traded while blocked"),
        ):
            p = int(getattr(points, reason))
            if p:
                deductions += [
                    Deduction(reason, p, f"{text} ({i} of {count})") for i in range(1, count + 1)
                ]
        score = max(0, 100 - sum(d.points for d in deductions))
        return BehaviorReport(score, self.state_for(score), tuple(ordered), tuple(deductions))

    def state_for(self, score: int) -> BehaviorState:
        """green at or above ``green_threshold`` (80), yellow at or above
        ``yellow_threshold`` (50), red below."""
        if score >= self.cfg.green_threshold:
            return BehaviorState.GREEN
        if score >= self.cfg.yellow_threshold:
            return BehaviorState.YELLOW
        return BehaviorState.RED

    def win_streak(self, history: Sequence[Trade], at: datetime | None = None) -> int:
        """Consecutive winning closed trades, counted back from the latest exit (at or
        before ``at`` when given)."""
        if at is None and isinstance(history, TradeTape):
            return history.tail_runs()[0]  # every exit counts: the tape keeps the run
        return self._streak(self._view_at(history, at), win=True)

    def loss_streak(self, history: Sequence[Trade], at: datetime | None = None) -> int:
        """Consecutive losing closed trades, counted back from the latest exit (at or
        before ``at`` when given)."""
        return self._streak(self._view_at(history, at), win=False)

    def baseline_size(self, history: Sequence[Trade], at: datetime | None = None) -> float | None:
        """Median entry volume of the last ``baseline_entries`` entries (opened at or before
        ``at`` when given); None with fewer than ``baseline_min_entries``."""
        b = self._baseline(self._view_at(history, at))
        return None if b is None else b.size

    # ------------------------------------------------------------------ helpers
    def _view_at(self, history: Sequence[Trade], at: datetime | None) -> TradeView:
        tape = history if isinstance(history, TradeTape) else TradeTape(history)
        if at is not None:
            return tape.view(at)
        return TradeView(
            tape, _END_OF_TIME, frozenset(), len(tape), len(tape.closed)
        )

    def _baseline(self, view: TradeView) -> Baseline | None:
        vols = [t.entry_volume for t in view.last_entries(self.cfg.baseline_entries)]
        if len(vols) < self.cfg.baseline_min_entries:
            return None
        return Baseline(float(median(vols)), len(vols))

    @staticmethod
    def _streak(view: TradeView, *, win: bool) -> int:
        return view.streaks()[0 if win else 1]

    def _money(self, x: float) -> str:
        sign = "-" if x < 0 else "+"
        body = f"{abs(x):,.2f}"
        if body.endswith(".00"):
            body = body[:-3]
        cur = _CURRENCY_SIGNS.get(self.currency)
        return f"{sign}{cur}{body}" if cur else f"{sign}{body} {self.currency}".rstrip()

    def _local(self, dt: datetime) -> str:
        return dt.astimezone(self.tz).strftime("%H:%M")

    def _flag(self, fid: FlagId, conf: float, evidence: str, entry: Trade) -> Flag:
        return Flag(fid, round(_clamp01(conf), 2), evidence, entry.open_time, entry.trade_id)

    @staticmethod
    def _dedupe(flags: Sequence[Flag]) -> list[Flag]:
        best: dict[tuple[str, str, datetime], Flag] = {}
        loose: list[Flag] = []
        for f in flags:
            if f.trade_id is None:
                loose.append(f)
                continue
            key = (f.id, f.trade_id, f.at)
            cur = best.get(key)
            if cur is None or (f.confidence, f.evidence) > (cur.confidence, cur.evidence):
                best[key] = f
        out = [*best.values(), *loose]
        out.sort(key=_flag_sort_key)
        return out

    # ------------------------------------------------------------------ detectors
    def _revenge(
        self, entry: Trade, view: TradeView, baseline: _BaselineMemo | None = None
    ) -> Flag | None:
        """Entry within ``revenge_trade_window`` min after a losing exit and one of: size
        >= ``revenge_size_multiplier`` x baseline, same symbol as the loss, or the
        ``revenge_trade_threshold``-th (or later) entry since that loss.

        The baseline is computed only when a loss is near (``baseline`` may share it).
        """
        c = self.cfg
        window = self._revenge_window
        at = entry.open_time
        start = at - window
        losses = view.losses_since(start)
        if not losses:
            return None
        base = (baseline or _BaselineMemo(self, view)).get()
        ratio = entry.entry_volume / base.size if base is not None and base.size > 0 else None
        size_hit = (
            base is not None
            and base.size > 0
            and _at_least(entry.entry_volume, c.revenge_size_multiplier * base.size)
        )
        best: tuple[int, Trade, bool, int, bool] | None = None
        for loss in losses:  # most recent first; ties keep the most recent
            assert loss.close_time is not None
            same = loss.symbol == entry.symbol
            nth = view.count_entries_since(loss.close_time) + 1
            count_hit = nth >= c.revenge_trade_threshold
            k = int(size_hit) + int(same) + int(count_hit)
            if k and (best is None or k > best[0]):
                best = (k, loss, same, nth, count_hit)
        if best is None:
            return None
        k, loss, same, nth, count_hit = best
        assert loss.close_time is not None
        since = at - loss.close_time
        recency = 1.0 - since / window
        size_excess = 0.0
        reasons: list[str] = []
        if same:
            reasons.append("same symbol as the loss")
        if size_hit and ratio is not None and base is not None:
            size_excess = _clamp01((ratio - c.revenge_size_multiplier) / c.revenge_size_multiplier)
            reasons.append(f"{_ratio(ratio)} your {_lots(base.size)}-lot baseline")
        if count_hit:
            reasons.append(f"{_ordinal(nth)} entry since that loss")
        conf = 0.45 + 0.15 * (k - 1) + 0.15 * recency + 0.10 * size_excess
        evidence = (
            f"entered {entry.symbol} {_lots(entry.entry_volume)} lots {_duration(since)} after "
            f"a {self._money(loss.net_pnl)} {loss.symbol} loss: " + "; ".join(reasons)
        )
        return self._flag("revenge", conf, evidence, entry)

    def _overconfidence(self, entry: Trade, view: TradeView, memo: _BaselineMemo) -> Flag | None:
        """Size >= ``overconfidence_size_multiplier`` x baseline after a win streak of at
        least ``overconfidence_win_streak`` trades."""
        c = self.cfg
        streak = self._streak(view, win=True)
        if streak < c.overconfidence_win_streak:
            return None
        baseline = memo.get()
        if baseline is None or baseline.size <= 0:
            return None
        m = c.overconfidence_size_multiplier
        if not _at_least(entry.entry_volume, m * baseline.size):
            return None
        ratio = entry.entry_volume / baseline.size
        s = c.overconfidence_win_streak
        conf = 0.5 + 0.3 * _clamp01((ratio - m) / m) + 0.2 * _clamp01((streak - s) / s)
        evidence = (
            f"entered {entry.symbol} {_lots(entry.entry_volume)} lots after {streak} wins in a "
            f"row; {_ratio(ratio)} your {_lots(baseline.size)}-lot baseline"
        )
        return self._flag("overconfidence", conf, evidence, entry)

    def _fatigue_flag(self, entry: Trade, view: TradeView, memo: _BaselineMemo) -> Flag | None:
        """Entry at/after ``fatigue_hour`` or before ``fatigue_morning_hour`` local time,
        or outside every ``optimal_hours`` window when those are set."""
        local = entry.open_time.astimezone(self.tz)
        s = _sod(local)
        start, end = self._fatigue
        fatigued = start != end and _in_window(s, start, end)
        if not fatigued and (
            not self._optimal or any(_in_window(s, a, b) for a, b in self._optimal)
        ):
            return None  # the usual case: no text to format
        hhmm = f"{local.hour:02d}:{local.minute:02d}"
        parts: list[str] = []
        conf = 0.0
        if fatigued:
            length = (end - start) % _DAY
            depth = min((s - start) % _DAY, (end - s) % _DAY)
            full = min(_FULL_NIGHT_DEPTH, length / 2)
            conf = max(conf, 0.5 + 0.5 * _clamp01(depth / full))
            parts.append(
                f"entered {entry.symbol} at {hhmm} ({self._tz_name}), within your fatigue "
                f"hours {start // 3600:02d}:00–{end // 3600:02d}:00"
            )
        if self._optimal and not any(_in_window(s, a, b) for a, b in self._optimal):
            dist = min(min((a - s) % _DAY, (s - b) % _DAY) for a, b in self._optimal)
            conf = max(conf, 0.4 + 0.5 * _clamp01(dist / _FULL_NIGHT_DEPTH))
            windows = ", ".join(self.cfg.optimal_hours or [])
            if parts:
                parts.append(f"outside your optimal hours {windows}")
            else:
                parts.append(
                    f"entered {entry.symbol} at {hhmm} ({self._tz_name}), outside your "
                    f"optimal hours {windows}"
                )
        if not parts:
            return None
        return self._flag("fatigue", conf, "; ".join(parts), entry)

    def _overtrading(self, entry: Trade, view: TradeView, memo: _BaselineMemo) -> Flag | None:
        """More than ``overtrading_max_entries`` entries (this one included) within the
        last ``overtrading_window_minutes`` minutes (window start inclusive)."""
        c = self.cfg
        since = entry.open_time - self._overtrading_window
        count = view.count_entries_since(since) + 1
        if count <= c.overtrading_max_entries:
            return None
        first = entry.open_time
        for t in view.entries_back():
            if t.open_time < since:
                break
            first = t.open_time
        conf = 0.5 + 0.5 * _clamp01((count - c.overtrading_max_entries) / c.overtrading_max_entries)
        evidence = (
            f"{count} entries in {c.overtrading_window_minutes} min "
            f"({self._local(first)}–{self._local(entry.open_time)}), more than your "
            f"{c.overtrading_max_entries}; latest {entry.symbol} {_lots(entry.entry_volume)} lots"
        )
        return self._flag("overtrading", conf, evidence, entry)

    def _tilt(
        self, entry: Trade, view: TradeView, revenge: Flag | None, daily_loss_used_pct: float
    ) -> Flag | None:
        """At least ``tilt_min_signals`` of: a loss streak of ``tilt_consecutive_losses``,
        a revenge flag in the last ``tilt_revenge_lookback_minutes`` (this entry included),
        rising size over the last ``tilt_rising_size_entries`` entries, and at least
        ``tilt_daily_loss_used_percent`` of the daily loss limit used."""
        c = self.cfg
        # Facts first, texts only when enough signals fire (most entries raise none), and
        # the two look-backs (rising sizes, an earlier revenge entry) only while their
        # signals could still lift the count to the threshold.
        losses = view.streaks()[1]
        streak_hit = losses >= c.tilt_consecutive_losses
        dl_hit = not math.isnan(daily_loss_used_pct) and _at_least(
            daily_loss_used_pct, c.tilt_daily_loss_used_percent
        )
        count = int(streak_hit) + int(dl_hit) + int(revenge is not None)
        # An earlier revenge entry needs a loss within the look-back plus the revenge window.
        prior_possible = revenge is None and bool(view.losses_since(
            entry.open_time - self._tilt_horizon))
        if count + 1 + int(prior_possible) < c.tilt_min_signals:
            return None
        vols = self._rising_sizes(entry, view)
        count += vols is not None
        prior = None
        if prior_possible and count + 1 >= c.tilt_min_signals:
            prior = self._recent_revenge(entry, view)
            count += prior is not None
        if count < c.tilt_min_signals:
            return None

        signals: list[str] = []
        if streak_hit:
            total = 0.0
            for t in islice(view.exits_back(), losses):
                total += t.net_pnl
            signals.append(f"{losses} losses in a row ({self._money(total)})")
        if revenge is not None:
            signals.append("this entry is a revenge trade")
        elif prior is not None:
            signals.append(f"revenge entry on {prior.symbol} at {self._local(prior.open_time)}")
        if vols is not None:
            signals.append("sizes rising " + " → ".join(_lots(v) for v in vols) + " lots")
        if dl_hit:
            signals.append(f"{daily_loss_used_pct:.0f}% of the daily loss limit used")

        if len(signals) < c.tilt_min_signals:
            return None
        span = 4 - c.tilt_min_signals + 1
        conf = 0.4 + 0.6 * (len(signals) - c.tilt_min_signals + 1) / span
        evidence = f"{len(signals)} of 4 tilt signals: " + "; ".join(signals)
        return self._flag("tilt", conf, evidence, entry)

    def _rising_sizes(self, entry: Trade, view: TradeView) -> list[float] | None:
        """The last ``tilt_rising_size_entries`` entry sizes (this one last) when each is
        larger than the one before and at least ``baseline_min_entries`` came before."""
        c = self.cfg
        n = c.tilt_rising_size_entries
        need = max(n - 1, c.baseline_min_entries)
        prior_entries = view.last_entries(need)
        if len(prior_entries) < need:
            return None
        vols = [t.entry_volume for t in reversed(prior_entries[: n - 1])]
        vols.append(entry.entry_volume)
        for i in range(1, len(vols)):
            if not vols[i] > vols[i - 1] * (1 + _REL_EPS):
                return None
        return vols

    def _recent_revenge(self, entry: Trade, view: TradeView) -> Trade | None:
        """The most recent earlier entry within the tilt look-back that was itself a
        revenge trade, judged with what was known at its own time (the caller has seen a
        loss since the look-back's start less the revenge window: none, no revenge)."""
        at = entry.open_time
        lookback = at - self._tilt_lookback
        for e in view.entries_back():
            if e.open_time < lookback:
                break
            sub = view.narrowed(e.open_time, (e.trade_id,))
            if self._revenge(e, sub) is not None:
                return e
        return None

"""Relationship health, sans IO: a score 0–100 from daily interaction counts, its state, trend and factors.

The formula (published with its rationale in ``docs/health.md``) combines four factors, each 0..1:

* **activity** — type-weighted interactions of both sides in the last 30 days against the record's expected
  frequency: ``min(1, ln(1 + A) / ln(1 + 2E))`` (expected volume gives ~0.73, twice that gives 1);
* **recency** — 1 while the gap since the last interaction is within the expected gap ``G = 30 / E`` days, then
  decays: ``exp(-(gap - G) / 2G)``;
* **reciprocity** — balance of who reaches out over the window: ``2 · min(us, them) / (us + them)``;
* **responsiveness** — share of the days we reached out that the customer answered within 3 days.

``score = 100 · Σ wᵢ · factorᵢ``. Fewer than ``min_interactions`` interactions in the window gives
"Not enough info". The trend compares with the score ``trend_days`` earlier, computed from the same rollups.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from analytics.relationships.config import HealthConfig

IntArray = npt.NDArray[np.int64]

FACTORS = ("activity", "recency", "reciprocity", "responsiveness")


@dataclass(frozen=True, slots=True)
class DayCount:
    """How often each side reached out on one day, for one kind (summed over the record's people)."""

    day: date
    kind: str
    from_us: int
    from_them: int


@dataclass(frozen=True, slots=True)
class Factor:
    name: str
    value: float  # 0..1
    weight: float
    explanation: str

    @property
    def points(self) -> float:
        return 100.0 * self.value * self.weight


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The score of a record as of one day. ``score`` is None when there is not enough information."""

    as_of: date
    score: float | None
    factors: tuple[Factor, ...]
    interactions: int


@dataclass(frozen=True, slots=True)
class HealthResult:
    score: float | None
    state: str  # Good | Fair | Poor | Not enough info
    trend: str  # Improving | Steady | Declining | Not enough info
    previous_score: float | None
    factors: tuple[Factor, ...]  # largest movers first
    changes: dict[str, float]  # points now minus points then, per factor (empty without a previous score)


KINDS = ("email", "meeting", "call", "task")  # kind index 4 is any other kind (weight 1)
N_KINDS = len(KINDS) + 1


def kind_index(kind: str) -> int:
    """The index of ``kind`` in per-kind totals (:data:`KINDS`, else the last slot)."""
    try:
        return KINDS.index(kind)
    except ValueError:
        return len(KINDS)


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Everything :func:`snapshot` needs from one window of daily counts: integer totals, so that computing
    them per record (:func:`window_stats`) or for many records at once (:func:`evaluate_batch`) gives exactly
    the same score."""

    interactions: int  # both sides, every kind, in the window
    recent: tuple[int, ...]  # both sides, per kind index, in the activity period (last ``recent_days``)
    us: tuple[int, ...]  # our side, per kind index, in the window
    them: tuple[int, ...]  # their side, per kind index, in the window
    last_day: date | None  # last day with an interaction in the window
    answered: int  # days we reached out that they answered within ``reply_days``
    asked: int  # days we reached out that count (answered, or older than ``reply_days``)


@dataclass(frozen=True, slots=True)
class TrendStats:
    """What :func:`rate_trend` needs: first active day of the trend horizon and the two period totals."""

    first_day: date | None
    recent: int
    before: int


def window_stats(days: Iterable[DayCount], as_of: date, config: HealthConfig) -> WindowStats:
    """The :class:`WindowStats` of a record as of the end of ``as_of`` (later days are ignored)."""
    window_start = as_of - timedelta(days=config.window_days - 1)
    recent_start = as_of - timedelta(days=config.recent_days - 1)
    in_window = [d for d in days if window_start <= d.day <= as_of and (d.from_us or d.from_them)]
    recent = [0] * N_KINDS
    us = [0] * N_KINDS
    them = [0] * N_KINDS
    for d in in_window:
        k = kind_index(d.kind)
        us[k] += d.from_us
        them[k] += d.from_them
        if d.day >= recent_start:
            recent[k] += d.from_us + d.from_them
    answered, asked = _answered_outreach(in_window, as_of, config.reply_days)
    return WindowStats(sum(us) + sum(them), tuple(recent), tuple(us), tuple(them),
                       max((d.day for d in in_window), default=None), answered, asked)


def _weighted(counts: Sequence[int], weights: Sequence[float]) -> float:
    return sum(w * n for w, n in zip(weights, counts, strict=True))


def _kind_weights(config: HealthConfig) -> tuple[float, ...]:
    return (*(config.type_weights.get(k, 1.0) for k in KINDS), 1.0)


def snapshot(days: Iterable[DayCount], as_of: date, config: HealthConfig, record_type: str) -> Snapshot:
    """The health of a record as of the end of ``as_of`` from its daily counts (later days are ignored)."""
    return snapshot_of(window_stats(days, as_of, config), as_of, config, record_type)


def snapshot_of(stats: WindowStats, as_of: date, config: HealthConfig, record_type: str,
                weights: Sequence[float] | None = None) -> Snapshot:
    """The health of a record from its :class:`WindowStats` (see the module docstring for the formula)."""
    weights = _kind_weights(config) if weights is None else weights
    interactions = stats.interactions
    expected = config.expected(record_type)

    recent = _weighted(stats.recent, weights)
    activity = min(1.0, math.log1p(recent) / math.log1p(2 * expected))
    last_day = stats.last_day
    gap_expected = 30.0 / expected
    if last_day is None:
        recency, gap = 0.0, None
    else:
        gap = (as_of - last_day).days
        recency = 1.0 if gap <= gap_expected else math.exp(-(gap - gap_expected) / (2 * gap_expected))
    us = _weighted(stats.us, weights)
    them = _weighted(stats.them, weights)
    reciprocity = 2 * min(us, them) / (us + them) if us + them > 0 else 0.0
    answered, asked = stats.answered, stats.asked
    # With nothing of ours to answer, they are engaged if they reach out by themselves.
    responsiveness = answered / asked if asked else (1.0 if them > 0 else 0.0)

    w = config.factor_weights
    factors = (
        Factor("activity", activity, w["activity"],
               f"{recent:.0f} weighted interactions in the last {config.recent_days} days "
               f"(a healthy record has about {expected:g})"),
        Factor("recency", recency, w["recency"],
               "no interaction in the window" if gap is None
               else f"last interaction {gap} day{'s' if gap != 1 else ''} ago "
                    f"(expected at least every {gap_expected:.0f} days)"),
        Factor("reciprocity", reciprocity, w["reciprocity"],
               "no exchanges" if us + them == 0
               else f"they initiated {100 * them / (us + them):.0f}% of the weighted exchanges"),
        Factor("responsiveness", responsiveness, w["responsiveness"],
               f"they answered {answered} of {asked} outreach days within {config.reply_days} days" if asked
               else ("they reached out without being asked" if them > 0 else "no outreach to answer")),
    )
    if interactions < config.min_interactions:
        return Snapshot(as_of, None, factors, interactions)
    score = round(sum(f.points for f in factors), 1)
    return Snapshot(as_of, score, factors, interactions)


def _answered_outreach(days: Sequence[DayCount], as_of: date, reply_days: int) -> tuple[int, int]:
    """(answered, asked): days we reached out, and those with a customer-side interaction within ``reply_days``.

    Outreach of the last ``reply_days`` days that is not answered yet is not counted against them.
    """
    ours = sorted({d.day for d in days if d.from_us})
    theirs = sorted({d.day for d in days if d.from_them})
    answered = asked = 0
    j = 0
    for day in ours:
        while j < len(theirs) and theirs[j] < day:
            j += 1
        hit = j < len(theirs) and (theirs[j] - day).days <= reply_days
        if hit:
            answered += 1
            asked += 1
        elif (as_of - day).days > reply_days:
            asked += 1
    return answered, asked


def trend_stats(days: Sequence[DayCount], as_of: date, config: HealthConfig) -> TrendStats:
    """The :class:`TrendStats` of a record as of ``as_of``."""
    recent_start = as_of - timedelta(days=config.trend_days - 1)
    window_start = recent_start - timedelta(days=config.baseline_days)
    active = [d for d in days if window_start <= d.day <= as_of and (d.from_us or d.from_them)]
    first = min((d.day for d in active), default=None)
    recent = sum(d.from_us + d.from_them for d in active if d.day >= recent_start)
    before = sum(d.from_us + d.from_them for d in active if d.day < recent_start)
    return TrendStats(first, recent, before)


def rate_trend(days: Sequence[DayCount], as_of: date, config: HealthConfig) -> tuple[str, float | None]:
    """Improving / Steady / Declining from the interaction rate of the last ``trend_days`` against the record's
    own baseline (the ``baseline_days`` before them, counted from its first interaction), and that ratio.

    Comparing a record with itself keeps the trend meaningful at any volume: a busy account that doubles its
    contact improves even though its score was already capped, and a quiet contact is not "declining" for being
    quiet. No baseline (a relationship younger than the recent period) gives "Not enough info".
    """
    return trend_of(trend_stats(days, as_of, config), as_of, config)


def trend_of(stats: TrendStats, as_of: date, config: HealthConfig) -> tuple[str, float | None]:
    """:func:`rate_trend` from a record's :class:`TrendStats`."""
    recent_start = as_of - timedelta(days=config.trend_days - 1)
    first, recent, before = stats.first_day, stats.recent, stats.before
    if first is None or first >= recent_start:
        return "Not enough info", None
    if recent + before < config.min_interactions or before == 0:
        return "Not enough info", None
    baseline_span = max(1, (recent_start - first).days)
    ratio = (recent / config.trend_days) / (before / baseline_span)
    if ratio >= config.improving_ratio:
        return "Improving", ratio
    if ratio <= config.declining_ratio:
        return "Declining", ratio
    return "Steady", ratio


def evaluate(days: Sequence[DayCount], as_of: date, config: HealthConfig, record_type: str) -> HealthResult:
    """Score, state, trend and factor movements (now vs ``trend_days`` earlier) of a record as of ``as_of``."""
    now = snapshot(days, as_of, config, record_type)
    before = snapshot(days, as_of - timedelta(days=config.trend_days), config, record_type)
    trend, _ratio = rate_trend(days, as_of, config)
    return combine(now, before, trend, config)


def combine(now: Snapshot, before: Snapshot, trend: str, config: HealthConfig) -> HealthResult:
    """A :class:`HealthResult` from the snapshots now and ``trend_days`` earlier and the trend."""
    if now.score is None:
        return HealthResult(None, "Not enough info", trend, before.score, now.factors, {})
    state = config.state_of(now.score)
    if before.score is None:
        return HealthResult(now.score, state, trend, None, now.factors, {})
    changes = {f.name: round(f.points - b.points, 1) for f, b in zip(now.factors, before.factors, strict=True)}
    ordered = tuple(sorted(now.factors, key=lambda f: -abs(changes[f.name])))
    return HealthResult(now.score, state, trend, before.score, ordered, changes)


def history_days_needed(config: HealthConfig) -> int:
    """How many days of rollups :func:`evaluate` reads back from ``as_of``."""
    return max(max(config.window_days, config.recent_days) + config.trend_days,
               config.trend_days + config.baseline_days)


# --- Many records at once ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counts:
    """Daily counts of many records, one entry per (record, day, kind), as columns.

    ``record`` indexes the records being scored, ``day`` is a proleptic ordinal (:meth:`date.toordinal`),
    ``kind`` a :func:`kind_index`. Entries may repeat a (record, day, kind): they add up.
    """

    record: IntArray
    day: IntArray
    kind: IntArray
    from_us: IntArray
    from_them: IntArray

    def __len__(self) -> int:
        return len(self.record)


def _batch_window_stats(c: Counts, n: int, as_of: date, config: HealthConfig) -> list[WindowStats]:
    """:func:`window_stats` of every record at once (same integers, computed with array operations)."""
    end = as_of.toordinal()
    start = end - config.window_days + 1
    recent_start = end - config.recent_days + 1
    m = (c.day >= start) & (c.day <= end) & ((c.from_us != 0) | (c.from_them != 0))
    rec, day, us, them = c.record[m], c.day[m], c.from_us[m], c.from_them[m]
    slot = rec * N_KINDS + c.kind[m]
    size = n * N_KINDS

    def per_kind(idx: IntArray, values: IntArray) -> list[list[int]]:
        sums = np.bincount(idx, weights=values, minlength=size).astype(np.int64)
        rows: list[list[int]] = sums.reshape(n, N_KINDS).tolist()
        return rows

    us_k = per_kind(slot, us)
    them_k = per_kind(slot, them)
    recent_mask = day >= recent_start
    recent_k = per_kind(slot[recent_mask], (us + them)[recent_mask])
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, rec, day)
    # Outreach answered within reply_days: per record and day of the window, did we / they reach out?
    width = config.window_days
    ours = np.zeros((n, width), dtype=bool)
    theirs = np.zeros((n, width), dtype=bool)
    ours[rec[us > 0], day[us > 0] - start] = True
    theirs[rec[them > 0], day[them > 0] - start] = True
    cumulative = np.zeros((n, width + 1), dtype=np.int32)
    np.cumsum(theirs, axis=1, out=cumulative[:, 1:])
    offsets = np.arange(width)
    reply_end = np.minimum(offsets + config.reply_days, width - 1)
    hit = ours & ((cumulative[:, reply_end + 1] - cumulative[:, offsets]) > 0)
    overdue = (end - (start + offsets)) > config.reply_days
    answered = hit.sum(axis=1)
    asked = answered + (ours & ~hit & overdue[np.newaxis, :]).sum(axis=1)
    out = []
    for u, t, r, last_day, a, k in zip(us_k, them_k, recent_k, last.tolist(), answered.tolist(), asked.tolist(),
                                       strict=True):
        out.append(WindowStats(sum(u) + sum(t), tuple(r), tuple(u), tuple(t),
                               date.fromordinal(last_day) if last_day >= 0 else None, a, k))
    return out


def _batch_trend_stats(c: Counts, n: int, as_of: date, config: HealthConfig) -> list[TrendStats]:
    """:func:`trend_stats` of every record at once."""
    end = as_of.toordinal()
    recent_start = end - config.trend_days + 1
    start = recent_start - config.baseline_days
    m = (c.day >= start) & (c.day <= end) & ((c.from_us != 0) | (c.from_them != 0))
    rec, day, both = c.record[m], c.day[m], (c.from_us + c.from_them)[m]
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, rec, day)
    late = day >= recent_start
    recent = np.bincount(rec[late], weights=both[late], minlength=n).astype(np.int64).tolist()
    before = np.bincount(rec[~late], weights=both[~late], minlength=n).astype(np.int64).tolist()
    never = np.iinfo(np.int64).max
    return [TrendStats(date.fromordinal(f) if f != never else None, r, b)
            for f, r, b in zip(first.tolist(), recent, before, strict=True)]


def evaluate_batch(counts: Counts, record_types: Sequence[str], as_of: date,
                   config: HealthConfig) -> list[HealthResult]:
    """:func:`evaluate` for many records at once: ``result[i]`` is the health of record ``i`` of ``counts``.

    The integer statistics come from array operations over all records; the score of each record is then
    computed from them by the same code as :func:`evaluate`, so both give identical results.
    """
    n = len(record_types)
    if n == 0:
        return []
    then = as_of - timedelta(days=config.trend_days)
    now_stats = _batch_window_stats(counts, n, as_of, config)
    then_stats = _batch_window_stats(counts, n, then, config)
    trends = _batch_trend_stats(counts, n, as_of, config)
    weights = _kind_weights(config)
    return [combine(snapshot_of(a, as_of, config, t, weights), snapshot_of(b, then, config, t, weights),
                    trend_of(tr, as_of, config)[0], config)
            for a, b, tr, t in zip(now_stats, then_stats, trends, record_types, strict=True)]

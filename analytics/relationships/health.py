"""Relationship health, sans IO: a score 0–100 from daily interaction counts, its state, trend and factors.

The formula (published with its rationale in ``docs/health.md``) combines four factors, each 0..1:

* **activity** — type-weighted interactions of both sides in the last 30 days against the record's expected
  frequency: ``min(1, ln(1 + A) / ln(1 + 2E))`` (expected volume gives ~0.73, twice that gives 1);
* **recency** — 1 while the gap since the last interaction is within the expected gap ``G = 30 / E`` days, then
  decays: ``exp(-(gap - G) / 2G)``;
* **reciprocity** — balance of who reaches out over the window: ``2 · min(us, them) / (us + them)``;
* **responsiveness** — share of the days we reached out that the customer answered within 3 days.

``score = 100 · Σ wᵢ · factorᵢ``, rounded to 0.1 (half to even). Fewer than ``min_interactions`` interactions
in the window gives "Not enough info". The trend compares the record's recent interaction rate with its own
baseline; the factors' changes compare with the score ``trend_days`` earlier, from the same counts.

One implementation serves one record (:func:`evaluate`, what queries call) and every record of a tenant
(:func:`score_batch`, what refreshes call): both run the same array code, so a stored score and a live one
agree exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics.relationships.config import HealthConfig
from analytics.relationships.explanations import FactorExplanation

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
    explanation: FactorExplanation

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
_KIND_AT = {k: i for i, k in enumerate(KINDS)}

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def kind_index(kind: str) -> int:
    """The index of ``kind`` in per-kind totals (:data:`KINDS`, else the last slot)."""
    return _KIND_AT.get(kind, len(KINDS))


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

    @classmethod
    def of(cls, days: Iterable[DayCount]) -> Counts:
        """The counts of one record (record index 0)."""
        rows = [(0, d.day.toordinal(), kind_index(d.kind), d.from_us, d.from_them) for d in days]
        table = np.array(rows, dtype=np.int64).reshape(-1, 5)
        return cls(*(np.ascontiguousarray(table[:, i]) for i in range(5)))


@dataclass(frozen=True, slots=True)
class WindowStats:
    """The integer statistics a snapshot is computed from, per record (arrays of length n)."""

    interactions: IntArray  # both sides, every kind, in the window
    recent: IntArray  # (n, N_KINDS) both sides per kind in the activity period (last ``recent_days``)
    us: IntArray  # (n, N_KINDS) our side per kind in the window
    them: IntArray  # (n, N_KINDS) their side per kind in the window
    last_day: IntArray  # ordinal of the last day with an interaction in the window, -1 when none
    answered: IntArray  # days we reached out that they answered within ``reply_days``
    asked: IntArray  # days we reached out that count (answered, or older than ``reply_days``)


def _distinct(keys: IntArray) -> IntArray:
    """The distinct values of ``keys``, sorted (``np.unique`` without its hashing path, several times slower
    on these arrays of a few thousand keys)."""
    ordered = np.sort(keys)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def window_stats(c: Counts, n: int, as_of: date, config: HealthConfig) -> WindowStats:
    """:class:`WindowStats` of records ``0..n-1`` as of the end of ``as_of`` (later days are ignored)."""
    end = as_of.toordinal()
    start = end - config.window_days + 1
    recent_start = end - config.recent_days + 1
    m = (c.day >= start) & (c.day <= end) & ((c.from_us != 0) | (c.from_them != 0))
    rec, day, us, them = c.record[m], c.day[m], c.from_us[m], c.from_them[m]
    slot = rec * N_KINDS + c.kind[m]
    size = n * N_KINDS

    def per_kind(idx: IntArray, values: IntArray) -> IntArray:
        return np.bincount(idx, weights=values, minlength=size).astype(np.int64).reshape(n, N_KINDS)

    us_k = per_kind(slot, us)
    them_k = per_kind(slot, them)
    recent_mask = day >= recent_start
    recent_k = per_kind(slot[recent_mask], (us + them)[recent_mask])
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, rec, day)
    # Outreach answered within reply_days: the distinct (record, day) pairs on which we / they reached out, as
    # sorted keys; a day of ours is answered when their first day at or after it is at most reply_days later.
    # A record's keys are `stride` apart from the next record's, more than a window plus a reply period, so
    # that look-up never reaches into another record. (Sparse on purpose: a record has a handful of such days
    # in a window, and a dense records × days table cost most of a refresh's scoring time.)
    stride = config.window_days + config.reply_days + 1
    ours = _distinct(rec[us > 0] * stride + (day[us > 0] - start))
    theirs = _distinct(rec[them > 0] * stride + (day[them > 0] - start))
    at = np.searchsorted(theirs, ours, side="left")
    next_reply = np.append(theirs, np.iinfo(np.int64).max)[at]
    hit = next_reply - ours <= config.reply_days
    owner = ours // stride
    # Outreach of the last reply_days days that is not answered yet is not counted against them.
    overdue = (end - (start + ours % stride)) > config.reply_days
    answered = np.bincount(owner[hit], minlength=n).astype(np.int64)
    asked = answered + np.bincount(owner[~hit & overdue], minlength=n)
    return WindowStats(us_k.sum(axis=1) + them_k.sum(axis=1), recent_k, us_k, them_k, last, answered, asked)


@dataclass(frozen=True, slots=True)
class Snapshots:
    """The scores of n records as of one day: factor values (n, 4) in :data:`FACTORS` order, their points,
    and the score (NaN when there is not enough information), with what the explanations quote."""

    as_of: date
    values: FloatArray
    weights: FloatArray  # (4,)
    points: FloatArray
    score: FloatArray
    interactions: IntArray
    recent: FloatArray  # weighted interactions of the activity period
    us: FloatArray  # weighted outreach in the window
    them: FloatArray
    last_day: IntArray
    answered: IntArray
    asked: IntArray
    expected: FloatArray


def _kind_weights(config: HealthConfig) -> tuple[float, ...]:
    return (*(config.type_weights.get(k, 1.0) for k in KINDS), 1.0)


def _weighted(counts: IntArray, weights: Sequence[float]) -> FloatArray:
    """Σ weight × count per row, always in the same order (so one record and many give the same float)."""
    total = np.zeros(len(counts), dtype=np.float64)
    for k, w in enumerate(weights):
        total = total + w * counts[:, k]
    return total


def snapshots(c: Counts, record_types: Sequence[str], as_of: date, config: HealthConfig) -> Snapshots:
    """The health of every record of ``c`` as of the end of ``as_of`` (the formula in the module docstring)."""
    n = len(record_types)
    stats = window_stats(c, n, as_of, config)
    weights = _kind_weights(config)
    per_type = {t: config.expected(t) for t in set(record_types)}
    expected = np.array([per_type[t] for t in record_types], dtype=np.float64)
    recent = _weighted(stats.recent, weights)
    activity = np.minimum(1.0, np.log1p(recent) / np.log1p(2 * expected))
    gap_expected = 30.0 / expected
    gap = (as_of.toordinal() - stats.last_day).astype(np.float64)
    decay = np.exp(-np.maximum(gap - gap_expected, 0.0) / (2 * gap_expected))
    recency = np.where(stats.last_day < 0, 0.0, np.where(gap <= gap_expected, 1.0, decay))
    us = _weighted(stats.us, weights)
    them = _weighted(stats.them, weights)
    both = us + them
    reciprocity = np.where(both > 0, 2 * np.minimum(us, them) / np.where(both > 0, both, 1.0), 0.0)
    asked = stats.asked
    # With nothing of ours to answer, they are engaged if they reach out by themselves.
    responsiveness = np.where(asked > 0, stats.answered / np.maximum(asked, 1), np.where(them > 0, 1.0, 0.0))
    values = np.stack([activity, recency, reciprocity, responsiveness], axis=1)
    factor_weights = np.array([config.factor_weights[f] for f in FACTORS], dtype=np.float64)
    points = 100.0 * values * factor_weights
    total = ((points[:, 0] + points[:, 1]) + points[:, 2]) + points[:, 3]
    score = np.where(stats.interactions >= config.min_interactions, np.round(total, 1), np.nan)
    return Snapshots(as_of, values, factor_weights, points, score, stats.interactions, recent, us, them,
                     stats.last_day, stats.answered, asked, expected)


def _trend_part(c: Counts, n: int, first_day: int, last_day: int) -> tuple[IntArray, FloatArray]:
    """Per record, the first day with an interaction in ``first_day..last_day`` (ordinals; ``last_day + 1`` when
    none) and the interactions of both sides on those days."""
    m = (c.day >= first_day) & (c.day <= last_day) & ((c.from_us != 0) | (c.from_them != 0))
    rec, day, both = c.record[m], c.day[m], (c.from_us + c.from_them)[m]
    first = np.full(n, last_day + 1, dtype=np.int64)
    np.minimum.at(first, rec, day)
    return first, np.bincount(rec, weights=both, minlength=n).astype(np.float64, copy=False)


def _trend_labels(first: IntArray, recent: FloatArray, before: FloatArray, as_of: date,
                  config: HealthConfig) -> list[str]:
    """The trend from the first day with an interaction since the baseline's start and the interactions of the
    recent period and of the baseline before it (see :func:`trends`)."""
    recent_start = as_of.toordinal() - config.trend_days + 1
    baseline_span = np.maximum(1, recent_start - first)
    ratio = (recent / config.trend_days) / (np.where(before > 0, before, 1.0) / baseline_span)
    unknown = (first >= recent_start) | (recent + before < config.min_interactions) | (before == 0)
    labels = np.where(ratio >= config.improving_ratio, "Improving",
                      np.where(ratio <= config.declining_ratio, "Declining", "Steady"))
    out: list[str] = np.where(unknown, "Not enough info", labels).tolist()
    return out


def trends(c: Counts, n: int, as_of: date, config: HealthConfig) -> list[str]:
    """Improving / Steady / Declining from the interaction rate of the last ``trend_days`` against each record's
    own baseline (the ``baseline_days`` before them, counted from its first interaction).

    Comparing a record with itself keeps the trend meaningful at any volume: a busy account that doubles its
    contact improves even though its score was already capped, and a quiet contact is not "declining" for being
    quiet. No baseline (a relationship younger than the recent period) gives "Not enough info".
    """
    settled = settle(c, ["contact"] * n, as_of, config, then=False)
    return _settled_trends(c, n, as_of, config, settled)


def _settled_trends(c: Counts, n: int, as_of: date, config: HealthConfig, settled: Settled) -> list[str]:
    # The first interaction matters only with a baseline (none: "Not enough info"), so it is the baseline's.
    end = as_of.toordinal()
    _first, recent = _trend_part(c, n, end - config.trend_days + 1, end)
    return _trend_labels(settled.first, recent, settled.before, as_of, config)


@dataclass(frozen=True, slots=True)
class Settled:
    """What n records' health as of ``as_of`` takes from the days up to ``as_of − trend_days`` only: the snapshot
    of that day (the factors' changes compare with it) and the trend's baseline (the first day with an
    interaction from the baseline's start to that day — the day after it when none — and those days'
    interactions).

    A refresh that rescores a record again on the same day, after changes on later days only, can reuse it and
    read only the days after it (:func:`score_settled`): the day's full refresh computes it for every record
    anyway (:func:`score_batch`). ``then`` is None when only the trend's part was computed."""

    as_of: date
    then: Snapshots | None
    first: IntArray
    before: FloatArray

    @staticmethod
    def concat(parts: Sequence[Settled]) -> Settled:
        """The records of ``parts`` (the same day), one after the other."""
        snaps = [p.then for p in parts if p.then is not None]
        assert parts and len(snaps) == len(parts)
        return Settled(parts[0].as_of, _map_snapshots(lambda *xs: np.concatenate(xs), *snaps),
                       np.concatenate([p.first for p in parts]), np.concatenate([p.before for p in parts]))

    def take(self, rows: IntArray) -> Settled:
        """The records ``rows`` (indexes) of this one, in that order."""
        assert self.then is not None
        return Settled(self.as_of, _map_snapshots(lambda x: x[rows], self.then), self.first[rows],
                       self.before[rows])

    def where(self, mask: npt.NDArray[np.bool_], other: Settled) -> Settled:
        """Record by record, this one's where ``mask`` holds, else ``other``'s (same records, same day)."""
        assert self.then is not None and other.then is not None
        then = _map_snapshots(lambda a, b: np.where(mask if a.ndim == 1 else mask[:, None], a, b), self.then,
                              other.then)
        return Settled(self.as_of, then, np.where(mask, self.first, other.first),
                       np.where(mask, self.before, other.before))


_SHARED_SNAPSHOT_FIELDS = frozenset({"as_of", "weights"})  # the same for every record of a batch


def _map_snapshots(per_record: Callable[..., Any], *parts: Snapshots) -> Snapshots:
    """Snapshots whose per-record fields are ``per_record`` of the parts' (the shared ones: the first part's)."""
    out: dict[str, Any] = {}
    for f in fields(Snapshots):
        values = [getattr(p, f.name) for p in parts]
        out[f.name] = values[0] if f.name in _SHARED_SNAPSHOT_FIELDS else per_record(*values)
    return Snapshots(**out)


def settle(c: Counts, record_types: Sequence[str], as_of: date, config: HealthConfig, *,
           then: bool = True) -> Settled:
    """The :class:`Settled` part of the health of every record of ``c`` as of ``as_of``."""
    n = len(record_types)
    end = as_of.toordinal()
    recent_start = end - config.trend_days + 1
    first, before = _trend_part(c, n, recent_start - config.baseline_days, recent_start - 1)
    snapshot_then = snapshots(c, record_types, as_of - timedelta(days=config.trend_days), config) if then else None
    return Settled(as_of, snapshot_then, first, before)


def _explanations(s: Snapshots, i: int, config: HealthConfig) -> tuple[FactorExplanation, ...]:
    recent, us, them = float(s.recent[i]), float(s.us[i]), float(s.them[i])
    expected = float(s.expected[i])
    answered, asked = int(s.answered[i]), int(s.asked[i])
    gap = None if s.last_day[i] < 0 else s.as_of.toordinal() - int(s.last_day[i])
    of = FactorExplanation.of
    return (
        of("activity", recent=recent, days=config.recent_days, expected=expected),
        of("recency.none") if gap is None else of("recency", gap=gap, expected_gap=30.0 / expected),
        of("reciprocity.none") if us + them == 0 else of("reciprocity", share=100 * them / (us + them)),
        of("responsiveness", answered=answered, asked=asked, days=config.reply_days) if asked
        else of("responsiveness.unprompted") if them > 0 else of("responsiveness.none"),
    )


def _snapshot(s: Snapshots, i: int, config: HealthConfig) -> Snapshot:
    values = s.values[i].tolist()
    weights = s.weights.tolist()
    notes = _explanations(s, i, config)
    factors = tuple(Factor(name, values[k], weights[k], notes[k]) for k, name in enumerate(FACTORS))
    score = float(s.score[i])
    return Snapshot(s.as_of, None if math.isnan(score) else score, factors, int(s.interactions[i]))


def snapshot(days: Iterable[DayCount], as_of: date, config: HealthConfig, record_type: str) -> Snapshot:
    """The health of a record as of the end of ``as_of`` from its daily counts (later days are ignored)."""
    return _snapshot(snapshots(Counts.of(days), [record_type], as_of, config), 0, config)


def rate_trend(days: Sequence[DayCount], as_of: date, config: HealthConfig) -> str:
    """The trend of one record (see :func:`trends`)."""
    return trends(Counts.of(days), 1, as_of, config)[0]


@dataclass(frozen=True, slots=True)
class BatchScores:
    """The health of n records: now, ``trend_days`` earlier, and the trend."""

    now: Snapshots
    then: Snapshots
    trend: list[str]

    def state(self, config: HealthConfig) -> list[str]:
        score = self.now.score
        good = np.where(score >= config.good_from, "Good", np.where(score >= config.fair_from, "Fair", "Poor"))
        out: list[str] = np.where(np.isnan(score), "Not enough info", good).tolist()
        return out

    def changes(self) -> FloatArray:
        """Points now minus points then per factor, rounded to 0.1 (meaningful where both scores exist)."""
        return np.round(self.now.points - self.then.points, 1)

    def result(self, i: int, config: HealthConfig) -> HealthResult:
        """Record ``i`` as a :class:`HealthResult` (with the factors' explanations)."""
        now = _snapshot(self.now, i, config)
        before = _snapshot(self.then, i, config)
        trend = self.trend[i]
        if now.score is None:
            return HealthResult(None, "Not enough info", trend, before.score, now.factors, {})
        state = config.state_of(now.score)
        if before.score is None:
            return HealthResult(now.score, state, trend, None, now.factors, {})
        changes = dict(zip(FACTORS, self.changes()[i].tolist(), strict=True))
        ordered = tuple(sorted(now.factors, key=lambda f: -abs(changes[f.name])))
        return HealthResult(now.score, state, trend, before.score, ordered, changes)

    def details(self, config: HealthConfig) -> list[tuple[float | None, str, str, dict[str, object]]]:
        """Per record: score, state, trend and the stored ``details`` (previous score; each factor's value,
        weight, points and change, largest movers first) — what a refresh writes, without building objects."""
        now, then = self.now, self.then
        scores = [None if math.isnan(x) else x for x in now.score.tolist()]
        previous = [None if math.isnan(x) else x for x in then.score.tolist()]
        values = np.round(now.values, 4).tolist()
        weights = np.round(now.weights, 4).tolist()
        points = np.round(now.points, 1).tolist()
        changes_all = self.changes()
        moves = np.argsort(-np.abs(changes_all), axis=1, kind="stable").tolist()
        changes = changes_all.tolist()
        natural = list(range(len(FACTORS)))
        out: list[tuple[float | None, str, str, dict[str, object]]] = []
        for i, (score, state, trend) in enumerate(zip(scores, self.state(config), self.trend, strict=True)):
            moved = score is not None and previous[i] is not None
            order = moves[i] if moved else natural
            factors = [{"name": FACTORS[k], "value": values[i][k], "weight": weights[k], "points": points[i][k],
                        "change": changes[i][k] if moved else None} for k in order]
            out.append((score, state, trend, {"previous": previous[i], "factors": factors}))
        return out


    def details_json(self, config: HealthConfig) -> list[tuple[float | None, str, str, str]]:
        """:meth:`details` with the details already as JSON text (what ``json.dumps`` of :meth:`details` gives,
        written straight from the arrays: a tenant's refresh stores one document per record)."""
        now, then = self.now, self.then
        scores = [None if math.isnan(x) else x for x in now.score.tolist()]
        previous = [None if math.isnan(x) else x for x in then.score.tolist()]
        moved = [a is not None and b is not None for a, b in zip(scores, previous, strict=True)]
        weights = [repr(w) for w in np.round(now.weights, 4).tolist()]
        changes_all = self.changes()
        moves = np.argsort(-np.abs(changes_all), axis=1, kind="stable").tolist()
        # One column of JSON fragments per factor, then each record's four in its order.
        columns = []
        for k, (v_col, p_col, c_col) in enumerate(zip(np.round(now.values, 4).T.tolist(),
                                                     np.round(now.points, 1).T.tolist(),
                                                     changes_all.T.tolist(), strict=True)):
            head = f'{{"name": "{FACTORS[k]}", "value": '
            tail = f', "weight": {weights[k]}, "points": '
            columns.append([f'{head}{v!r}{tail}{p!r}, "change": {repr(c) if m else "null"}}}'
                            for v, p, c, m in zip(v_col, p_col, c_col, moved, strict=True)])
        first, second, third, fourth = columns
        out: list[tuple[float | None, str, str, str]] = []
        for i, (score, state, trend) in enumerate(zip(scores, self.state(config), self.trend, strict=True)):
            before = previous[i]
            if moved[i]:
                w, x, y, z = (columns[k][i] for k in moves[i])
            else:
                w, x, y, z = first[i], second[i], third[i], fourth[i]
            text = f'{{"previous": {"null" if before is None else repr(before)}, "factors": [{w}, {x}, {y}, {z}]}}'
            out.append((score, state, trend, text))
        return out


def score_batch(counts: Counts, record_types: Sequence[str], as_of: date, config: HealthConfig) -> BatchScores:
    """The health of every record of ``counts`` (``record_types[i]`` is record ``i``'s type) as of ``as_of``."""
    return score_settled(counts, record_types, as_of, config, settle(counts, record_types, as_of, config))


def score_settled(counts: Counts, record_types: Sequence[str], as_of: date, config: HealthConfig,
                  settled: Settled) -> BatchScores:
    """:func:`score_batch` with the records' :class:`Settled` part given: of ``counts`` only the entries of the
    scoring window and of the trend's recent period are read (earlier ones may be left out)."""
    assert settled.then is not None and settled.as_of == as_of
    return BatchScores(snapshots(counts, record_types, as_of, config), settled.then,
                       _settled_trends(counts, len(record_types), as_of, config, settled))


def evaluate_batch(counts: Counts, record_types: Sequence[str], as_of: date,
                   config: HealthConfig) -> list[HealthResult]:
    """:func:`evaluate` for many records at once: ``result[i]`` is the health of record ``i`` of ``counts``."""
    batch = score_batch(counts, record_types, as_of, config)
    return [batch.result(i, config) for i in range(len(record_types))]


def evaluate(days: Sequence[DayCount], as_of: date, config: HealthConfig, record_type: str) -> HealthResult:
    """Score, state, trend and factor movements (now vs ``trend_days`` earlier) of a record as of ``as_of``."""
    return score_batch(Counts.of(days), [record_type], as_of, config).result(0, config)


def history_days_needed(config: HealthConfig) -> int:
    """How many days of rollups :func:`evaluate` reads back from ``as_of``."""
    return max(max(config.window_days, config.recent_days) + config.trend_days,
               config.trend_days + config.baseline_days)

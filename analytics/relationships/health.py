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

from analytics.relationships.config import HealthConfig

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


def snapshot(days: Iterable[DayCount], as_of: date, config: HealthConfig, record_type: str) -> Snapshot:
    """The health of a record as of the end of ``as_of`` from its daily counts (later days are ignored)."""
    window_start = as_of - timedelta(days=config.window_days - 1)
    recent_start = as_of - timedelta(days=config.recent_days - 1)
    weights = config.type_weights
    in_window = [d for d in days if window_start <= d.day <= as_of and (d.from_us or d.from_them)]
    interactions = sum(d.from_us + d.from_them for d in in_window)
    expected = config.expected(record_type)

    recent = sum(weights.get(d.kind, 1.0) * (d.from_us + d.from_them) for d in in_window if d.day >= recent_start)
    activity = min(1.0, math.log1p(recent) / math.log1p(2 * expected))
    last_day = max((d.day for d in in_window), default=None)
    gap_expected = 30.0 / expected
    if last_day is None:
        recency, gap = 0.0, None
    else:
        gap = (as_of - last_day).days
        recency = 1.0 if gap <= gap_expected else math.exp(-(gap - gap_expected) / (2 * gap_expected))
    us = sum(weights.get(d.kind, 1.0) * d.from_us for d in in_window)
    them = sum(weights.get(d.kind, 1.0) * d.from_them for d in in_window)
    reciprocity = 2 * min(us, them) / (us + them) if us + them > 0 else 0.0
    answered, asked = _answered_outreach(in_window, as_of, config.reply_days)
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


def rate_trend(days: Sequence[DayCount], as_of: date, config: HealthConfig) -> tuple[str, float | None]:
    """Improving / Steady / Declining from the interaction rate of the last ``trend_days`` against the record's
    own baseline (the ``baseline_days`` before them, counted from its first interaction), and that ratio.

    Comparing a record with itself keeps the trend meaningful at any volume: a busy account that doubles its
    contact improves even though its score was already capped, and a quiet contact is not "declining" for being
    quiet. No baseline (a relationship younger than the recent period) gives "Not enough info".
    """
    recent_start = as_of - timedelta(days=config.trend_days - 1)
    window_start = recent_start - timedelta(days=config.baseline_days)
    active = [d for d in days if window_start <= d.day <= as_of and (d.from_us or d.from_them)]
    first = min((d.day for d in active), default=None)
    if first is None or first >= recent_start:
        return "Not enough info", None
    recent = sum(d.from_us + d.from_them for d in active if d.day >= recent_start)
    before = sum(d.from_us + d.from_them for d in active if d.day < recent_start)
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

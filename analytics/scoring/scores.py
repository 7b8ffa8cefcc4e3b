"""Scores 0–100, grades, trends and history: computing them for records and keeping them in the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from analytics.scoring.explain import Explanation, explain_rows
from analytics.scoring.policy import stuck_flag
from analytics.scoring.records import ScoringRecord, fingerprint
from analytics.scoring.registry import json_safe
from analytics.scoring.training import TrainedModel
from analytics.store import models

SCORE = models.table_of(models.Score)
HISTORY = models.table_of(models.ScoreHistory)
KIND = "predictive"
TREND_STEP = 5.0  # points: smaller moves read as "Steady"


@dataclass(frozen=True)
class GradeBands:
    """Lowest score of grades A, B and C (below C is D). Configurable per deployment."""

    a: float = 75.0
    b: float = 50.0
    c: float = 25.0

    def grade(self, value: float) -> str:
        """A, B, C or D."""
        if value >= self.a:
            return "A"
        if value >= self.b:
            return "B"
        if value >= self.c:
            return "C"
        return "D"

    @classmethod
    def parse(cls, text: str) -> GradeBands:
        """``"75,50,25"`` → bands; raises ``ValueError`` unless three decreasing numbers in 0–100."""
        parts = [float(p) for p in text.split(",")]
        if len(parts) != 3 or not 100 >= parts[0] > parts[1] > parts[2] >= 0:
            raise ValueError("three decreasing numbers between 0 and 100, e.g. 75,50,25")
        return cls(*parts)


def trend(previous: float | None, value: float) -> str:
    """Improving / Declining / Steady against the previous score, or New."""
    if previous is None:
        return "New"
    if value - previous >= TREND_STEP:
        return "Improving"
    if previous - value >= TREND_STEP:
        return "Declining"
    return "Steady"


@dataclass(frozen=True)
class ScoreCard:
    """One record's score with its reasons (what the bot's card and the CLI show)."""

    record_id: str
    value: float
    grade: str
    trend: str
    previous: float | None
    model_id: str
    likely: bool  # probability ≥ the model's F1-maximising threshold
    explanation: Explanation
    stuck: bool = False
    stuck_reason: str | None = None
    fingerprint: str | None = None  # of the CRM content scored (see records.fingerprint): tells a change
    # The model's F1-maximising cut-off as a score (0–100): ``likely`` is ``value ≥ cutoff``. Cards quote it: with
    # few positives it is often far below 50, and "likely to win: yes" beside a score of 31 needs it.
    cutoff: float | None = None

    def details(self) -> dict[str, Any]:
        """The JSON kept in ``score.details``."""
        e = self.explanation
        out: dict[str, Any] = json_safe({
            "probability": e.probability, "base": e.base, "logit": e.logit, "likely": self.likely,
            "positive": [asdict(r) for r in e.positive], "negative": [asdict(r) for r in e.negative],
            "stuck": self.stuck, "stuck_reason": self.stuck_reason, "previous": self.previous,
            "fingerprint": self.fingerprint, "cutoff": self.cutoff,
        })
        return out


def compute_cards(model: TrainedModel, model_id: str, records: Sequence[ScoringRecord], now: datetime,
                  bands: GradeBands, previous: Mapping[str, float | None]) -> list[ScoreCard]:
    """Score and explain ``records`` with ``model`` (pure)."""
    if not records:
        return []
    X = model.builder.transform(records)
    base, contrib = model.estimator.explain(X)
    explanations = explain_rows(model.builder, X, base, contrib, model.record_type)
    cards = []
    for record, e in zip(records, explanations, strict=True):
        value = round(100.0 * e.probability, 1)
        prev = previous.get(record.record_id)
        stuck, why = stuck_flag(record, model.stuck_limits, now)
        cards.append(ScoreCard(record.record_id, value, bands.grade(value), trend(prev, value), prev, model_id,
                               e.probability >= model.threshold, e, stuck, why, fingerprint(record),
                               round(100.0 * model.threshold, 1)))
    return cards


def previous_scores(conn: Connection, tenant_id: str, record_type: str) -> dict[str, float | None]:
    """The current stored predictive score of every record of a type."""
    rows = conn.execute(select(SCORE.c.record_id, SCORE.c.value).where(
        SCORE.c.tenant_id == tenant_id, SCORE.c.score_kind == KIND, SCORE.c.record_type == record_type))
    return {r.record_id: r.value for r in rows}


@dataclass(frozen=True)
class StoredScore:
    """What the store says about a record's current predictive score (for deciding whether it is due)."""

    model_id: str | None
    computed_at: datetime
    fingerprint: str | None


def stored_scores(conn: Connection, tenant_id: str, record_type: str) -> dict[str, StoredScore]:
    """The current predictive score of every record of a type: model, time and content fingerprint."""
    rows = conn.execute(select(SCORE.c.record_id, SCORE.c.model_id, SCORE.c.computed_at, SCORE.c.details).where(
        SCORE.c.tenant_id == tenant_id, SCORE.c.score_kind == KIND, SCORE.c.record_type == record_type))
    out = {}
    for r in rows:
        details = r.details if isinstance(r.details, dict) else {}
        at = r.computed_at if r.computed_at.tzinfo is not None else r.computed_at.replace(tzinfo=UTC)
        out[r.record_id] = StoredScore(r.model_id, at, details.get("fingerprint"))
    return out


def relationship_changes(conn: Connection, tenant_id: str, record_type: str) -> dict[str, datetime]:
    """When an incremental health refresh last rescored each record of a type from its people's rollups, i.e.
    when new mail or meetings of its contact or team reached the store (``health_score_change``; the next full
    health refresh empties it, and the daily rescore covers what it held)."""
    change = models.table_of(models.HealthScoreChange)
    rows = conn.execute(select(change.c.record_id, change.c.computed_at).where(
        change.c.tenant_id == tenant_id, change.c.record_type == record_type))
    return {r.record_id: r.computed_at if r.computed_at.tzinfo is not None else r.computed_at.replace(tzinfo=UTC)
            for r in rows}


def save_cards(conn: Connection, tenant_id: str, record_type: str, cards: Sequence[ScoreCard], now: datetime) -> None:
    """Replace current scores and append to the history (a second run at the same instant overwrites it)."""
    ids = [c.record_id for c in cards]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        conn.execute(delete(SCORE).where(SCORE.c.tenant_id == tenant_id, SCORE.c.score_kind == KIND,
                                         SCORE.c.record_type == record_type, SCORE.c.record_id.in_(chunk)))
        conn.execute(delete(HISTORY).where(HISTORY.c.tenant_id == tenant_id, HISTORY.c.score_kind == KIND,
                                           HISTORY.c.record_type == record_type, HISTORY.c.record_id.in_(chunk),
                                           HISTORY.c.computed_at == now))
    if not cards:
        return
    conn.execute(SCORE.insert(), [
        {"tenant_id": tenant_id, "score_kind": KIND, "record_type": record_type, "record_id": c.record_id,
         "value": c.value, "label": c.grade, "trend": c.trend, "model_id": c.model_id, "computed_at": now,
         "details": c.details()} for c in cards])
    conn.execute(HISTORY.insert(), [
        {"tenant_id": tenant_id, "score_kind": KIND, "record_type": record_type, "record_id": c.record_id,
         "computed_at": now, "value": c.value, "label": c.grade, "model_id": c.model_id} for c in cards])


def score_history(conn: Connection, tenant_id: str, record_type: str, record_id: str) -> list[tuple[datetime, float]]:
    """Every predictive score of a record, oldest first (for the chart of the score over time)."""
    rows = conn.execute(select(HISTORY.c.computed_at, HISTORY.c.value).where(
        HISTORY.c.tenant_id == tenant_id, HISTORY.c.score_kind == KIND, HISTORY.c.record_type == record_type,
        HISTORY.c.record_id == record_id).order_by(HISTORY.c.computed_at))
    return [(r.computed_at, r.value) for r in rows if r.value is not None]

"""Model lifecycle rules as pure functions: when to retrain, when to publish, when a deal is stuck."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from analytics.scoring.records import ScoringRecord

RETRAIN_EVERY = timedelta(days=15)
STALE_AFTER = timedelta(days=91)  # "over 3 months"
KEEP_RATIO = 0.95


@dataclass(frozen=True)
class ActiveInfo:
    """What the publishing rule needs of the active model."""

    accuracy: float
    published_at: datetime


@dataclass(frozen=True)
class Decision:
    """Whether to publish, and why (shown to admins and written to the audit log)."""

    publish: bool
    reason: str


def retrain_due(last_trained_at: datetime | None, now: datetime, every: timedelta = RETRAIN_EVERY) -> bool:
    """A model is retrained every 15 days (or when there is none)."""
    return last_trained_at is None or now - last_trained_at >= every


def publish_decision(publishable: bool, auc: float, auc_bar: float, accuracy: float, active: ActiveInfo | None,
                     now: datetime) -> Decision:
    """Publish a trained model when it clears the AUC bar and either there is no active model, it reaches
    ≥ 95 % of the active model's accuracy, or the active model is over 3 months old."""
    if not publishable:
        return Decision(False, f"validation AUC {auc:.3f} is below the bar of {auc_bar:.2f}")
    if active is None:
        return Decision(True, "no active model")
    if now - active.published_at > STALE_AFTER:
        return Decision(True, f"the active model is {(now - active.published_at).days} days old (over 3 months)")
    if accuracy >= KEEP_RATIO * active.accuracy:
        return Decision(True, f"accuracy {accuracy:.3f} ≥ 95 % of the active model's {active.accuracy:.3f}")
    return Decision(False, f"accuracy {accuracy:.3f} < 95 % of the active model's {active.accuracy:.3f}, "
                           "and the active model is under 3 months old")


def stage_dwell_days(record: ScoringRecord, now: datetime) -> dict[str, float]:
    """Days the record spent in each stage of its history (the last stage until closing, or ``now`` if open)."""
    out: dict[str, float] = {}
    history = sorted(record.stage_history, key=lambda e: e[1])
    for k, (stage, entered) in enumerate(history):
        left = history[k + 1][1] if k + 1 < len(history) else (record.closed_at or now)
        out[stage] = out.get(stage, 0.0) + max(0.0, (left - entered).total_seconds() / 86400.0)
    return out


def stuck_limits(records: Sequence[ScoringRecord], now: datetime, quantile: float = 0.9) -> dict[str, float]:
    """Per stage, how long won deals stayed there (their ``quantile``; 0.9 ignores a few outliers)."""
    per_stage: dict[str, list[float]] = {}
    for r in records:
        if r.label == 1:
            for stage, days in stage_dwell_days(r, now).items():
                per_stage.setdefault(stage, []).append(days)
    return {s: float(np.quantile(v, quantile)) for s, v in per_stage.items() if len(v) >= 5}


def stuck_flag(record: ScoringRecord, limits: Mapping[str, float], now: datetime) -> tuple[bool, str | None]:
    """Whether an open deal has been in its current stage longer than won deals stayed there, and the words."""
    if record.label is not None or not record.stage_history:
        return False, None
    stage, entered = max(record.stage_history, key=lambda e: e[1])
    days = (now - entered).total_seconds() / 86400.0
    limit = limits.get(stage)
    if limit is None or days <= limit:
        return False, None
    return True, f"in {stage} for {days:.0f} days; won deals left it within {limit:.0f} days"

"""Training: closed records in a window → a calibrated, explainable model with validation metrics (pure).

Steps (SPEC.md): keep closed records closed inside the window (3 months to 2 years before ``now``); require 40
of each outcome; sort by closing time, train on the oldest 80 % and validate on the newest 20 %; fit each
candidate (additive logistic regression, path-explained gradient boosting), each Platt-calibrated on
out-of-fold predictions of the training part; keep the candidate with the better out-of-fold AUC (chosen without
looking at the validation part); pick the F1-maximising threshold on those out-of-fold probabilities; report the
validation metrics. A field that alone separates the outcomes almost perfectly is reported as suspected leakage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from analytics.scoring.encoding import Matrix
from analytics.scoring.errors import NotEnoughData
from analytics.scoring.estimators import (
    AdditiveLogisticClassifier,
    BlendedClassifier,
    PathBoostingClassifier,
    PlattCalibratedClassifier,
)
from analytics.scoring.features import FeatureBuilder
from analytics.scoring.metrics import auc, best_f1_threshold, evaluate
from analytics.scoring.policy import stuck_limits
from analytics.scoring.records import ScoringRecord

MIN_WINDOW_DAYS = 91
MAX_WINDOW_DAYS = 730
POSITIVE_WORDS = {"lead": ("qualified", "disqualified"), "opportunity": ("won", "lost")}


@dataclass(frozen=True)
class TrainingConfig:
    """Knobs of a training run; defaults follow SPEC.md."""

    window_days: int = MAX_WINDOW_DAYS
    min_per_class: int = 40
    validation_share: float = 0.2
    auc_bar: float = 0.65
    leakage_auc: float = 0.98
    candidates: tuple[str, ...] = ("logistic", "boosting", "blend")
    calibration_folds: int = 3
    boosting_trees: int = 300
    random_state: int = 0

    def window(self) -> timedelta:
        """The training window, clamped to 3 months – 2 years."""
        return timedelta(days=min(MAX_WINDOW_DAYS, max(MIN_WINDOW_DAYS, self.window_days)))


@dataclass
class TrainedModel:
    """Everything needed to score and explain: the artifact stored in ``model_version``."""

    record_type: str
    name: str
    filters: dict[str, Any]
    builder: FeatureBuilder
    estimator: PlattCalibratedClassifier | BlendedClassifier
    algorithm: str
    threshold: float
    trained_at: datetime
    metrics: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    stuck_limits: dict[str, float] = field(default_factory=dict)

    @property
    def publishable(self) -> bool:
        return bool(self.metrics.get("publishable"))

    def schema_hash(self) -> str:
        return self.builder.schema_hash()


def closed_in_window(records: Sequence[ScoringRecord], now: datetime, config: TrainingConfig) -> list[ScoringRecord]:
    """Closed records whose closing falls inside the window, oldest closing first."""
    start = now - config.window()
    out = [r for r in records if r.label is not None and r.closed_at is not None and start <= r.closed_at <= now]
    return sorted(out, key=lambda r: (r.closed_at or r.created_at, r.record_id))


def _candidate(name: str, categorical: list[int], config: TrainingConfig) -> PlattCalibratedClassifier:
    if name == "logistic":
        base: Any = AdditiveLogisticClassifier(C=0.2, n_bins=10, categorical_features=categorical)
    elif name == "boosting":
        # 4-leaf trees: low-order interactions only, which keeps path attributions close to the true effects.
        # Half the features per split (random): a little less reliance on the few strongest fields, chosen by
        # cross-validation on the training part (docs/scoring.md).
        base = PathBoostingClassifier(n_estimators=config.boosting_trees, categorical_features=categorical,
                                      random_state=config.random_state, max_features=0.5)
    else:
        raise ValueError(f"unknown candidate {name!r}: logistic or boosting")
    return PlattCalibratedClassifier(base, cv=config.calibration_folds)


def leakage_warnings(builder: FeatureBuilder, X: Matrix, y: np.ndarray, bar: float) -> list[str]:
    """Fields that alone predict the outcome with AUC ≥ ``bar`` (in either direction)."""
    out = []
    for j, feature in enumerate(builder.features):
        col = X[:, j]
        if feature.kind == "category":
            rates = {int(c): float(y[col == c].mean()) for c in np.unique(col[~np.isnan(col)])}
            score = np.array([rates.get(int(v), np.nan) if not np.isnan(v) else np.nan for v in col])
        else:
            score = col.copy()
        score = np.where(np.isnan(score), np.nanmean(score) if np.isfinite(score).any() else 0.0, score)
        a = auc(y, score)
        if not math.isnan(a) and max(a, 1 - a) >= bar:
            out.append(f"suspected leakage: {feature.label!r} alone predicts the outcome with AUC "
                       f"{max(a, 1 - a):.3f}; if it is filled only after the outcome, mark it "
                       f"post_outcome = true in the mapping")
    return out


def train(records: Sequence[ScoringRecord], record_type: str, now: datetime, config: TrainingConfig = TrainingConfig(),
          *, name: str = "default", filters: Mapping[str, Any] | None = None) -> TrainedModel:
    """Train, compare and validate candidates on ``records`` as of ``now`` (raises :class:`NotEnoughData`)."""
    closed = closed_in_window(records, now, config)
    pos_word, neg_word = POSITIVE_WORDS[record_type]
    positives = sum(r.label == 1 for r in closed)
    negatives = len(closed) - positives
    start = now - config.window()
    if positives < config.min_per_class or negatives < config.min_per_class:
        raise NotEnoughData(record_type, positives, negatives, config.min_per_class,
                            f"between {start:%Y-%m-%d} and {now:%Y-%m-%d}"
                            + (f" matching {dict(filters)}" if filters else ""), pos_word, neg_word)
    n_val = max(1, math.ceil(config.validation_share * len(closed)))
    train_part, val_part = closed[:-n_val], closed[-n_val:]
    builder = FeatureBuilder().fit(train_part)
    X_train, X_val = builder.transform(train_part), builder.transform(val_part)
    y_train = np.array([r.label for r in train_part], dtype=np.float64)
    y_val = np.array([r.label for r in val_part], dtype=np.float64)
    warnings = leakage_warnings(builder, X_train, y_train, config.leakage_auc)
    if len(np.unique(y_train)) < 2:
        raise NotEnoughData(record_type, int(y_train.sum()), int(len(y_train) - y_train.sum()), config.min_per_class,
                            "in the oldest 80 % of the window", pos_word, neg_word)
    fitted: dict[str, PlattCalibratedClassifier | BlendedClassifier] = {}
    comparison: dict[str, dict[str, float]] = {}
    # One thread for the numerical libraries: the matrices are small per step, and on a shared machine
    # waiting threads cost more than they bring (see estimators._one_thread).
    with threadpool_limits(limits=1):
        for cand in config.candidates:
            if cand == "blend":
                members = [m for m in fitted.values() if isinstance(m, PlattCalibratedClassifier)]
                if len(members) < 2:
                    continue
                model: PlattCalibratedClassifier | BlendedClassifier = BlendedClassifier.from_fitted(
                    members, X_train, y_train)
            else:
                model = _candidate(cand, builder.categorical_indices, config).fit(X_train, y_train)
            fitted[cand] = model
            comparison[cand] = {"oof_auc": model.oof_auc_, "validation_auc": auc(y_val, model.predict_proba(X_val)[:, 1])}
    best = max(fitted, key=lambda c: (np.nan_to_num(comparison[c]["oof_auc"], nan=-1.0), c == "logistic"))
    model = fitted[best]  # chosen on training data only: the validation AUCs above are reported, not used
    oof_p = 1.0 / (1.0 + np.exp(-model.oof_decision_))
    threshold = best_f1_threshold(y_train, oof_p)
    metrics = evaluate(y_val, model.predict_proba(X_val)[:, 1], threshold)
    metrics.update(
        algorithm=best, candidates=comparison, n_train=len(train_part), n_validation=len(val_part),
        window_start=start.isoformat(), window_end=now.isoformat(), auc_bar=config.auc_bar,
        publishable=bool(not math.isnan(metrics["auc"]) and metrics["auc"] >= config.auc_bar),
        train_positives=int(y_train.sum()),
    )
    limits = stuck_limits(closed, now) if record_type == "opportunity" else {}
    return TrainedModel(record_type=record_type, name=name, filters=dict(filters or {}), builder=builder,
                        estimator=model, algorithm=best, threshold=threshold, trained_at=now, metrics=metrics,
                        warnings=warnings, stuck_limits=limits)

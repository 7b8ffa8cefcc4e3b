"""Training rules: enough data, window, time split, metrics, threshold, leakage, AUC bar, explanations."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from analytics.scoring.errors import NotEnoughData
from analytics.scoring.explain import explain_rows
from analytics.scoring.training import TrainingConfig, closed_in_window, train
from tests.analytics.scoring.synth import NOW, records

FAST = TrainingConfig(candidates=("logistic",), calibration_folds=2)


def test_too_little_data_names_what_is_missing() -> None:
    recs = [r for r in records(200) if r.label is not None]
    few = [r for r in recs if r.label == 1][:25] + [r for r in recs if r.label == 0][:60]
    with pytest.raises(NotEnoughData) as caught:
        train(few, "lead", NOW, FAST)
    err = caught.value
    assert (err.positives, err.negatives) == (25, 60)
    assert "15 more qualified" in str(err)
    assert "disqualified" not in str(err).split("missing")[1]


def test_records_closed_outside_the_window_do_not_count() -> None:
    recs = records(400)
    config = replace(FAST, window_days=120)
    inside = closed_in_window(recs, NOW, config)
    assert inside and all(NOW - r.closed_at <= timedelta(days=120) for r in inside if r.closed_at)
    assert len(inside) < len([r for r in recs if r.label is not None])
    # The window is clamped to 3 months .. 2 years.
    assert replace(FAST, window_days=10).window() == timedelta(days=91)
    assert replace(FAST, window_days=5000).window() == timedelta(days=730)


def test_oldest_80_percent_train_newest_20_percent_validate() -> None:
    recs = records(500)
    model = train(recs, "lead", NOW, FAST)
    closed = closed_in_window(recs, NOW, FAST)
    assert model.metrics["n_validation"] == int(np.ceil(0.2 * len(closed)))
    assert model.metrics["n_train"] + model.metrics["n_validation"] == len(closed)
    assert model.builder.n_train == model.metrics["n_train"]
    for key in ("accuracy", "precision", "recall", "f1", "auc", "confusion", "roc", "calibration"):
        assert key in model.metrics
    cm = model.metrics["confusion"]
    assert cm["tp"] + cm["fp"] + cm["fn"] + cm["tn"] == model.metrics["n_validation"]
    assert 0.0 < model.threshold < 1.0
    assert model.metrics["auc"] > 0.7  # industry, free mail and visits carry real signal
    assert model.publishable


def test_candidates_are_compared_and_the_better_kept() -> None:
    model = train(records(500), "lead", NOW, TrainingConfig(boosting_trees=60, calibration_folds=2))
    cands = model.metrics["candidates"]
    assert set(cands) == {"logistic", "boosting", "blend"}
    assert model.algorithm == max(cands, key=lambda c: (cands[c]["oof_auc"], c == "logistic"))


def test_a_model_without_signal_is_not_publishable() -> None:
    noise = records(500, seed=5, positive_share=0.5)
    model = train(noise, "lead", NOW, FAST)
    assert model.metrics["auc"] < 0.65
    assert not model.publishable


def test_a_field_that_gives_the_outcome_away_is_reported_as_leakage() -> None:
    recs = [replace(r, fields={**r.fields, "status_reason": "won" if r.label else "lost"}) for r in records(300)]
    model = train(recs, "lead", NOW, FAST)
    assert any("'Status reason'" in w and "post_outcome" in w for w in model.warnings)
    clean = train(records(300), "lead", NOW, FAST)
    assert clean.warnings == []


def test_reasons_add_up_and_quote_a_training_statistic() -> None:
    recs = records(500)
    model = train(recs, "lead", NOW, TrainingConfig(calibration_folds=2, boosting_trees=60))
    open_recs = [r for r in recs if r.label is None] or recs[:5]
    X = model.builder.transform(open_recs)
    base, contrib = model.estimator.explain(X)
    np.testing.assert_allclose(base + contrib.sum(axis=1), model.estimator.decision_function(X), atol=1e-8)
    [e, *_] = explain_rows(model.builder, X, base, contrib, "lead")
    np.testing.assert_allclose(e.probability, model.estimator.predict_proba(X[:1])[0, 1], atol=1e-9)
    assert len(e.positive) <= 10 and len(e.negative) <= 10
    assert all(a.contribution >= b.contribution for a, b in zip(e.positive, e.positive[1:], strict=False))
    industry = next(r for r in (*e.positive, *e.negative) if r.feature == "account.industry")
    assert industry.text.startswith(f"Account's industry is {industry.value} — ")
    assert "% of such leads qualified" in industry.text and industry.count

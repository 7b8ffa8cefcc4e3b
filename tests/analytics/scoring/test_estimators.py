"""The custom estimators honour scikit-learn's contract and their explanations add up exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from analytics.scoring.encoding import TabularEncoder
from analytics.scoring.estimators import (
    AdditiveLogisticClassifier,
    BlendedClassifier,
    PathBoostingClassifier,
    PlattCalibratedClassifier,
    platt_sigmoid,
)


@parametrize_with_checks([
    TabularEncoder(),
    TabularEncoder(n_bins=4),
    AdditiveLogisticClassifier(),
    PathBoostingClassifier(n_estimators=20, min_samples_leaf=1),
    PathBoostingClassifier(n_estimators=20, min_samples_leaf=1, max_features=0.5),
    PlattCalibratedClassifier(cv=2),
    BlendedClassifier([PlattCalibratedClassifier(cv=2),
                       PlattCalibratedClassifier(PathBoostingClassifier(n_estimators=10), cv=2)]),
])
def test_estimator_follows_the_scikit_learn_contract(estimator: Any, check: Any) -> None:
    check(estimator)


def _mixed_data(n: int = 600, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cat = rng.integers(0, 4, n).astype(float)
    num = rng.normal(size=n)
    gap = rng.normal(size=n)
    gap[rng.random(n) < 0.2] = np.nan
    logit = np.array([-1.0, 0.0, 0.5, 1.5])[cat.astype(int)] + 1.2 * num - 0.8 * np.nan_to_num(gap)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return np.column_stack([cat, num, gap]), y


@pytest.mark.parametrize("model", [
    AdditiveLogisticClassifier(categorical_features=[0]),
    PathBoostingClassifier(n_estimators=40, categorical_features=[0]),
    PathBoostingClassifier(n_estimators=40, categorical_features=[0], max_features=0.5),  # as training builds it
    PlattCalibratedClassifier(AdditiveLogisticClassifier(categorical_features=[0])),
    PlattCalibratedClassifier(PathBoostingClassifier(n_estimators=30, categorical_features=[0])),
    BlendedClassifier([PlattCalibratedClassifier(AdditiveLogisticClassifier(categorical_features=[0])),
                       PlattCalibratedClassifier(PathBoostingClassifier(n_estimators=30, categorical_features=[0]))]),
])
def test_contributions_plus_base_equal_the_decision_function(model: Any) -> None:
    X, y = _mixed_data()
    model.fit(X, y)
    base, contrib = model.explain(X)
    assert contrib.shape == X.shape
    np.testing.assert_allclose(base + contrib.sum(axis=1), model.decision_function(X), atol=1e-8)
    # Not a tautology: the features that drive the label carry the largest average contributions.
    assert np.abs(contrib).mean(axis=0)[1] > 0.2


def test_calibrated_probabilities_match_observed_rates() -> None:
    X, y = _mixed_data(n=3000)
    model = PlattCalibratedClassifier(AdditiveLogisticClassifier(categorical_features=[0])).fit(X, y)
    p = model.predict_proba(X)[:, 1]
    for lo, hi in [(0.0, 0.3), (0.3, 0.7), (0.7, 1.0)]:
        sel = (p >= lo) & (p < hi)
        assert abs(p[sel].mean() - y[sel].mean()) < 0.05


def _drifting(n: int = 1500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows in time order, three periods; the feature's relation to the label is reversed in the last one. A
    model fitted on the first two periods ranks the third backwards, one fitted on all of them ranks right."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    period = np.arange(n) * 3 // n
    sign = np.where(period < 2, 1.0, -1.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-3 * sign * x))).astype(int)
    return np.c_[x, rng.normal(size=n)], y


@pytest.mark.parametrize("make", [
    lambda: PlattCalibratedClassifier(AdditiveLogisticClassifier()),
    lambda: BlendedClassifier([PlattCalibratedClassifier(AdditiveLogisticClassifier()),
                               PlattCalibratedClassifier(PathBoostingClassifier(n_estimators=30))]),
])
def test_calibration_keeps_the_order_of_a_model_fitted_on_drifting_time_ordered_rows(make: Any) -> None:
    # Unshuffled folds are the three periods here: their out-of-fold scores rank backwards and the sigmoid
    # fitted on them had a negative slope, which turned the final model (x counts for the label) upside down.
    X, y = _drifting()
    model = make().fit(X, y)
    assert model.slope_ > 0
    probe = np.c_[np.linspace(-2, 2, 9), np.zeros(9)]
    assert np.all(np.diff(model.predict_proba(probe)[:, 1]) > 0)


def test_platt_sigmoid_never_reverses_the_scores() -> None:
    rng = np.random.default_rng(1)
    f = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-2 * f))).astype(np.intp)
    slope, _offset = platt_sigmoid(f, y)
    assert slope == pytest.approx(2.0, rel=0.15)
    slope, offset = platt_sigmoid(-f, y)  # scores that rank the positives lower: no usable ranking
    assert slope == 0.0
    assert 1 / (1 + np.exp(-offset)) == pytest.approx(y.mean())


def test_a_model_without_out_of_fold_ranking_is_flat_and_never_the_better_candidate() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(600, 2))
    y = (rng.random(600) < 0.3).astype(int)  # the label ignores X
    model = PlattCalibratedClassifier(AdditiveLogisticClassifier(), cv=3).fit(X, y)
    # With this seed the noise ranks backwards out of fold: the model is flat, and its AUC says so.
    assert model.slope_ == 0.0
    assert model.oof_auc_ == 0.5
    assert np.ptp(model.predict_proba(X)[:, 1]) == 0.0


def test_boosting_explanations_stay_exact_for_reordered_unseen_and_missing_categories() -> None:
    X, y = _mixed_data()
    X = X[:, [1, 0, 2]]  # the category in the middle: the boosting model reorders its input internally
    model = PathBoostingClassifier(n_estimators=40, categorical_features=[1]).fit(X, y)
    probe = X[:50].copy()
    probe[:10, 1] = 7.0  # a category never seen in training
    probe[10:20, 1] = np.nan
    base, contrib = model.explain(probe)
    np.testing.assert_allclose(base + contrib.sum(axis=1), model.decision_function(probe), atol=1e-8)
    assert np.abs(contrib).mean(axis=0)[1] > 0.1  # the category's planted effect is credited to its own column

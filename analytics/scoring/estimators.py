"""Binary classifiers whose every prediction comes with exact additive feature contributions.

Each classifier here follows the scikit-learn estimator contract and adds
``explain(X) -> (base, contributions)``: ``contributions`` has one column per *input* feature and, for every
row, ``base + contributions.sum(axis=1) == decision_function(X)`` (log-odds) up to floating-point rounding.

* :class:`AdditiveLogisticClassifier` — logistic regression on :class:`TabularEncoder` output; a feature's
  contribution is ``Σ w_j (z_j − mean_j)`` over its encoded columns, the base ``b + Σ w_j mean_j`` (exact).
* :class:`PathBoostingClassifier` — histogram gradient boosting (scikit-learn's ``HistGradientBoostingClassifier``,
  native categorical splits) with path attributions (Saabas): every split on a path moves the prediction from the
  parent's expected value to the child's; the move is credited to the split feature. Expected node values are
  recomputed from leaf values and training counts, so the base is the training-set expectation and the sum
  telescopes to the leaf (exact). Per tree, a leaf → contributions table is built once at fit time.
* :class:`PlattCalibratedClassifier` — wraps either; fits a sigmoid ``a·f + b`` on out-of-fold decision values
  (Platt scaling, ``a ≥ 0``: :func:`platt_sigmoid`) and scales the explanation by ``a`` (and the base by ``a``,
  plus ``b``), so reasons still add up exactly, now to the calibrated log-odds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from analytics.scoring.encoding import Matrix, TabularEncoder

Vector = NDArray[np.float64]


def _sigmoid(z: Vector) -> Vector:
    out: Vector = 0.5 * (1.0 + np.tanh(0.5 * z))  # tanh form avoids overflow warnings for large |z|
    return out


def _one_thread() -> threadpool_limits:
    """OpenMP limited to one thread for the boosting: 4-leaf trees leave too little work per step to pay for
    thread synchronisation, and on a busy machine spinning threads cost far more (30,000 records: 313 s with the
    default threads on 2 loaded cores, 11 s with one)."""
    return threadpool_limits(limits=1, user_api="openmp")


class _BinaryExplainable(ClassifierMixin, BaseEstimator):
    """Shared plumbing: binary targets, probabilities from log-odds, tags."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        return tags

    def _targets(self, y: Any) -> NDArray[np.intp]:
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(f"Only binary classification is supported. The type of the target is {y_type}.")
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(f"{type(self).__name__} is binary: y must hold exactly 2 classes, "
                             f"got {len(self.classes_)} class(es)")
        out: NDArray[np.intp] = encoded.astype(np.intp)
        return out

    def decision_function(self, X: Any) -> Vector:
        """Log-odds of the positive class (``classes_[1]``)."""
        raise NotImplementedError

    def predict_proba(self, X: Any) -> Matrix:
        """Probabilities of ``classes_[0]`` and ``classes_[1]``."""
        check_is_fitted(self)
        p = _sigmoid(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> NDArray[Any]:
        """The more probable class."""
        check_is_fitted(self)
        out: NDArray[Any] = self.classes_[(self.decision_function(X) > 0).astype(np.intp)]
        return out


class AdditiveLogisticClassifier(_BinaryExplainable):
    """L2 logistic regression on one-hot categories and scaled + quantile-binned numbers.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength.
    categorical_features : sequence of int, default=()
        Columns holding category codes (see :class:`TabularEncoder`).
    n_bins : int, default=5
        Quantile bins added per numeric column (0: linear terms only).
    max_iter : int, default=1000
        Solver iterations.
    """

    def __init__(self, C: float = 1.0, categorical_features: Sequence[int] = (), n_bins: int = 5,
                 max_iter: int = 1000) -> None:
        self.C = C
        self.categorical_features = categorical_features
        self.n_bins = n_bins
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any) -> AdditiveLogisticClassifier:
        """Encode ``X`` and fit the logistic regression."""
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite="allow-nan")
        target = self._targets(y)
        self.encoder_ = TabularEncoder(self.categorical_features, n_bins=self.n_bins).fit(X)
        Z = self.encoder_.transform(X)
        self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(Z, target)
        self.coef_ = self.model_.coef_[0].copy()
        self.intercept_ = float(self.model_.intercept_[0])
        self.n_iter_ = self.model_.n_iter_.copy()
        self.encoded_mean_ = Z.mean(axis=0)
        self.expected_value_ = self.intercept_ + float(self.coef_ @ self.encoded_mean_)
        self.group_matrix_ = self.encoder_.group_matrix()
        return self

    def decision_function(self, X: Any) -> Vector:
        """Log-odds of the positive class."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        out: Vector = self.encoder_.transform(X) @ self.coef_ + self.intercept_
        return out

    def explain(self, X: Any) -> tuple[float, Matrix]:
        """Base value and per-input-feature contributions that sum exactly to :meth:`decision_function`."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        Z = self.encoder_.transform(X) - self.encoded_mean_
        contrib: Matrix = (Z * self.coef_) @ self.group_matrix_
        return self.expected_value_, contrib


class PathBoostingClassifier(_BinaryExplainable):
    """Histogram gradient boosting on the log-loss, with exact path (Saabas) attributions.

    scikit-learn's ``HistGradientBoostingClassifier`` does the boosting: ``categorical_features`` are split on
    natively (codes as :class:`~analytics.scoring.features.FeatureBuilder` makes them, below 255) and missing
    values follow the side learnt for them, so no encoding is needed. At fit time every tree gets a table
    *leaf → contribution per input feature*: each split on the way to the leaf credits ``E[child] − E[parent]``
    (expected values recomputed from leaf values and training counts) to its feature. :meth:`explain` finds each
    row's leaf in every tree with scikit-learn's own traversal (a copy of the tree whose leaf values are the
    leaf numbers) and adds the table rows; the sums telescope to the leaf values, so ``base + Σ = log-odds``.

    Parameters
    ----------
    n_estimators : int, default=200
        Boosting iterations (trees).
    learning_rate : float, default=0.05
    max_leaf_nodes : int, default=4
        Leaves per tree: small trees keep interactions low-order, so attributions stay close to true effects.
    min_samples_leaf : int, default=20
    l2_regularization : float, default=1.0
    max_features : float, default=1.0
        Share of the features each split chooses among (drawn at random per split; 1.0: all).
    categorical_features : sequence of int, default=()
        Columns holding non-negative integer category codes (``NaN`` = missing).
    random_state : int or None, default=0
    """

    def __init__(self, n_estimators: int = 200, learning_rate: float = 0.05, max_leaf_nodes: int = 4,
                 min_samples_leaf: int = 20, l2_regularization: float = 1.0, categorical_features: Sequence[int] = (),
                 random_state: int | None = 0, max_features: float = 1.0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.categorical_features = categorical_features
        self.random_state = random_state
        self.max_features = max_features

    def fit(self, X: Any, y: Any) -> PathBoostingClassifier:
        """Boost trees and precompute each tree's leaf-to-feature contribution table."""
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite="allow-nan")
        target = self._targets(y)
        n = X.shape[1]
        mask = np.zeros(n, dtype=bool)
        cats = [int(i) for i in self.categorical_features]
        if any(i < 0 or i >= n for i in cats):
            raise ValueError(f"categorical_features must be column indices below {n}")
        mask[cats] = True
        model = HistGradientBoostingClassifier(
            max_iter=self.n_estimators, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            categorical_features=mask if mask.any() else None, early_stopping=False,
            random_state=self.random_state, max_features=self.max_features,
        )
        with _one_thread():
            self.model_ = model.fit(X, target)
        self.leaf_trees_: list[TreePredictor] = []
        tables: list[Matrix] = []
        # With categorical columns, the model reorders its input (categories first, then numbers): tree feature
        # ``r`` is input column ``original[r]``.
        original = np.r_[np.flatnonzero(mask), np.flatnonzero(~mask)] if mask.any() else np.arange(n)
        offset, root_total = 0, 0.0
        for (predictor,) in self.model_._predictors:
            nodes = predictor.nodes
            expected = self._expected_values(nodes)
            root_total += expected[0]
            tables.append(self._cumulative(nodes, expected, original))
            numbered = nodes.copy()
            numbered["value"] = offset + np.arange(len(nodes), dtype=np.float64)  # leaf → its table row
            self.leaf_trees_.append(TreePredictor(numbered, predictor.binned_left_cat_bitsets,
                                                  predictor.raw_left_cat_bitsets))
            offset += len(nodes)
        self.leaf_table_ = np.vstack(tables) if tables else np.zeros((0, n))
        self.expected_value_ = float(self.model_._baseline_prediction.ravel()[0]) + root_total
        return self

    @staticmethod
    def _expected_values(nodes: Any) -> Vector:
        """Each node's training-count-weighted mean leaf value."""
        expected: Vector = np.array(nodes["value"], dtype=np.float64)
        weight: Vector = np.array(nodes["count"], dtype=np.float64)
        left, right, leaf = nodes["left"], nodes["right"], nodes["is_leaf"]
        # Children are numbered after their parent (the grower appends them): one reverse pass suffices.
        for node in range(len(nodes) - 1, -1, -1):
            if not leaf[node]:
                lo, hi = left[node], right[node]
                weight[node] = weight[lo] + weight[hi]
                expected[node] = (weight[lo] * expected[lo] + weight[hi] * expected[hi]) / weight[node]
        return expected

    @staticmethod
    def _cumulative(nodes: Any, expected: Vector, original: NDArray[np.intp]) -> Matrix:
        """Rows = nodes: the contributions accumulated on the path from the root to that node."""
        table = np.zeros((len(nodes), len(original)))
        for parent in range(len(nodes)):  # parents before children, so the parent's row is complete
            if not nodes["is_leaf"][parent]:
                feature = int(original[nodes["feature_idx"][parent]])
                for child in (int(nodes["left"][parent]), int(nodes["right"][parent])):
                    table[child] = table[parent]
                    table[child, feature] += expected[child] - expected[parent]
        return table

    def _validated(self, X: Any) -> Matrix:
        check_is_fitted(self, "leaf_table_")
        out: Matrix = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return out

    def decision_function(self, X: Any) -> Vector:
        """Log-odds of the positive class."""
        X = self._validated(X)
        with _one_thread():
            out: Vector = self.model_.decision_function(X)
        return out

    def explain(self, X: Any) -> tuple[float, Matrix]:
        """Base value and per-input-feature path contributions that sum exactly to :meth:`decision_function`."""
        X = np.ascontiguousarray(self.model_._preprocess_X(self._validated(X), reset=False))
        known, f_idx_map = self.model_._bin_mapper.make_known_categories_bitsets()
        contrib = np.zeros((X.shape[0], self.n_features_in_))
        for tree in self.leaf_trees_:
            rows = tree.predict(X, known, f_idx_map, 1).astype(np.intp)
            contrib += self.leaf_table_[rows]
        return self.expected_value_, contrib


def platt_sigmoid(decision: Vector, target: NDArray[np.intp]) -> tuple[float, float]:
    """Slope and offset of the sigmoid ``slope·f + offset`` fitted to out-of-fold decision values (Platt scaling),
    never decreasing: calibration maps scores to probabilities and must keep the model's order. When the scores
    do not rank the positives higher out of fold (a fitted slope ≤ 0), the model has shown no usable ranking; it
    then predicts the base rate for everyone (slope 0, no contributions), which also keeps it from being chosen
    over a candidate that ranks."""
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(decision[:, None], target)
    slope = float(platt.coef_[0, 0])
    if slope > 0:
        return slope, float(platt.intercept_[0])
    rate = float(np.clip(target.mean(), 1e-6, 1 - 1e-6))
    return 0.0, float(np.log(rate / (1 - rate)))


class PlattCalibratedClassifier(_BinaryExplainable):
    """Platt-scaled probabilities for an explainable classifier, with explanations in calibrated log-odds.

    Parameters
    ----------
    estimator : estimator with ``decision_function`` and ``explain``, default=None
        The model to calibrate (``AdditiveLogisticClassifier()`` when ``None``).
    cv : int, default=3
        Shuffled, seeded stratified folds for the out-of-fold decision values the sigmoid is fitted on (the final
        model uses all data).
    """

    def __init__(self, estimator: Any = None, cv: int = 3) -> None:
        self.estimator = estimator
        self.cv = cv

    def fit(self, X: Any, y: Any) -> PlattCalibratedClassifier:
        """Fit the estimator on all of ``X`` and the sigmoid on its out-of-fold decision values."""
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite="allow-nan")
        target = self._targets(y)
        base = self.estimator if self.estimator is not None else AdditiveLogisticClassifier()
        oof = np.zeros(len(target))
        folds = min(self.cv, int(np.bincount(target).min()))
        if folds >= 2:
            # Shuffled (seeded) folds: training records come in time order, and unshuffled folds are then time
            # blocks. Under drift a model fitted on two blocks can rank the third backwards (UCI Bank Marketing:
            # out-of-fold AUC 0.35), and a sigmoid fitted on that would turn the final model upside down.
            split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0).split(X, target)
            for train, test in split:
                oof[test] = clone(base).fit(X[train], target[train]).decision_function(X[test])
        self.estimator_ = clone(base).fit(X, target)
        if folds < 2:  # too few of a class to cross-validate: calibrate in-sample
            oof = self.estimator_.decision_function(X)
        self.slope_, self.offset_ = platt_sigmoid(oof, target)
        self.oof_decision_ = self.slope_ * oof + self.offset_
        # Of the calibrated scores: the raw ones' AUC, or 0.5 when the sigmoid is flat (no usable ranking).
        self.oof_auc_ = float(roc_auc_score(target, self.oof_decision_)) if folds >= 2 else float("nan")
        return self

    def decision_function(self, X: Any) -> Vector:
        """Calibrated log-odds of the positive class."""
        check_is_fitted(self, "slope_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        out: Vector = self.slope_ * self.estimator_.decision_function(X) + self.offset_
        return out

    def explain(self, X: Any) -> tuple[float, Matrix]:
        """Base and contributions of the wrapped model, mapped to calibrated log-odds (still exactly additive)."""
        check_is_fitted(self, "slope_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        base, contrib = self.estimator_.explain(X)
        return self.slope_ * base + self.offset_, self.slope_ * contrib


class BlendedClassifier(_BinaryExplainable):
    """The average of several calibrated explainable classifiers' log-odds, re-calibrated with Platt scaling.

    Averaging keeps explanations exact: the blend's contributions are the average of its members' (times the
    outer sigmoid's slope). ``fit`` fits every member; :meth:`from_fitted` reuses members already fitted on the
    same data (their out-of-fold decision values are averaged, so nothing is fitted twice).

    Parameters
    ----------
    estimators : list of PlattCalibratedClassifier, default=None
        The members (a logistic and a boosting model when ``None``).
    """

    def __init__(self, estimators: list[PlattCalibratedClassifier] | None = None) -> None:
        self.estimators = estimators

    def fit(self, X: Any, y: Any) -> BlendedClassifier:
        """Fit every member, then the outer sigmoid on the averaged out-of-fold log-odds."""
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite="allow-nan")
        target = self._targets(y)
        members = self.estimators or [PlattCalibratedClassifier(AdditiveLogisticClassifier(), cv=3),
                                      PlattCalibratedClassifier(PathBoostingClassifier(n_estimators=50), cv=3)]
        self.estimators_ = [clone(m).fit(X, target) for m in members]
        self._calibrate(target)
        return self

    @classmethod
    def from_fitted(cls, members: list[PlattCalibratedClassifier], X: Any, y: Any) -> BlendedClassifier:
        """A blend of members already fitted on ``(X, y)``."""
        blend = cls(estimators=members)
        X, y = validate_data(blend, X, y, dtype=np.float64, ensure_all_finite="allow-nan")
        target = blend._targets(y)
        blend.estimators_ = list(members)
        blend._calibrate(target)
        return blend

    def _calibrate(self, target: NDArray[np.intp]) -> None:
        oof = np.mean([m.oof_decision_ for m in self.estimators_], axis=0)
        self.slope_, self.offset_ = platt_sigmoid(oof, target)
        self.oof_decision_ = self.slope_ * oof + self.offset_
        self.oof_auc_ = float(roc_auc_score(target, self.oof_decision_))

    def decision_function(self, X: Any) -> Vector:
        """Calibrated log-odds of the positive class."""
        check_is_fitted(self, "slope_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        mean = np.mean([m.decision_function(X) for m in self.estimators_], axis=0)
        out: Vector = self.slope_ * mean + self.offset_
        return out

    def explain(self, X: Any) -> tuple[float, Matrix]:
        """Averaged member explanations mapped through the outer sigmoid (exactly additive)."""
        check_is_fitted(self, "slope_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        parts = [m.explain(X) for m in self.estimators_]
        base = float(np.mean([b for b, _ in parts]))
        contrib = np.mean([c for _, c in parts], axis=0)
        return self.slope_ * base + self.offset_, self.slope_ * contrib

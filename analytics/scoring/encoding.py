"""``TabularEncoder``: numeric CRM features (category codes and numbers with gaps) → a model matrix.

It is a scikit-learn transformer (``__init__`` stores parameters, ``fit`` learns attributes ending in ``_``) and
records, for every output column, which input column it came from (``groups_``). That map is what lets the
classifiers of :mod:`analytics.scoring.estimators` report contributions per *input* feature that add up exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

Matrix = NDArray[np.float64]


class TabularEncoder(TransformerMixin, BaseEstimator):
    """One-hot encode categorical columns, impute and optionally scale or bin numeric ones.

    Parameters
    ----------
    categorical_features : sequence of int, default=()
        Indices of columns holding non-negative integer category codes (``NaN`` = missing). Each category seen
        in ``fit`` becomes a 0/1 column; unknown or missing codes encode as all zeros.
    n_bins : int, default=0
        For numeric columns, additionally one-hot encode ``n_bins`` quantile bins (0: none). Bins let a linear
        model follow a non-linear effect while staying additive per feature.
    scale : bool, default=True
        Standardise numeric columns (after median imputation).
    """

    def __init__(self, categorical_features: Sequence[int] = (), n_bins: int = 0, scale: bool = True) -> None:
        self.categorical_features = categorical_features
        self.n_bins = n_bins
        self.scale = scale

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN means "missing" and is encoded, not rejected
        return tags

    def fit(self, X: Any, y: Any = None) -> TabularEncoder:
        """Learn categories, medians, scales, bin edges and the output-to-input column map."""
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        n = X.shape[1]
        cats = set(int(i) for i in self.categorical_features)
        if any(i < 0 or i >= n for i in cats):
            raise ValueError(f"categorical_features must be column indices below {n}")
        self.categories_: dict[int, NDArray[np.float64]] = {}
        self.medians_ = np.zeros(n)
        self.means_ = np.zeros(n)
        self.scales_ = np.ones(n)
        self.has_missing_ = np.isnan(X).any(axis=0)
        self.bin_edges_: dict[int, NDArray[np.float64]] = {}
        groups: list[int] = []
        for j in range(n):
            col = X[:, j]
            present = col[~np.isnan(col)]
            if j in cats:
                self.categories_[j] = np.unique(present)
                groups.extend([j] * len(self.categories_[j]))
            else:
                median = float(np.median(present)) if present.size else 0.0
                filled = np.where(np.isnan(col), median, col)
                self.medians_[j] = median
                self.means_[j] = float(filled.mean())
                std = float(filled.std())
                self.scales_[j] = std if self.scale and std > 0 else 1.0
                groups.append(j)
                if self.n_bins > 1 and present.size:
                    edges = np.unique(np.quantile(present, np.linspace(0, 1, self.n_bins + 1)[1:-1]))
                    self.bin_edges_[j] = edges
                    groups.extend([j] * (len(edges) + 1))
            if self.has_missing_[j]:
                groups.append(j)
        self.groups_ = np.asarray(groups, dtype=np.intp)
        return self

    def transform(self, X: Any) -> Matrix:
        """The encoded matrix: per input column, its one-hot / value / bin / missing-indicator columns."""
        check_is_fitted(self, "groups_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        parts: list[Matrix] = []
        for j in range(X.shape[1]):
            col = X[:, j]
            missing = np.isnan(col)
            if j in self.categories_:
                parts.append((col[:, None] == self.categories_[j][None, :]).astype(np.float64))
            else:
                filled = np.where(missing, self.medians_[j], col)
                if self.scale:
                    filled = (filled - self.means_[j]) / self.scales_[j]
                parts.append(filled[:, None])
                if j in self.bin_edges_:
                    edges = self.bin_edges_[j]
                    idx = np.searchsorted(edges, np.where(missing, self.medians_[j], col), side="right")
                    onehot = np.zeros((X.shape[0], len(edges) + 1))
                    onehot[np.arange(X.shape[0]), idx] = 1.0
                    parts.append(onehot)
            if self.has_missing_[j]:
                parts.append(missing.astype(np.float64)[:, None])
        if not parts:
            return np.zeros((X.shape[0], 0))
        return np.hstack(parts)

    def group_matrix(self) -> Matrix:
        """A 0/1 matrix (encoded columns × input columns) that sums encoded contributions per input column."""
        check_is_fitted(self, "groups_")
        g = np.zeros((len(self.groups_), self.n_features_in_))
        g[np.arange(len(self.groups_)), self.groups_] = 1.0
        return g

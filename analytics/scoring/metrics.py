"""Validation metrics of a binary scorer (pure: labels and probabilities in, numbers out)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

Vector = NDArray[np.float64]


def best_f1_threshold(y: Vector, p: Vector) -> float:
    """The probability threshold that maximises F1 on ``(y, p)`` (0.5 when undefined)."""
    if len(np.unique(y)) < 2:
        return 0.5
    precision, recall, thresholds = precision_recall_curve(y, p)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    return float(thresholds[best]) if len(thresholds) else 0.5


def auc(y: Vector, p: Vector) -> float:
    """ROC AUC, or NaN when ``y`` holds one class only."""
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


def evaluate(y: Vector, p: Vector, threshold: float) -> dict[str, Any]:
    """Accuracy, precision, recall, F1, AUC, Brier score, confusion matrix, ROC and calibration points."""
    pred = (p >= threshold).astype(int)
    yi = y.astype(int)
    tp = int(((pred == 1) & (yi == 1)).sum())
    fp = int(((pred == 1) & (yi == 0)).sum())
    fn = int(((pred == 0) & (yi == 1)).sum())
    tn = int(((pred == 0) & (yi == 0)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    out: dict[str, Any] = {
        "n": len(y), "positives": int(yi.sum()), "threshold": threshold,
        "accuracy": (tp + tn) / len(y) if len(y) else float("nan"),
        "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "auc": auc(y, p), "brier": float(np.mean((p - y) ** 2)) if len(y) else float("nan"),
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
    }
    if len(np.unique(y)) == 2:
        fpr, tpr, _ = roc_curve(y, p)
        keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 101)).astype(int))
        out["roc"] = {"fpr": fpr[keep].round(4).tolist(), "tpr": tpr[keep].round(4).tolist()}
        # About 30 records per point at least: deciles of a small validation set would only show noise.
        frac, mean = calibration_curve(y, p, n_bins=max(2, min(10, len(y) // 30)), strategy="quantile")
        out["calibration"] = {"predicted": mean.round(4).tolist(), "observed": frac.round(4).tolist()}
    return out

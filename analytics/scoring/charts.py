"""PNG charts of a model (ROC curve, calibration) and of a record's score over time, drawn headless."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: charts are files for cards and reports, never windows

import matplotlib.pyplot as plt


def roc_chart(metrics: Mapping[str, Any], path: Path, title: str) -> Path:
    """The validation ROC curve with its AUC."""
    roc = metrics.get("roc") or {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]}
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    ax.plot(roc["fpr"], roc["tpr"], label=f"model (AUC {metrics.get('auc') or float('nan'):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return _save(fig, path)


def calibration_chart(metrics: Mapping[str, Any], path: Path, title: str) -> Path:
    """Predicted probability against the observed rate, per validation decile."""
    cal = metrics.get("calibration") or {"predicted": [], "observed": []}
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    ax.plot(cal["predicted"], cal["observed"], marker="o", label="model")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="upper left")
    return _save(fig, path)


def score_history_chart(points: Sequence[tuple[datetime, float]], path: Path, title: str) -> Path:
    """A record's predictive score over time."""
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    when: Any = [p[0] for p in points]  # matplotlib plots datetimes; its stubs only admit numbers
    ax.plot(when, [p[1] for p in points], marker="o")
    ax.set_ylim(0, 100)
    ax.set_ylabel("score")
    ax.set_title(title)
    fig.autofmt_xdate()
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path

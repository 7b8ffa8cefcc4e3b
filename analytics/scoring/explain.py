"""Contributions → reasons in plain words, each with the training statistic that supports it (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analytics.scoring.encoding import Matrix
from analytics.scoring.features import FeatureBuilder
from analytics.scoring.records import WORDS

CARD_REASONS = 5
DETAIL_REASONS = 10
MIN_CONTRIBUTION = 0.005  # log-odds; smaller shares would read as reasons without moving the score


@dataclass(frozen=True)
class Reason:
    """One feature's share of a score, in log-odds, with the words shown to people."""

    feature: str
    label: str
    value: str
    contribution: float
    text: str
    rate: float | None = None
    count: int | None = None


@dataclass(frozen=True)
class Explanation:
    """Why a record scored what it did: ``base + Σ contributions == logit`` and ``probability = σ(logit)``."""

    base: float
    logit: float
    probability: float
    positive: tuple[Reason, ...]  # strongest first, up to DETAIL_REASONS
    negative: tuple[Reason, ...]
    total_contribution: float  # sum over every feature, not only the ones listed

    def card(self) -> tuple[tuple[Reason, ...], tuple[Reason, ...]]:
        """The top reasons each way for a card."""
        return self.positive[:CARD_REASONS], self.negative[:CARD_REASONS]


def reason_text(builder: FeatureBuilder, j: int, value: float, record_type: str) -> tuple[str, str, float | None,
                                                                                          int | None]:
    """``(value text, sentence, rate, count)`` for feature ``j`` at ``value``."""
    feature = builder.features[j]
    plural, outcome = WORDS[record_type]
    shown = builder.value_text(j, value)
    band = builder.band_of(j, value)
    if band is None or band.total == 0:
        return shown, f"{feature.label} is {shown}", None, None
    if feature.kind == "number" and not np.isnan(value):
        scope = f"of {plural} with {feature.label.lower()} {band.text}"
    else:
        scope = f"of such {plural}"
    sentence = (f"{feature.label} is {shown} — {band.rate:.0%} {scope} {outcome} "
                f"({band.positives} of {band.total}; {builder.base_rate:.0%} overall)")
    return shown, sentence, band.rate, band.total


def explain_rows(builder: FeatureBuilder, X: Matrix, base: float, contributions: Matrix, record_type: str,
                 limit: int = DETAIL_REASONS) -> list[Explanation]:
    """One :class:`Explanation` per row of ``X`` from a model's ``explain`` output.

    Ranking is vectorised over all rows; a sentence depends only on the feature and its value, so each distinct
    ``(feature, value)`` is put into words once per call.
    """
    m = contributions.shape[1]
    k = min(limit, m)
    totals = contributions.sum(axis=1)
    logits = base + totals
    probabilities = 1.0 / (1.0 + np.exp(-logits))
    top = np.argsort(-contributions, axis=1, kind="stable")[:, :k]
    bottom = np.argsort(contributions, axis=1, kind="stable")[:, :k]
    words: dict[tuple[int, float | None], tuple[str, str, float | None, int | None]] = {}
    features = builder.features
    # Plain lists: indexing them per reason is several times cheaper than indexing numpy arrays.
    values, shares = X.tolist(), contributions.tolist()

    def reason(i: int, j: int) -> Reason:
        value = values[i][j]
        key = (j, None if math.isnan(value) else value)
        said = words.get(key)
        if said is None:
            said = words[key] = reason_text(builder, j, value, record_type)
        shown, text, rate, count = said
        f = features[j]
        return Reason(f.key, f.label, shown, shares[i][j], text, rate, count)

    out: list[Explanation] = []
    for i, (up, down) in enumerate(zip(top.tolist(), bottom.tolist(), strict=True)):
        row = shares[i]
        pos = tuple(reason(i, j) for j in up if row[j] > MIN_CONTRIBUTION)
        neg = tuple(reason(i, j) for j in down if row[j] < -MIN_CONTRIBUTION)
        out.append(Explanation(base=float(base), logit=float(logits[i]), probability=float(probabilities[i]),
                               positive=pos, negative=neg, total_contribution=float(totals[i])))
    return out

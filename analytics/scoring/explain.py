"""Contributions → reasons in plain words, each with the training statistic that supports it (pure)."""

from __future__ import annotations

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
    """One :class:`Explanation` per row of ``X`` from a model's ``explain`` output."""
    out: list[Explanation] = []
    for i in range(X.shape[0]):
        row = contributions[i]
        logit = float(base + row.sum())
        order = np.argsort(-row)
        pos = [j for j in order[:limit] if row[j] > MIN_CONTRIBUTION]
        neg = [j for j in order[::-1][:limit] if row[j] < -MIN_CONTRIBUTION]

        def reason(j: int, _i: int = i, _row: np.ndarray = row) -> Reason:
            shown, text, rate, count = reason_text(builder, int(j), float(X[_i, j]), record_type)
            f = builder.features[int(j)]
            return Reason(f.key, f.label, shown, float(_row[j]), text, rate, count)

        out.append(Explanation(
            base=float(base), logit=logit, probability=float(1.0 / (1.0 + np.exp(-logit))),
            positive=tuple(reason(j) for j in pos), negative=tuple(reason(j) for j in neg),
            total_contribution=float(row.sum()),
        ))
    return out

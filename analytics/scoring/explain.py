"""Contributions → reasons in plain words, each with the training statistic behind it (pure).

The statistic (the value's own outcome rate) is marginal while the contribution is conditional on the other
fields, so a sentence says so when the two point different ways (see :func:`supports`, docs/scoring.md).
"""

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
    """One feature's share of a score, in log-odds, with the words shown to people and the numbers they quote."""

    feature: str
    label: str
    value: str
    contribution: float
    text: str
    rate: float | None = None
    count: int | None = None
    supported: bool | None = None  # the quoted rate points the contribution's way (None: no rate quoted)
    # What ``text`` says as data, so a reader can word it in another language (``bot.conversation.i18n``):
    positives: int | None = None  # of the ``count`` training records quoted, how many qualified / were won
    overall: float | None = None  # the training outcome rate quoted beside ``rate``
    band: str | None = None  # the numeric band quoted ("2–7"); None when "such" records are quoted
    record_type: str | None = None  # whose outcome the rate counts (``WORDS``); None in details stored before


@dataclass(frozen=True, slots=True)
class Wording:
    """A feature value put into words (:func:`reason_text`): what a :class:`Reason` shows besides its feature and
    contribution. ``rate`` and what follows it are None when there is no training statistic to quote."""

    value: str
    text: str
    rate: float | None
    count: int | None
    supported: bool | None
    positives: int | None
    overall: float | None
    band: str | None


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


def percent(share: float) -> int:
    """``share`` as the whole percent a reason prints (the same rounding as ``f"{share:.0%}"``)."""
    return int(f"{100.0 * share:.0f}")


def supports(rate: float, base_rate: float, contribution: float) -> bool:
    """Whether a value's own outcome rate, as printed, points the way its contribution does.

    The contribution is conditional on the record's other fields, the rate is not (it counts every training record
    with the value), so with correlated fields the two can disagree; equal printed rates support neither way.
    """
    rate_pct, base_pct = percent(rate), percent(base_rate)
    return rate_pct > base_pct if contribution > 0 else rate_pct < base_pct


def reason_text(builder: FeatureBuilder, j: int, value: float, record_type: str, contribution: float) -> Wording:
    """Feature ``j`` at ``value`` moving the score by ``contribution``, in words and the numbers they quote.

    A rate that points the other way is still quoted (it is true, and hiding it would look like cherry-picking),
    but the sentence then says that, weighed with the other fields, the value moves the score the way it does.
    """
    return _directed(_stated(builder, j, value, record_type), builder.base_rate, contribution)


def _stated(builder: FeatureBuilder, j: int, value: float, record_type: str) -> Wording:
    """Feature ``j`` at ``value`` in words with its training statistic, whichever way it moves a score
    (``supported`` None): the part of a reason that only depends on the value."""
    feature = builder.features[j]
    plural, outcome = WORDS[record_type]
    shown = builder.value_text(j, value)
    band = builder.band_of(j, value)
    if band is None or band.total == 0:
        return Wording(shown, f"{feature.label} is {shown}", None, None, None, None, None, None)
    numeric = feature.kind == "number" and not np.isnan(value)
    scope = f"of {plural} with {feature.label.lower()} {band.text}" if numeric else f"of such {plural}"
    sentence = (f"{feature.label} is {shown} — {percent(band.rate)}% {scope} {outcome} "
                f"({band.positives} of {band.total}; {percent(builder.base_rate)}% overall)")
    return Wording(shown, sentence, band.rate, band.total, None, band.positives, builder.base_rate,
                   band.text if numeric else None)


def _directed(stated: Wording, base_rate: float, contribution: float) -> Wording:
    """A :func:`_stated` wording for a value that moves the score by ``contribution``."""
    if stated.rate is None:
        return stated
    supported = supports(stated.rate, base_rate, contribution)
    text = stated.text if supported else (
        f"{stated.text}, but weighed with the other fields it {'raises' if contribution > 0 else 'lowers'} the score")
    return Wording(stated.value, text, stated.rate, stated.count, supported, stated.positives, stated.overall,
                   stated.band)


def explain_rows(builder: FeatureBuilder, X: Matrix, base: float, contributions: Matrix, record_type: str,
                 limit: int = DETAIL_REASONS) -> list[Explanation]:
    """One :class:`Explanation` per row of ``X`` from a model's ``explain`` output.

    Ranking is vectorised over all rows; a sentence depends only on the feature, its value and the direction of
    its contribution, so each distinct ``(feature, value, direction)`` is put into words once per call.
    """
    m = contributions.shape[1]
    k = min(limit, m)
    totals = contributions.sum(axis=1)
    logits = base + totals
    probabilities = 1.0 / (1.0 + np.exp(-logits))
    top = np.argsort(-contributions, axis=1, kind="stable")[:, :k]
    bottom = np.argsort(contributions, axis=1, kind="stable")[:, :k]
    # Words per (feature, value) and, from them, per direction: most values move scores one way only, and a
    # number's value is often its record's alone, so the costly part (formatting, the band) is done once a value.
    stated: dict[tuple[int, float | None], Wording] = {}
    words: dict[tuple[int, float | None, bool], Wording] = {}
    features = builder.features
    # Plain lists: indexing them per reason is several times cheaper than indexing numpy arrays.
    values, shares = X.tolist(), contributions.tolist()

    def reason(i: int, j: int) -> Reason:
        value, share = values[i][j], shares[i][j]
        at = (j, None if math.isnan(value) else value)
        key = (*at, share > 0)
        said = words.get(key)
        if said is None:
            plain = stated.get(at)
            if plain is None:
                plain = stated[at] = _stated(builder, j, value, record_type)
            said = words[key] = _directed(plain, builder.base_rate, share)
        f = features[j]
        return Reason(f.key, f.label, said.value, share, said.text, said.rate, said.count, said.supported,
                      said.positives, said.overall, said.band, record_type)

    out: list[Explanation] = []
    for i, (up, down) in enumerate(zip(top.tolist(), bottom.tolist(), strict=True)):
        row = shares[i]
        pos = tuple(reason(i, j) for j in up if row[j] > MIN_CONTRIBUTION)
        neg = tuple(reason(i, j) for j in down if row[j] < -MIN_CONTRIBUTION)
        out.append(Explanation(base=float(base), logit=float(logits[i]), probability=float(probabilities[i]),
                               positive=pos, negative=neg, total_contribution=float(totals[i])))
    return out

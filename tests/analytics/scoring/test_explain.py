"""Reason sentences: a quoted win rate that points against its contribution is not presented as support.

The data plant Simpson's paradox: Brazilian accounts are mostly enterprise accounts, which win more, so Brazil's
own win rate is above the overall one, while within each segment Brazilian deals win *less* (−1.35 log-odds in
both). A model weighs country given segment, so Brazil lowers the score although its plain rate is high.
"""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pytest

from analytics.scoring.explain import Reason, Wording, explain_rows, percent, reason_text, supports
from analytics.scoring.features import FeatureBuilder
from analytics.scoring.records import ScoringRecord
from analytics.scoring.training import TrainedModel, TrainingConfig, train
from tests.analytics.scoring.synth import NOW

# (segment, country, response hours): (deals, won) — 50 % overall, Brazil 64 %, the US 36 %.
CELLS = {
    ("Enterprise", "BR", 2.0): (180, 126),  # 70 %
    ("Enterprise", "US", 30.0): (20, 18),  # 90 %
    ("SMB", "BR", 2.0): (20, 2),  # 10 %
    ("SMB", "US", 30.0): (180, 54),  # 30 %
}
LOWERS = ", but weighed with the other fields it lowers the score"
RAISES = ", but weighed with the other fields it raises the score"


def deals(*, hours: bool = True) -> list[ScoringRecord]:
    """Closed opportunities of :data:`CELLS`, shuffled in time so the oldest 80 % keep the proportions.

    The response hours follow the country, so a model given both would split Brazil's effect between them.
    """
    rows = [(segment, country, hours, won)
            for (segment, country, hours), (n, wins) in CELLS.items() for won in [1] * wins + [0] * (n - wins)]
    random.Random(3).shuffle(rows)
    start = NOW - timedelta(days=500)
    return [ScoringRecord(f"OPP-{i:04d}", start + timedelta(days=i), won, closed_at=start + timedelta(days=i + 20),
                          account_fields={"segment": segment, "country": country},
                          relationship={"our_response_hours": hour} if hours else {})
            for i, (segment, country, hour, won) in enumerate(rows)]


def builder() -> FeatureBuilder:
    return FeatureBuilder().fit(deals())


def column(b: FeatureBuilder, key: str) -> int:
    return next(j for j, f in enumerate(b.features) if f.key == key)


def code(b: FeatureBuilder, key: str, category: str) -> float:
    return float(b.features[column(b, key)].categories.index(category))


def test_a_rate_that_agrees_with_the_contribution_reads_as_before() -> None:
    b = builder()
    j = column(b, "account.country")
    said = reason_text(b, j, code(b, "account.country", "BR"), "opportunity", 0.4)
    assert said == Wording("BR", "Account's country is BR — 64% of such opportunities were won (128 of 200; 50% "
                           "overall)", 0.64, 200, True, 128, 0.5, None)
    said = reason_text(b, j, code(b, "account.country", "US"), "opportunity", -0.4)
    assert said.supported is True
    assert said.text == "Account's country is US — 36% of such opportunities were won (72 of 200; 50% overall)"


def test_a_rate_that_disagrees_says_how_the_value_weighs_instead_of_claiming_support() -> None:
    b = builder()
    j = column(b, "account.country")
    text = reason_text(b, j, code(b, "account.country", "BR"), "opportunity", -0.4).text
    assert text == "Account's country is BR — 64% of such opportunities were won (128 of 200; 50% overall)" + LOWERS
    said = reason_text(b, j, code(b, "account.country", "US"), "opportunity", 0.4)
    assert said.supported is False and (said.rate, said.count, said.positives, said.overall) == (0.36, 200, 72, 0.5)
    assert said.text == "Account's country is US — 36% of such opportunities were won (72 of 200; 50% overall)" + RAISES
    # Numbers quote their training band, and read the same way.
    j = column(b, "rel.our_response_hours")
    said = reason_text(b, j, 30.0, "opportunity", 0.4)
    assert said.rate == 0.36 and said.supported is False and said.band is not None
    assert said.text.startswith(f"Our first response (hours) is 30 — 36% of opportunities with our first response "
                                f"(hours) {said.band} ")
    assert said.text.endswith("were won (72 of 200; 50% overall)" + RAISES)


def test_support_is_judged_on_the_percentages_people_read() -> None:
    assert supports(0.64, 0.5, 0.1) and not supports(0.64, 0.5, -0.1)
    assert supports(0.36, 0.5, -0.1) and not supports(0.36, 0.5, 0.1)
    # 44.4 % and 44.2 % both print as 44 %: the rate supports neither direction.
    assert not supports(0.444, 0.442, 0.1) and not supports(0.444, 0.442, -0.1)
    assert all(f"{x:.0%}" == f"{percent(x)}%" for x in np.linspace(0.0, 1.0, 2001))


def _consistent(reason: Reason, base_pct: int) -> bool:
    """The sentence is consistent: its quoted rate supports its direction, or it says the fields weigh it."""
    assert reason.rate is not None
    rate_pct = percent(reason.rate)
    agrees = rate_pct > base_pct if reason.contribution > 0 else rate_pct < base_pct
    clause = RAISES if reason.contribution > 0 else LOWERS
    return f"— {rate_pct}% " in reason.text and reason.text.endswith(clause) is not agrees


@pytest.fixture(scope="module")
def model_and_rows() -> tuple[TrainedModel, list[ScoringRecord]]:
    recs = deals(hours=False)
    model = train(recs, "opportunity", NOW, TrainingConfig(candidates=("logistic",), calibration_folds=2))
    first = {(r.account_fields["segment"], r.account_fields["country"]): r for r in reversed(recs)}
    return model, list(first.values())


def test_a_trained_model_keeps_each_reason_in_its_section_and_the_sum_exact(
        model_and_rows: tuple[TrainedModel, list[ScoringRecord]]) -> None:
    model, rows = model_and_rows
    X = model.builder.transform(rows)
    base, contrib = model.estimator.explain(X)
    np.testing.assert_allclose(base + contrib.sum(axis=1), model.estimator.decision_function(X), atol=1e-8)
    explanations = explain_rows(model.builder, X, base, contrib, "opportunity")
    base_pct = percent(model.builder.base_rate)
    for row, e in zip(rows, explanations, strict=True):
        np.testing.assert_allclose(e.base + e.total_contribution, e.logit, atol=1e-12)
        assert all(r.contribution > 0 for r in e.positive) and all(r.contribution < 0 for r in e.negative)
        quoting = [r for r in (*e.positive, *e.negative) if r.rate is not None]
        assert quoting and all(_consistent(r, base_pct) for r in quoting)
        country = next(r for r in (*e.positive, *e.negative) if r.feature == "account.country")
        segment = next(r for r in (*e.positive, *e.negative) if r.feature == "account.segment")
        # Given the segment, Brazil lowers the score and the US raises it, against their plain rates.
        if row.account_fields["country"] == "BR":
            assert country in e.negative and country.rate is not None and percent(country.rate) > base_pct
            assert country.text.endswith(LOWERS)
        else:
            assert country in e.positive and country.rate is not None and percent(country.rate) < base_pct
            assert country.text.endswith(RAISES)
        # The segment's rate agrees with its contribution: the sentence is the plain one.
        assert segment.text.endswith(f"; {base_pct}% overall)") and segment.supported is True
        assert country.supported is False
        # What the sentence quotes is kept as data too (the bot words it in Chinese from it).
        assert country.record_type == "opportunity" and country.overall == model.builder.base_rate
        assert country.rate is not None and country.count is not None and country.positives is not None
        assert f"({country.positives} of {country.count}; " in country.text and country.band is None


def test_number_bands_name_the_values_they_hold_without_overlap() -> None:
    """Bands are named by their lowest and highest training value: quantile edges made neighbours overlap
    ("0–2", "2–5": 2 is only in the second) and a band of the top value alone read "30–30"."""
    from analytics.scoring.features import Feature

    feature = Feature("rel.emails_them", "Emails from them", "number", "relationship")
    column = np.array([0, 0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 30, 30, 30, 30, 30, 30, 30, 30, np.nan], dtype=float)
    y = np.array([0] * 10 + [1] * 11, dtype=float)
    stats = FeatureBuilder._stats(feature, column, y)
    texts = [b.text for b in stats.bands if b.total]
    assert texts == ["0", "1–3", "4–7", "30"]
    assert sum(b.total for b in stats.bands) == 20 and stats.missing is not None and stats.missing.total == 1
    builder_bands = {b.text: b for b in stats.bands}
    assert builder_bands["30"].positives == 8


def test_rates_read_as_percentages_and_durations_to_a_tenth() -> None:
    """"Their response rate is 0.9" and "Their response hours is 22.03" were how reasons read."""
    from analytics.scoring.features import Feature, _fmt_of

    rate = Feature("rel.their_response_rate", "Their response rate", "number", "relationship")
    hours = Feature("rel.their_response_hours", "Their first response (hours)", "number", "relationship")
    close = Feature("estimated_close", "Estimated close (days after creation)", "number", "record", is_date=True)
    assert _fmt_of(rate, 0.9) == "90%" and _fmt_of(hours, 22.03) == "22" and _fmt_of(hours, 8.19) == "8.2"
    assert _fmt_of(hours, 2.0) == "2" and _fmt_of(close, 48.04) == "48" and _fmt_of(close, 130.4) == "130"
    stats = FeatureBuilder._stats(rate, np.array([0.5, 0.6, 0.75, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
                                  np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1], dtype=float))
    assert [b.text for b in stats.bands if b.total] == ["50%–60%", "75%–80%", "100%"]

"""Stored health views keep each factor explanation's variant and numbers (what a Chinese card is written from)."""

from __future__ import annotations

import dataclasses
import json
import zlib
from datetime import UTC, date, datetime, timedelta

from analytics.query import health_view_of
from analytics.relationships.config import HealthConfig
from analytics.relationships.explanations import FactorExplanation
from analytics.relationships.health import DayCount, evaluate
from analytics.stored_views import FORMAT, decode, encode
from analytics.views import FactorView, KpiView, SideKpis, TargetRef

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TARGET = TargetRef("contact", "jane@fabrikam.com", "Jane Doe")


def _kpis() -> KpiView:
    side = SideKpis(1, 0, 0, 1, 5.0, None, None, ())
    return KpiView(90, NOW, side, side, 1.0, None, None, ())


def _days() -> list[DayCount]:
    today = NOW.date()
    return [DayCount(today - timedelta(days=d), kind, us, them)
            for d, kind, us, them in ((12, "meeting", 1, 0), (20, "email", 1, 1), (50, "email", 1, 0),
                                      (70, "email", 0, 1), (100, "email", 1, 1))]


def test_a_stored_view_decodes_with_the_explanations_variants_and_numbers() -> None:
    result = evaluate(_days(), NOW.date(), HealthConfig(), "contact")
    live = health_view_of(TARGET, result, _kpis(), (), NOW)
    stored = decode(encode(live, [3, 1]), TARGET)
    assert stored is not None and stored.view == live and stored.contact_ids == (1, 3)
    for before, after in zip(live.factors, stored.view.factors, strict=True):
        assert isinstance(before.explanation, FactorExplanation)
        assert isinstance(after.explanation, FactorExplanation)
        assert str(after.explanation) == str(before.explanation)
        assert after.explanation.key == before.explanation.key
        assert dict(after.explanation.args) == dict(before.explanation.args)
        assert all(type(v) is type(before.explanation.args[k]) for k, v in after.explanation.args.items())


def test_a_plain_explanation_is_stored_as_its_text() -> None:
    live = health_view_of(TARGET, evaluate(_days(), date(2026, 11, 2), HealthConfig(), "contact"), _kpis(), (), NOW)
    plain = dataclasses.replace(live, factors=(FactorView("recency", 0.5, 0.3, 15.0, None, "a sentence"),))
    stored = decode(encode(plain, []), TARGET)
    assert stored is not None and stored.view.factors == plain.factors
    assert not isinstance(stored.view.factors[0].explanation, FactorExplanation)


def test_views_stored_before_explanations_had_their_data_are_answered_live() -> None:
    assert FORMAT >= 3
    live = health_view_of(TARGET, evaluate(_days(), NOW.date(), HealthConfig(), "contact"), _kpis(), (), NOW)
    body = json.loads(zlib.decompress(encode(live, [])))
    body["format"] = 2
    assert decode(zlib.compress(json.dumps(body).encode()), TARGET) is None

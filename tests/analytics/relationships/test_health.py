from __future__ import annotations

from datetime import date, timedelta

import pytest

from analytics.errors import ConfigError
from analytics.relationships.config import HealthConfig, health_config
from analytics.relationships.health import DayCount, evaluate, snapshot

AS_OF = date(2026, 11, 2)


def steady_emails(days_back: range, *, us: int = 1, them: int = 1) -> list[DayCount]:
    return [DayCount(AS_OF - timedelta(days=d), "email", us, them) for d in days_back]


def test_fewer_interactions_than_the_minimum_is_not_enough_info() -> None:
    result = evaluate([DayCount(AS_OF, "email", 1, 0)], AS_OF, HealthConfig(), "contact")
    assert (result.score, result.state, result.trend) == (None, "Not enough info", "Not enough info")


def test_regular_two_way_contact_is_good_and_steady() -> None:
    result = evaluate(steady_emails(range(0, 150, 4)), AS_OF, HealthConfig(), "contact")
    assert result.state == "Good"
    assert result.trend == "Steady"
    assert result.score is not None and result.score > 80


def test_contact_that_stopped_two_months_ago_declines_and_recency_moves_most() -> None:
    result = evaluate(steady_emails(range(60, 150, 3)), AS_OF, HealthConfig(), "contact")
    assert result.trend == "Declining"
    assert result.state == "Poor"
    assert result.factors[0].name in ("recency", "activity")
    assert result.changes[result.factors[0].name] < 0


def test_relationship_that_picked_up_improves() -> None:
    days = steady_emails(range(60, 150, 20), us=1, them=0) + steady_emails(range(0, 30, 2))
    result = evaluate(days, AS_OF, HealthConfig(), "contact")
    assert result.trend == "Improving"


def test_one_way_outreach_scores_lower_than_a_two_way_exchange() -> None:
    config = HealthConfig()
    one_way = snapshot(steady_emails(range(0, 60, 3), us=2, them=0), AS_OF, config, "contact")
    two_way = snapshot(steady_emails(range(0, 60, 3), us=1, them=1), AS_OF, config, "contact")
    assert one_way.score is not None and two_way.score is not None
    assert two_way.score > one_way.score + 20


def test_unanswered_recent_outreach_is_not_held_against_them() -> None:
    config = HealthConfig()
    days = [*steady_emails(range(10, 40, 5)), DayCount(AS_OF, "email", 1, 0)]
    responsiveness = {f.name: f.value for f in snapshot(days, AS_OF, config, "contact").factors}["responsiveness"]
    assert responsiveness == 1.0


def test_tenant_options_change_bands_and_weights_within_fifty_percent() -> None:
    config = health_config({"health": {"bands": {"good": 70, "fair": 50},
                                       "type_weights": {"meeting": 4.5},
                                       "factor_weights": {"activity": 0.5}}})
    assert config.state_of(65) == "Fair"
    assert config.type_weights["meeting"] == 4.5
    assert abs(sum(config.factor_weights.values()) - 1.0) < 1e-9
    assert config.factor_weights["activity"] > HealthConfig().factor_weights["activity"]


@pytest.mark.parametrize("options", [
    {"health": {"type_weights": {"meeting": 5.0}}},
    {"health": {"factor_weights": {"recency": 0.1}}},
    {"health": {"factor_weights": {"charm": 0.3}}},
    {"health": {"bands": {"good": 40, "fair": 60}}},
    {"health": {"expected_per_30_days": {"contact": "often"}}},
])
def test_out_of_range_tenant_options_are_refused_with_their_path(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"tenant\.options\.health"):
        health_config(options)

"""Publishing, retraining and stuck-deal rules (pure functions, table-tested)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.scoring.errors import ScoringError
from analytics.scoring.filters import matches, validate_filters
from analytics.scoring.intelligent import email_domain_kind, name_plausibility
from analytics.scoring.policy import ActiveInfo, publish_decision, retrain_due, stuck_flag, stuck_limits
from analytics.scoring.records import ScoringRecord
from analytics.scoring.scores import GradeBands, trend

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(("publishable", "accuracy", "active", "publish", "why"), [
    (False, 0.9, None, False, "below the bar"),
    (True, 0.7, None, True, "no active model"),
    (True, 0.76, ActiveInfo(0.80, NOW - timedelta(days=20)), True, "≥ 95 %"),
    (True, 0.75, ActiveInfo(0.80, NOW - timedelta(days=20)), False, "< 95 %"),
    (True, 0.60, ActiveInfo(0.80, NOW - timedelta(days=100)), True, "over 3 months"),
])
def test_publish_decision(publishable: bool, accuracy: float, active: ActiveInfo | None, publish: bool,
                          why: str) -> None:
    decision = publish_decision(publishable, 0.7, 0.65, accuracy, active, NOW)
    assert decision.publish is publish
    assert why in decision.reason


@pytest.mark.parametrize(("age_days", "due"), [(None, True), (3, False), (14, False), (15, True), (40, True)])
def test_retraining_every_15_days(age_days: int | None, due: bool) -> None:
    last = None if age_days is None else NOW - timedelta(days=age_days)
    assert retrain_due(last, NOW) is due


def _opp(i: int, label: int | None, days: list[float], start: datetime) -> ScoringRecord:
    history, t = [], start
    for stage, d in zip(("Qualify", "Develop", "Propose"), days, strict=False):
        history.append((stage, t))
        t += timedelta(days=d)
    return ScoringRecord(f"O{i}", start, label, closed_at=t if label is not None else None,
                         stage=history[-1][0], stage_history=tuple(history))


def test_a_deal_longer_in_its_stage_than_won_deals_stayed_is_stuck() -> None:
    won = [_opp(i, 1, [5 + i % 3, 10 + i % 4, 3], NOW - timedelta(days=200)) for i in range(10)]
    limits = stuck_limits(won, NOW)
    assert 12 <= limits["Develop"] <= 13
    fresh = _opp(100, None, [4, 5], NOW - timedelta(days=9))  # 5 days in Develop so far
    stale = _opp(101, None, [4, 30], NOW - timedelta(days=34))  # 30 days in Develop
    assert stuck_flag(fresh, limits, NOW) == (False, None)
    stuck, why = stuck_flag(stale, limits, NOW)
    assert stuck and why is not None and "in Develop for 30 days" in why


def test_grades_and_trends() -> None:
    bands = GradeBands.parse("80,60,40")
    assert [bands.grade(v) for v in (95, 80, 79.9, 60, 45, 10)] == ["A", "A", "B", "B", "C", "D"]
    with pytest.raises(ValueError):
        GradeBands.parse("40,60,80")
    assert [trend(None, 50), trend(40, 50), trend(60, 50), trend(52, 50)] == ["New", "Improving", "Declining",
                                                                              "Steady"]


def test_filters_select_records_for_training_and_scoring() -> None:
    rec = _opp(1, None, [3, 4], NOW - timedelta(days=10))
    assert matches(rec, {"stage": "develop"}, for_training=False)
    assert matches(rec, {"stage": "Qualify"}, for_training=True)
    assert not matches(rec, {"stage": "Qualify"}, for_training=False)
    with pytest.raises(ScoringError, match="unknown model filter"):
        validate_filters({"colour": "red"})


@pytest.mark.parametrize(("email", "kind"), [("a@gmail.com", "free-mail"), ("b@contoso.com", "business"),
                                             ("c@mailinator.com", "disposable"), (None, None), ("nope", None)])
def test_email_domain_kind(email: str | None, kind: str | None) -> None:
    assert email_domain_kind(email) == kind


@pytest.mark.parametrize(("name", "verdict"), [("Ada Lovelace", "plausible"), ("李 伟", "plausible"),
                                               ("asdf", "implausible"), ("Test User", "implausible"),
                                               ("xxxx", "implausible"), ("Ada", "single word"), ("", None)])
def test_name_plausibility(name: str, verdict: str | None) -> None:
    assert name_plausibility(name) == verdict

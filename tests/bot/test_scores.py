"""The ``score`` command: top five reasons each way, sharing rules, no model, and the real service on a store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest
from sqlalchemy.engine import Engine

from analytics.errors import NotFound
from analytics.scoring.errors import NoActiveModel
from analytics.scoring.explain import Explanation, Reason
from analytics.scoring.scores import ScoreCard
from analytics.settings import Settings
from bot.cards.scores import render_score
from bot.conversation.ratelimit import RateLimiter
from bot.conversation.service import ConversationService
from bot.features import Features, wire
from bot.scores import StoreScores
from tests.bot.fakes import (
    CLOSED,
    COLLEAGUE,
    NOW,
    FakeAccess,
    FakeConversations,
    FakeDirectory,
    FakeRelationships,
)
from tests.bot.test_cards_schema import VALIDATOR
from tests.bot.test_conversation import _inline, adapter_for, card_of, say


def _reason(i: int, sign: float) -> Reason:
    return Reason(f"f{i}", f"Feature {i}", "x", sign * (10 - i) / 10, f"reason {'up' if sign > 0 else 'down'} {i}")


def score_card(*, stuck: bool = False) -> ScoreCard:
    explanation = Explanation(-0.2, 0.4, 0.6, tuple(_reason(i, 1) for i in range(7)),
                              tuple(_reason(i, -1) for i in range(7)), 0.6)
    return ScoreCard("opp-9", 60.0, "B", "Improving", 48.0, "m1", True, explanation, stuck,
                     "in Propose for 40 days (won deals: 21)" if stuck else None)


@dataclass
class FakeScores:
    calls: list[tuple[str, str]] = field(default_factory=list)
    error: Exception | None = None

    def score(self, tenant_id: str, record_type: str, record_id: str, now: datetime) -> ScoreCard:
        self.calls.append((record_type, record_id))
        if self.error is not None:
            raise self.error
        return score_card(stuck=True)


def _service(scores: FakeScores) -> ConversationService:
    table, actions = wire(Features(FakeRelationships(), FakeAccess(), scores=scores),
                          conversations=FakeConversations(), secret_key=b"k")
    return ConversationService(FakeDirectory(), FakeConversations(), table, b"k", clock=lambda: NOW,
                               monotonic=lambda: 0.0, limiter=RateLimiter(), actions=actions, run=_inline)


@pytest.mark.parametrize("text", ["score of opportunity opp-9", "what's the score of opp:opp-9?",
                                  "商机 opp-9 的评分", "评分 商机 opp-9"])
def test_score_phrasings_reach_the_scoring_port(text: str) -> None:
    scores = FakeScores()
    [reply] = say(adapter_for(_service(scores)), text)
    assert scores.calls == [("opportunity", "opp-9")]
    assert card_of(reply)["type"] == "AdaptiveCard"


def test_score_card_shows_the_top_five_reasons_each_way_and_validates() -> None:
    for lang in ("en", "zh"):
        card = render_score(CLOSED, score_card(stuck=True), lang, chart_url="https://bot.example/charts/x.png")
        assert not list(VALIDATOR.iter_errors(card))
    text = str(render_score(CLOSED, score_card(stuck=True), "en"))
    assert all(f"reason up {i}" in text and f"reason down {i}" in text for i in range(5))
    assert "reason up 5" not in text and "reason down 6" not in text
    assert "60 / 100" in text and "'B'" in text and "Stuck: in Propose" in text


def test_sharing_rules_and_missing_models_are_explained() -> None:
    scores = FakeScores()
    [reply] = say(adapter_for(_service(scores), COLLEAGUE), "score of opportunity opp-9")
    assert "isn't one of them" in reply.text and scores.calls == []
    assert "score of lead ID" in say(adapter_for(_service(scores)), "score of Fabrikam")[0].text
    assert "rapport scoring train opportunity" in say(adapter_for(_service(FakeScores(error=NoActiveModel(
        "opportunity")))), "score of opportunity opp-9")[0].text
    assert "couldn't find" in say(adapter_for(_service(FakeScores(error=NotFound("gone")))),
                                  "score of opportunity opp-9")[0].text
    assert "couldn't find" in say(adapter_for(_service(scores)), "score of lead nope")[0].text


def test_store_scores_uses_the_scoring_service_and_reports_no_model(engine: Engine, tenant_id: str) -> None:
    with pytest.raises(NoActiveModel):
        StoreScores(engine, Settings()).score(tenant_id, "lead", "L-1", NOW)


def test_help_lists_score_only_when_scoring_is_configured() -> None:
    assert "score of lead" in str(card_of(say(adapter_for(_service(FakeScores())), "hi")[0]))
    table, _ = wire(Features(FakeRelationships(), FakeAccess()), conversations=FakeConversations(), secret_key=b"k")
    assert all(c.name != "score" for c in table.commands)


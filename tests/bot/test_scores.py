"""The ``score`` command: top five reasons each way, sharing rules, no model, and the real service on a store."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from analytics.errors import NotFound
from analytics.scoring.errors import NoActiveModel
from analytics.scoring.explain import Explanation, Reason, explain_rows
from analytics.scoring.features import FeatureBuilder
from analytics.scoring.scores import GradeBands, ScoreCard
from analytics.settings import Settings
from analytics.store import models
from bot.cards.scores import render_score
from bot.conversation.i18n import score_label, score_reason
from bot.conversation.model import Lang
from bot.conversation.ratelimit import RateLimiter
from bot.conversation.service import ConversationService
from bot.features import Features, wire
from bot.scores import StoreScores, score_chart
from bot.web.chart_links import ChartLinks, verify
from tests.analytics.scoring.test_explain import LOWERS, deals
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
    points: list[tuple[datetime, float]] = field(default_factory=list)
    bands: GradeBands = field(default_factory=GradeBands)

    def history(self, tenant_id: str, record_type: str, record_id: str) -> list[tuple[datetime, float]]:
        return list(self.points)

    def score(self, tenant_id: str, record_type: str, record_id: str, now: datetime) -> ScoreCard:
        self.calls.append((record_type, record_id))
        if self.error is not None:
            raise self.error
        return score_card(stuck=True)


def _service(scores: FakeScores, charts: ChartLinks | None = None) -> ConversationService:
    table, actions = wire(Features(FakeRelationships(), FakeAccess(), scores=scores),
                          conversations=FakeConversations(), secret_key=b"k", charts=charts)
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
    assert "score of lead NAME or ID" in say(adapter_for(_service(scores)), "score of Fabrikam")[0].text
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



def test_the_score_card_shows_the_score_over_time_when_there_is_a_history() -> None:
    links = ChartLinks(b"chart-secret", "https://bot.example.com")
    with_history = FakeScores(points=[(NOW - timedelta(days=14), 41.0), (NOW - timedelta(days=7), 55.0)])
    [reply] = say(adapter_for(_service(with_history, links)), "score of opportunity opp-9")
    card = card_of(reply)
    [image] = [e for e in card["body"] if e.get("type") == "Image"]
    assert image["url"].startswith("https://bot.example.com/charts/score.png?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(image["url"]).query).items()}
    assert verify(b"chart-secret", "score", query, NOW.timestamp() + 60).subject == "opportunity:opp-9"
    assert not list(VALIDATOR.iter_errors(card))
    [no_history] = say(adapter_for(_service(FakeScores(), links)), "score of opportunity opp-9")
    assert all(e.get("type") != "Image" for e in card_of(no_history)["body"])
    [no_url] = say(adapter_for(_service(with_history)), "score of opportunity opp-9")
    assert all(e.get("type") != "Image" for e in card_of(no_url)["body"])


def test_store_history_and_the_chart_png(engine: Engine, tenant_id: str) -> None:
    history = models.table_of(models.ScoreHistory)
    with engine.begin() as conn:
        conn.execute(history.insert(), [
            {"tenant_id": tenant_id, "score_kind": "predictive", "record_type": "lead", "record_id": "L-1",
             "computed_at": NOW - timedelta(days=d), "value": v, "label": "B"}
            for d, v in ((21, 35.0), (14, None), (7, 52.0), (0, 77.0))])
    scores = StoreScores(engine, Settings().with_overrides(scoring_grade_bands="80,60,30"))
    points = scores.history(tenant_id, "lead", "L-1")
    assert [v for _, v in points] == [35.0, 52.0, 77.0] and scores.bands == GradeBands(80.0, 60.0, 30.0)
    assert scores.history(tenant_id, "lead", "L-2") == []
    png = score_chart(points, title="Lead L-1", bands=scores.bands)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
    assert score_chart([], title="none").startswith(b"\x89PNG")


def test_a_reason_whose_rate_points_the_other_way_reads_the_same_on_the_card() -> None:
    """The card prints the explanation's own sentence under the section of its contribution's sign."""
    recs = deals()
    builder = FeatureBuilder().fit(recs)
    brazil = next(r for r in recs if r.account_fields == {"segment": "Enterprise", "country": "BR"})
    X = builder.transform([brazil])
    shares = {"account.segment": 1.0, "account.country": -0.4, "rel.our_response_hours": 0.0}
    contributions = np.array([[shares[f.key] for f in builder.features]])
    [explanation] = explain_rows(builder, X, -0.1, contributions, "opportunity")
    card = ScoreCard("opp-9", 62.0, "B", "New", None, "m1", True, explanation)
    langs: tuple[tuple[Lang, str], ...] = (("en", "What holds it back"), ("zh", "减分因素"))
    for lang, down in langs:
        texts = [e.get("text", "") for e in render_score(CLOSED, card, lang)["body"]]
        country = next(t for t in texts if "country" in t and "BR" in t)
        assert country.startswith("▼ ") and country.endswith(LOWERS if lang == "en" else "，但综合其他字段后降低了评分")
        assert texts.index(down) < texts.index(country)
        segment = next(t for t in texts if "segment" in t and "Enterprise" in t)
        assert "weighed" not in segment and "综合其他字段" not in segment


def _reasons_on(card: dict[str, Any]) -> list[str]:
    return [e["text"] for e in card["body"] if str(e.get("text", "")).startswith(("▲ ", "▼ "))]


def _explained(country: str, record_type: str, shares: dict[str, float]) -> ScoreCard:
    """A card for the first Enterprise deal in ``country`` of the test_explain data, with chosen contributions."""
    recs = deals()
    builder = FeatureBuilder().fit(recs)
    record = next(r for r in recs if r.account_fields == {"segment": "Enterprise", "country": country})
    contributions = np.array([[shares[f.key] for f in builder.features]])
    [explanation] = explain_rows(builder, builder.transform([record]), -0.1, contributions, record_type)
    return ScoreCard(record.record_id, 62.0, "B", "New", None, "m1", True, explanation)


def test_a_chinese_score_card_words_each_reason_in_chinese_with_its_numbers() -> None:
    # Enterprise 144 of 200 won, Brazil 128 of 200 (as are response hours of 2), the US 72 of 200; 50 % overall.
    opportunity = _explained("BR", "opportunity",
                             {"account.segment": 1.0, "account.country": -0.4, "rel.our_response_hours": 0.3})
    assert _reasons_on(render_score(CLOSED, opportunity, "zh")) == [
        "▲ 客户的 segment 为 Enterprise — 此类商机中 72% 赢单（200 个中 144 个；总体 50%）",
        "▲ 我方首次回复小时数为 2 — 我方首次回复小时数为 2 的商机中 64% 赢单（200 个中 128 个；总体 50%）",
        "▼ 客户的 country 为 BR — 此类商机中 64% 赢单（200 个中 128 个；总体 50%），但综合其他字段后降低了评分",
    ]
    assert _reasons_on(render_score(CLOSED, opportunity, "en")) == [
        "▲ Account's segment is Enterprise — 72% of such opportunities were won (144 of 200; 50% overall)",
        "▲ Our first response (hours) is 2 — 64% of opportunities with our first response (hours) 2 were won "
        "(128 of 200; 50% overall)",
        "▼ Account's country is BR — 64% of such opportunities were won (128 of 200; 50% overall)" + LOWERS,
    ]
    lead = _explained("US", "lead", {"account.segment": -0.2, "account.country": 0.4, "rel.our_response_hours": -0.3})
    assert _reasons_on(render_score(CLOSED, lead, "zh")) == [
        "▲ 客户的 country 为 US — 此类线索中 36% 已转化（200 个中 72 个；总体 50%），但综合其他字段后提高了评分",
        "▼ 我方首次回复小时数为 30 — 我方首次回复小时数为 30 的线索中 36% 已转化（200 个中 72 个；总体 50%）",
        "▼ 客户的 segment 为 Enterprise — 此类线索中 72% 已转化（200 个中 144 个；总体 50%），但综合其他字段后降低了评分",
    ]


def test_product_defined_labels_and_values_are_translated_and_crm_names_kept() -> None:
    assert score_label("rel.emails_from_them", "Emails from them") == "对方来信数"
    assert score_label("rel.interactions_they_initiated", "Interactions they initiated") == "对方发起的互动数"
    assert score_label("industry", "Industry") == "Industry"
    assert score_label("contact.job_title", "Contact's job title") == "联系人的 job title"
    assert score_label("close_date", "Close date (days after creation)") == "Close date（创建后天数）"
    domain = Reason("intelligent.email_domain", "Email domain", "free-mail", -0.5,
                    "Email domain is free-mail — 20% of such leads qualified (8 of 40; 52% overall)",
                    0.2, 40, True, 8, 0.52, None, "lead")
    assert score_reason(domain, "zh") == "邮箱类型为免费邮箱 — 此类线索中 20% 已转化（40 个中 8 个；总体 52%）"
    emails = Reason("rel.emails_from_them", "Emails from them", "4", 0.3, "…", 0.63, 41, True, 26, 0.52, "2–7", "lead")
    assert score_reason(emails, "zh") == ("对方来信数为 4 — 对方来信数在 2–7 的线索中 63% 已转化"
                                          "（41 个中 26 个；总体 52%）")
    missing = Reason("industry", "Industry", "not filled in", -0.2, "Industry is not filled in", record_type="lead")
    assert score_reason(missing, "zh") == "Industry 未填写" and score_reason(missing, "en") == missing.text


def test_stored_details_render_new_ones_in_chinese_and_old_ones_as_their_english_text() -> None:
    card = _explained("BR", "opportunity", {"account.segment": 1.0, "account.country": -0.4,
                                            "rel.our_response_hours": 0.0})
    stored = json.loads(json.dumps(card.details()))  # as the store and `rapport scoring score --json` keep them
    [country] = [Reason(**r) for r in stored["negative"]]
    assert country == card.explanation.negative[0]
    assert score_reason(country, "zh").startswith("客户的 country 为 BR — 此类商机中 64% 赢单")
    # Details stored before the reasons kept their structure: the sentence is all there is, shown as it was.
    old = {"feature": "account.country", "label": "Account's country", "value": "BR", "contribution": -0.4,
           "text": "Account's country is BR — 60% of such opportunities were won (30 of 50; 44% overall)" + LOWERS,
           "rate": 0.6, "count": 50, "supported": False}
    explanation = Explanation(-0.1, -0.5, 0.38, (), (Reason(**old),), -0.4)
    old_card = ScoreCard("opp-9", 38.0, "C", "New", None, "m1", False, explanation)
    for lang in ("en", "zh"):
        assert _reasons_on(render_score(CLOSED, old_card, lang)) == ["▼ " + old["text"]]

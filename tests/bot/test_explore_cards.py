"""Cards as a demo's reps and managers read them: what each line says must match the data behind it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from analytics.scoring.errors import NoActiveModel
from analytics.scoring.policy import stuck_flag
from analytics.scoring.records import ScoringRecord
from analytics.views import LeadSummary, MyRecordsView, OpportunitySummary, TargetRef
from bot.cards.digest import render_digest
from bot.cards.relationships import render_health, render_my_records
from bot.cards.scores import render_score
from bot.conversation.i18n import stuck_reason
from bot.digest.content import DigestItem, DigestView
from tests.bot.fakes import CLOSED, NOW, REP, health
from tests.bot.test_cards_schema import VALIDATOR
from tests.bot.test_conversation import adapter_for, say
from tests.bot.test_scores import FakeScores, _service, score_card

OPEN_DEAL = TargetRef("opportunity", "opp-9", "Big deal")


def test_a_last_interaction_older_than_the_window_is_not_called_none() -> None:
    view = health()
    quiet = dataclasses.replace(view, kpis=dataclasses.replace(view.kpis, last_interaction=None))
    facts = {f["title"]: f["value"] for f in render_health(quiet, "en")["body"][1]["facts"]}
    assert facts["Last interaction"] == "none in the last 90 days"
    assert {f["title"]: f["value"] for f in render_health(quiet, "zh")["body"][1]["facts"]}["最近互动"] == "最近 90 天无"


def _digest(*items: DigestItem) -> DigestView:
    return DigestView("u-manager", "Mia", 3, tuple(items), (), (), NOW)


def test_digest_lines_of_records_sharing_a_name_can_be_told_apart() -> None:
    card = render_digest(_digest(DigestItem("opportunity", "OPP-68", "Fjord Media - Services", 25.0, "Poor"),
                                 DigestItem("opportunity", "OPP-96", "Fjord Media - Services", 25.0, "Poor"),
                                 DigestItem("account", "ACC-3", "Fjord Media", 27.0, "Poor")), "en")
    titles = [f["title"] for f in card["body"][3]["facts"]]
    assert titles == ["Fjord Media - Services (OPP-68)", "Fjord Media - Services (OPP-96)", "Fjord Media"]
    assert not list(VALIDATOR.iter_errors(card))


def test_my_lists_tell_records_sharing_a_name_apart() -> None:
    opps = tuple(OpportunitySummary(i, "Fjord Foods - Platform", "acc", "Close", "open", 1e4, 90.0, "Good", "Steady",
                                    NOW) for i in ("OPP-1", "OPP-2"))
    leads = (LeadSummary("L-1", "Ann (Fjord)", "open", 50.0, "Fair", "Steady", NOW),
             LeadSummary("L-2", "Bo", "open", 40.0, "Fair", "Steady", NOW))
    view = MyRecordsView(REP, (), leads, opps)
    opp_titles = [f["title"] for f in render_my_records(view, "opportunities", "en")["body"][1]["facts"]]
    assert opp_titles == ["Fjord Foods - Platform (OPP-1)", "Fjord Foods - Platform (OPP-2)"]
    lead_titles = [f["title"] for f in render_my_records(view, "leads", "en")["body"][1]["facts"]]
    assert lead_titles == ["Ann (Fjord)", "Bo"]


def test_a_closed_records_score_card_does_not_predict_its_known_outcome() -> None:
    closed = str(render_score(CLOSED, score_card(), "en"))
    assert "Likely to win" not in closed and "is closed" in closed
    assert "已关闭" in str(render_score(CLOSED, score_card(), "zh"))
    opened = str(render_score(OPEN_DEAL, score_card(), "en"))
    assert "Likely to win" in opened and "is closed" not in opened
    for target in (CLOSED, OPEN_DEAL):
        assert not list(VALIDATOR.iter_errors(render_score(target, score_card(), "zh")))


def test_no_model_reply_in_chinese_names_the_record_type_in_chinese() -> None:
    service = _service(FakeScores(error=NoActiveModel("opportunity")))
    [reply] = say(adapter_for(service), "商机 opp-9 的评分", locale="zh-CN")
    assert "尚无已发布的商机评分模型" in reply.text and "rapport scoring train opportunity" in reply.text


def test_why_a_deal_is_stuck_reads_in_chinese_on_the_digest_and_the_score_card() -> None:
    # The sentence exactly as the scoring words it, so a change of its wording shows here.
    deal = ScoringRecord("OPP-7", NOW - timedelta(days=60), None, stage="Develop",
                         stage_history=(("Develop", NOW - timedelta(days=32)),))
    stuck, why = stuck_flag(deal, {"Develop": 31.0}, NOW)
    assert stuck and why == "in Develop for 32 days; won deals left it within 31 days"
    assert stuck_reason(why, "en") == why
    assert stuck_reason(why, "zh") == "在 Develop 阶段已 32 天；赢单的商机在 31 天内就进入了下一阶段"
    digest = DigestView("u-manager", "Mia", 3, (), (), (DigestItem("opportunity", "OPP-7", "Deal", 38.0, why),), NOW)
    assert "won deals" not in str(render_digest(digest, "zh")) and "Develop 阶段已 32 天" in str(render_digest(digest, "zh"))
    card = dataclasses.replace(score_card(), stuck=True, stuck_reason=why)
    assert "停滞：在 Develop 阶段已 32 天" in str(render_score(OPEN_DEAL, card, "zh"))


def test_likely_quotes_the_models_cut_off_when_it_is_known() -> None:
    """An F1 cut-off far below 50 made "Likely to win: yes" sit beside a score of 31 / 100 unexplained."""
    from dataclasses import replace

    def likely(card: dict[str, object]) -> str:
        facts = card["body"][1]["facts"]  # type: ignore[index]
        return next(f["value"] for f in facts if f["title"] in ("Likely to win", "可能赢单"))  # type: ignore[no-any-return]

    cut = replace(score_card(), value=31.0, likely=True, cutoff=28.0)
    assert likely(render_score(OPEN_DEAL, cut, "en")) == "yes (the model says yes from 28 up)"
    assert likely(render_score(OPEN_DEAL, cut, "zh")) == "是（模型在 28 分及以上判为是）"
    assert likely(render_score(OPEN_DEAL, replace(cut, cutoff=None), "en")) == "yes"  # stored before it was kept
    assert not list(VALIDATOR.iter_errors(render_score(OPEN_DEAL, cut, "zh")))

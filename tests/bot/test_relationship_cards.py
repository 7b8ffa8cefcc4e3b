"""Health, who-knows and "my …" cards: Chinese cards in Chinese, closed records and long lists explained (pure)."""

from __future__ import annotations

import dataclasses
from typing import Any

from analytics.views import LeadSummary, MyRecordsView, OpportunitySummary
from bot.cards.relationships import MY_RECORDS_SHOWN, render_health, render_my_records, render_who_knows
from tests.bot.fakes import CLOSED, NOW, REP, health, kpis, my_records, who_knows

ENGLISH_VOCABULARY = ("Good", "Improving", "email", "recency", "reciprocity", "Strong", "meeting", "open", "Fair",
                      "Declining", "Steady")


def _texts(card: dict[str, Any]) -> str:
    """Every text a user reads on the card (text blocks and facts), without ids and signed data."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("text", "title", "value"):
                if isinstance(node.get(key), str):
                    out.append(node[key])
            for key in ("body", "facts", "items", "actions"):
                walk(node.get(key))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return "\n".join(out)


def _english_words(text: str) -> list[str]:
    return [w for w in ENGLISH_VOCABULARY if w in text.replace("Fabrikam", "").replace("Renewal", "")]


def test_a_chinese_health_card_shows_state_trend_kind_and_factor_names_in_chinese() -> None:
    text = _texts(render_health(health(), "zh"))
    assert _english_words(text.replace("last touch 2 days ago", "").replace("they reply to half", "")) == []
    assert "良好" in text and "上升" in text and "邮件" in text and "近期互动" in text
    english = _texts(render_health(health(), "en"))
    assert "Good" in english and "Improving" in english and "(email)" in english


def test_a_chinese_who_knows_card_shows_level_and_interaction_in_chinese() -> None:
    text = _texts(render_who_knows(who_knows(), "zh", lambda verb, args: {}, requester_id=REP))
    assert _english_words(text) == [] and "强" in text and "会议" in text


def test_no_reply_time_reads_as_a_dash_not_dash_hours() -> None:
    view = health(CLOSED)
    no_replies = dataclasses.replace(view, kpis=dataclasses.replace(
        kpis(), us=dataclasses.replace(kpis().us, avg_first_response_hours=None),
        them=dataclasses.replace(kpis().them, avg_first_response_hours=None)))
    text = _texts(render_health(no_replies, "en"))
    assert "– h" not in text and "– / –" in text
    assert "4.5 h / 4.5 h" in _texts(render_health(health(), "en"))


def test_closed_leads_and_opportunities_come_after_open_ones_with_their_outcome() -> None:
    base = my_records()
    view = MyRecordsView(REP, base.accounts, (
        LeadSummary("l0", "a lost lead", "disqualified", None, "Not computed", None, None),
        *base.leads,
    ), (
        OpportunitySummary("o0", "A won deal", None, "Close", "won", 1e4, None, "Not computed", None, NOW),
        *base.opportunities,
    ))
    leads = render_my_records(view, "leads", "en")["body"][1]["facts"]
    assert [f["title"] for f in leads] == ["lead one", "a lost lead"]
    assert leads[1]["value"] == "disqualified · none"  # not "– Not computed"
    opps = render_my_records(view, "opportunities", "zh")["body"][1]["facts"]
    assert [f["title"] for f in opps] == ["Renewal", "A won deal"]
    assert opps[0]["value"] == "Propose · 55 一般 · 2026-11-02" and opps[1]["value"] == "赢单 · 2026-11-02"


def test_a_long_list_says_how_many_it_leaves_out() -> None:
    leads = tuple(LeadSummary(f"l{i}", f"lead {i:02d}", "open", float(i), "Fair", "Steady", NOW) for i in range(20))
    card = render_my_records(MyRecordsView(REP, (), leads, ()), "leads", "en")
    assert len(card["body"][1]["facts"]) == MY_RECORDS_SHOWN
    assert card["body"][1]["facts"][0]["title"] == "lead 19"  # healthiest first
    assert card["body"][2]["text"] == f"The first {MY_RECORDS_SHOWN} of 20."
    short = render_my_records(MyRecordsView(REP, (), leads[:3], ()), "leads", "en")
    assert len(short["body"]) == 2  # nothing left out, nothing said


def test_the_opted_out_count_reads_as_english_singular_or_plural() -> None:
    def line(count: int, lang: str) -> str:
        view = dataclasses.replace(who_knows(), excluded_opted_out=count)
        texts = _texts(render_who_knows(view, lang, lambda verb, args: {}, requester_id=REP))  # type: ignore[arg-type]
        return next(x for x in texts.splitlines() if "opted out" in x or "退出" in x)

    assert line(1, "en") == "1 colleague opted out and is not shown."
    assert line(3, "en") == "3 colleagues opted out and are not shown."
    assert line(1, "zh") == "1 位同事已选择退出，未显示。"  # one form in Chinese
    assert "(s)" not in line(2, "en")
    assert "opted out" not in _texts(render_who_knows(dataclasses.replace(who_knows(), excluded_opted_out=0), "en",
                                                      lambda verb, args: {}, requester_id=REP))

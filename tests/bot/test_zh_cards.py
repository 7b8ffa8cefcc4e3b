"""Chinese replies read as written for a zh-CN sales team: no English units, states or relations left in the cards,
full-width parentheses in Chinese text, no spaces after "。", natural wording (exploration as a zh-CN team,
2026-11-27)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity

from analytics.nlp.analyzer import NoteAnalyzer
from analytics.query import AmbiguousRecordName
from analytics.scoring.explain import Reason
from analytics.store.opt_outs import OptOut
from bot.cards.digest import render_digest
from bot.cards.relationships import render_health, render_who_knows
from bot.cards.render import help_card
from bot.cards.scores import render_score
from bot.conversation import signing
from bot.conversation.i18n import score_reason, t, word
from bot.conversation.relationships import ambiguous_reply
from bot.conversation.service import ConversationService
from bot.digest.content import DigestItem, DigestView
from bot.features import Features, wire
from tests.bot.fakes import (
    JANE,
    NOW,
    REP,
    TENANT,
    FakeConversations,
    FakeDirectory,
    health,
    who_knows,
)
from tests.bot.test_cards_schema import VALIDATOR
from tests.bot.test_conversation import adapter_for, say
from tests.bot.test_explore_cards import OPEN_DEAL
from tests.bot.test_notes_known_people import (
    LEWIS,
    FakePeople,
    FakeWrites,
    _of,
    _values,
)
from tests.bot.test_notes_known_people import _cards as note_cards
from tests.bot.test_notes_known_people import _service as notes_service
from tests.bot.test_scores import score_card

_CJK = "\u4e00-\u9fff"
# A half-width parenthesis touching Chinese text ("2026-09-30 (邮件)", "平稳 (之前 22)"): Chinese takes "（）"
_HALF_WIDTH_BESIDE_CHINESE = re.compile(rf"[{_CJK}]\s?\(|\(\s?[{_CJK}]|[{_CJK}]\)")


def _texts(node: Any) -> list[str]:
    """Every string a reader sees on a card: text blocks, fact titles and values, button titles."""
    out: list[str] = []
    if isinstance(node, dict):
        for key in ("text", "title", "value", "altText", "label"):
            if isinstance(node.get(key), str):
                out.append(node[key])
        for value in node.values():
            if isinstance(value, dict | list):
                out += _texts(value)
    elif isinstance(node, list):
        for item in node:
            out += _texts(item)
    return out


def _facts(card: dict[str, Any]) -> dict[str, str]:
    return {f["title"]: f["value"] for e in card["body"] if e.get("type") == "FactSet" for f in e["facts"]}


def _assert_valid(card: dict[str, Any]) -> None:
    errors = list(VALIDATOR.iter_errors(card))
    assert not errors, errors[0].message


def test_health_card_in_chinese_says_hours_and_uses_full_width_parentheses() -> None:
    zh = render_health(health(), "zh")
    _assert_valid(zh)
    facts = _facts(zh)
    assert facts["平均首次回复（我方 / 对方）"] == "4.5 小时 / 4.5 小时"  # was "4.5 h / 4.5 h"
    assert facts["最近互动"] == "2026-11-02（邮件）"  # was "2026-11-02 (邮件)"
    assert "**近期互动** 27.0（+3.0） — last touch 2 days ago" in _texts(zh)  # was "27.0 (+3.0)"
    assert not any(_HALF_WIDTH_BESIDE_CHINESE.search(s) for s in _texts(zh))
    assert not any(re.search(r"\d h\b", s) for s in _texts(zh))
    # English is as it was
    en = render_health(health(), "en")
    assert _facts(en)["Avg first response (us / them)"] == "4.5 h / 4.5 h"
    assert _facts(en)["Last interaction"] == "2026-11-02 (email)"
    assert "**recency** 27.0 (+3.0) — last touch 2 days ago" in _texts(en)


def _sign(verb: str, args: dict[str, Any]) -> dict[str, Any]:
    return signing.sign(b"k", verb=verb, tenant_id=TENANT, user_id=REP, args=args)


@pytest.mark.parametrize("relation,chinese", [("shared interactions", "有过共同往来"), ("same company", "同一家公司")])
def test_an_intro_path_names_its_relation_in_chinese(relation: str, chinese: str) -> None:
    view = who_knows(JANE, nobody=True, path=True)
    assert view.path is not None
    view = dataclasses.replace(view, path=dataclasses.replace(view.path, via_relation=relation))  # type: ignore[arg-type]
    zh = render_who_knows(view, "zh", _sign, requester_id=REP)
    _assert_valid(zh)
    text = " ".join(_texts(zh))
    assert f"Cho 认识 Ann（{chinese}），可通过对方联系到 Jane Doe。" in text and relation not in text
    assert f"Cho knows Ann ({relation}), who can reach Jane Doe." in " ".join(
        _texts(render_who_knows(view, "en", _sign, requester_id=REP)))


def test_score_trend_in_chinese_reads_last_score_in_full_width_parentheses() -> None:
    card = score_card()
    zh = render_score(OPEN_DEAL, card, "zh")
    _assert_valid(zh)
    assert _facts(zh)["趋势"] == "上升（上次 48）"  # was "上升 (之前 48)"
    assert _facts(render_score(OPEN_DEAL, card, "en"))["Trend"] == "Improving (was 48)"
    new = dataclasses.replace(card, trend="New", previous=None)
    assert _facts(render_score(OPEN_DEAL, new, "zh"))["趋势"] == "新（此前未评分）"  # was "新 (之前 –)"
    assert _facts(render_score(OPEN_DEAL, new, "en"))["Trend"] == "New (was –)"


def _reason(feature: str, label: str, value: str) -> Reason:
    return Reason(feature, label, value, 0.2, "…", 0.53, 118, True, 62, 0.52, None, "lead")


def test_score_reasons_about_the_contact_name_read_as_chinese_sentences() -> None:
    assert score_reason(_reason("intelligent.name", "Contact name", "plausible"), "zh") == (
        "联系人姓名像真实姓名 — 此类线索中 53% 已转化（118 个中 62 个；总体 52%）")  # was "联系人姓名为 像真实姓名"
    assert score_reason(_reason("intelligent.name", "Contact name", "single word"), "zh").startswith(
        "联系人姓名只有一个词 — ")
    assert score_reason(_reason("intelligent.email_domain", "Email domain", "business"), "zh").startswith(
        "邮箱类型为企业邮箱 — ")
    # Latin text and digits stay spaced from Chinese
    assert score_reason(_reason("account.country", "Account's country", "BR"), "zh").startswith("客户的 country 为 BR — ")


def test_digest_intro_in_chinese() -> None:
    view = DigestView("u-manager", "Mia", 3, (DigestItem("account", "ACC-3", "Fjord Media", 27.0, "Poor"),), (), (),
                      NOW)
    zh = render_digest(view, "zh")
    _assert_valid(zh)
    assert "您的团队共 3 人，数据截至 2026-11-02。" in _texts(zh)  # was "您团队（3 人），截至 2026-11-02。"
    assert "Your team of 3, as of 2026-11-02." in _texts(render_digest(view, "en"))


def test_chinese_help_shows_chinese_phrasings_not_english_syntax() -> None:
    lines = [t(k, "zh") for k in ("help_health", "help_mine", "help_score")]
    card = help_card("zh", lines)
    _assert_valid(card)
    text = " ".join(_texts(card))
    assert "lead:ID" not in text and "opportunity:ID" not in text  # the English syntax in a Chinese help line
    assert "“线索 L-1”" in text and "**线索 L-1 的评分**" in text
    assert "经理：含团队的" not in text and "经理看到的是整个团队的" in text
    assert "名称或编号 的评分" not in t("score_which", "zh")


@dataclasses.dataclass
class FakeOptOuts:
    held: list[OptOut] = dataclasses.field(default_factory=list)

    def opt_out(self, tenant_id: str, user_id: str, scope: str, *, now: datetime, actor: str) -> bool:
        if any(o.scope == scope for o in self.held):
            return False
        self.held.append(OptOut(tenant_id, user_id, scope, now, "Rob", "rob@contoso.com"))
        return True

    def opt_in(self, tenant_id: str, user_id: str, scopes: Sequence[str], *, now: datetime,
               actor: str) -> tuple[str, ...]:
        removed = tuple(o.scope for o in self.held if o.scope in scopes)
        self.held = [o for o in self.held if o.scope not in scopes]
        return removed

    def opt_outs_of(self, tenant_id: str, user_id: str) -> list[OptOut]:
        return list(self.held)


def _privacy_adapter() -> TestAdapter:
    table, actions = wire(Features(privacy=FakeOptOuts()), conversations=FakeConversations(), secret_key=b"k")
    service = ConversationService(FakeDirectory(), FakeConversations(), table, b"k", clock=lambda: NOW,
                                  monotonic=lambda: 0.0, actions=actions)
    return adapter_for(service, REP, locale="zh-CN")


def test_chinese_privacy_replies_have_no_space_after_a_full_stop() -> None:
    adapter = _privacy_adapter()
    replies = [str(r.text) for m in ("退出谁认识谁", "我要退出", "隐私设置", "退出所有") for r in say(adapter, m, "zh-CN")]
    assert len(replies) == 4
    assert replies[0].startswith("已完成：您已退出“谁认识谁”。同事将不再看到您")  # was "…“谁认识谁”。 同事…"
    assert all("。 " not in r for r in replies), replies
    assert "自 2026年11月2日 起" in replies[1]
    # English keeps its spaces between sentences
    [english] = say(_privacy_adapter(), "opt out")
    assert "Done: you've opted out of who knows whom. Your colleagues" in str(english.text)


@pytest.fixture(scope="module")
def analyzer() -> NoteAnalyzer:
    return NoteAnalyzer()


def test_a_known_contacts_company_is_in_full_width_parentheses(analyzer: NoteAnalyzer) -> None:
    cards = note_cards(notes_service(analyzer, FakePeople()), f"笔记：联系人 {LEWIS.email}", locale="zh-CN")
    [contact] = _of(cards, "notes.contact")
    _assert_valid(contact)
    assert "Rapport 已从贵公司的邮件和会议中认识 Kwame Lewis（Crescent Health）；" in " ".join(_texts(contact))


def test_a_created_meeting_says_its_length_in_chinese(analyzer: NoteAnalyzer) -> None:
    service = notes_service(analyzer, FakePeople(), writes=FakeWrites())
    [meeting] = _of(note_cards(service, f"笔记：下周二下午三点和 {LEWIS.email} 开会", locale="zh-CN"), "notes.event")
    [action] = meeting["actions"]
    adapter = adapter_for(service, "rep-1", tenant="t-known", locale="zh-CN")

    async def press() -> dict[str, Any]:
        await adapter.receive_activity(Activity(type="invoke", name="adaptiveCard/action", locale="zh-CN", value={
            "action": {"type": "Action.Execute", "verb": action["verb"],
                       "data": {**action["data"], **_values(meeting)}}, "trigger": "manual"}))
        [response] = [a for a in adapter.activity_buffer if a.type == "invokeResponse"]
        return response.value.body  # type: ignore[no-any-return]

    created = asyncio.run(press())["value"]
    _assert_valid(created)
    assert _facts(created)["时间"] == "2026-11-03 15:00（America/Los_Angeles，30 分钟）"  # was "(…, 30 min)"


def test_an_out_of_date_card_notice_is_marked_chinese() -> None:
    table, actions = wire(Features(privacy=FakeOptOuts()), conversations=FakeConversations(), secret_key=b"k")
    service = ConversationService(FakeDirectory(), FakeConversations(), table, b"k", clock=lambda: NOW,
                                  monotonic=lambda: 0.0, actions=actions)
    adapter = adapter_for(service, REP, locale="zh-CN")
    data = signing.sign(b"k", verb="no.such.verb", tenant_id=TENANT, user_id=REP, args={})

    async def press() -> dict[str, Any]:
        await adapter.receive_activity(Activity(type="invoke", name="adaptiveCard/action", locale="zh-CN", value={
            "action": {"type": "Action.Execute", "verb": "no.such.verb", "data": data}, "trigger": "manual"}))
        [response] = [a for a in adapter.activity_buffer if a.type == "invokeResponse"]
        return response.value.body  # type: ignore[no-any-return]

    notice = asyncio.run(press())["value"]
    assert notice["lang"] == "zh" and "此卡片已过期" in str(notice)  # the card said lang "en" over Chinese text


def test_health_factor_names_in_chinese_say_what_they_measure() -> None:
    text = " ".join(_texts(render_health(health(), "zh")))
    assert "**互动对等性** 12.5" in text  # was "互动对等"
    assert word("responsiveness", "zh") == "回复及时性"  # was "响应"


def test_records_sharing_a_name_are_listed_with_full_width_ids_in_chinese() -> None:
    err = AmbiguousRecordName("Fjord Foods - Services", (("opportunity:OPP-2", "Fjord Foods - Services"),
                                                         ("opportunity:OPP-3", "Fjord Foods - Services")))
    zh = ambiguous_reply(err, "Fjord Foods - Services", "zh")
    assert "Fjord Foods - Services（OPP-2）、Fjord Foods - Services（OPP-3）" in zh  # was "… (OPP-2)、…"
    assert "**商机 OPP-2 的评分**" in zh
    assert "Fjord Foods - Services (OPP-2), Fjord Foods - Services (OPP-3)" in ambiguous_reply(
        err, "Fjord Foods - Services", "en")

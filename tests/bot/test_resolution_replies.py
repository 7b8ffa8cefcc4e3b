"""What the bot says when a question names no single record: a free-mail domain, an ambiguous name (with how many
more match), a bare record id (used when one record has it, asked about when a lead and an opportunity both do);
the flood notice's singular and plural; the demo's opportunity names as labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from analytics.query import AmbiguousRecord, AmbiguousRecordName, PersonalMailDomain, RelationshipQueries
from analytics.relationships.errors import AmbiguousTarget
from analytics.scoring.mapping import load_mapping
from analytics.scoring.service import import_crm_file
from analytics.settings import Settings
from analytics.views import TargetRef
from bot.conversation.ratelimit import RateLimiter
from bot.conversation.service import ConversationService
from bot.features import Features, wire
from graph_sync.emulator.generator.mapping import write_mappings
from tests.bot.fakes import NOW, REP, FakeAccess, FakeConversations, FakeDirectory, FakeRelationships
from tests.bot.test_conversation import Clock, _inline, adapter_for, card_of, say
from tests.bot.test_scores import FakeScores

LEAD = TargetRef("lead", "L-000008", "Marco Mitchell (Glacier Robotics)")
SYSTEMS = tuple((f"acc-{i}", f"Systems {chr(ord('A') + i)}") for i in range(12))


@dataclass
class Resolving(FakeRelationships):
    """The canned answers plus what :class:`analytics.query.RelationshipQueries` raises for these texts."""

    candidates: tuple[tuple[str, str], ...] = SYSTEMS

    def resolve_target(self, tenant_id: str, text: str) -> TargetRef:
        low = text.lower()
        if low in ("gmail.com", "@gmail.com", "qq.com"):
            raise PersonalMailDomain(text, low.removeprefix("@"))
        if low in ("l-000008", "lead:l-000008", "marco mitchell", "李娜"):
            self.calls.append(("resolve", text))
            return LEAD
        if low == "x-1":
            raise AmbiguousRecord(text, "X-1", (("lead:X-1", "X-1"), ("opportunity:X-1", "X-1")))
        if low == "systems":
            raise AmbiguousTarget(text, self.candidates)
        if low.removeprefix("opportunity:") == "fjord foods - services":
            raise AmbiguousRecordName(text, (("opportunity:OPP-2", "Fjord Foods - Services"),
                                             ("opportunity:OPP-3", "Fjord Foods - Services")))
        return super().resolve_target(tenant_id, text)


@dataclass
class Access(FakeAccess):
    allowed: dict[str, set[str]] = field(default_factory=lambda: {"L-000008": {REP}, "opp-9": {REP}})


def _service(relationships: Resolving, scores: FakeScores | None = None,
             limiter: RateLimiter | None = None, clock: Clock | None = None) -> ConversationService:
    table, actions = wire(Features(relationships, Access(), scores=scores or FakeScores()),
                          conversations=FakeConversations(), secret_key=b"k")
    return ConversationService(FakeDirectory(), FakeConversations(), table, b"k", clock=lambda: NOW,
                               monotonic=clock or Clock(), limiter=limiter or RateLimiter(), actions=actions,
                               run=_inline)


@pytest.mark.parametrize(("text", "locale", "expected"), [
    ("who knows gmail.com", "en-US", "e.g. **who knows name@gmail.com**"),
    ("intro to @gmail.com", "en-US", "e.g. **who knows name@gmail.com**"),
    ("health of gmail.com", "en-US", "e.g. **health of name@gmail.com**"),
    ("谁认识 qq.com", "zh-CN", "例如 **谁认识 name@qq.com**"),
    ("qq.com 的健康度如何", "zh-CN", "例如 **name@qq.com 的健康度如何**"),
])
def test_a_free_mail_domain_is_answered_as_a_personal_provider_without_intro_buttons(
    text: str, locale: str, expected: str
) -> None:
    relationships = Resolving()
    [reply] = say(adapter_for(_service(relationships), locale=locale), text, locale=locale)
    assert not reply.attachments  # no who-knows card, so no "Ask … for an intro" buttons
    assert expected in reply.text
    assert ("personal e-mail provider, not a company" if locale == "en-US" else "是个人邮箱服务商，不是公司") in reply.text
    assert not [c for c in relationships.calls if c[0] in ("health", "who_knows")]


def test_an_ambiguous_name_says_how_many_more_match_in_english_and_chinese() -> None:
    relationships = Resolving()
    [reply] = say(adapter_for(_service(relationships)), "health of Systems")
    assert reply.text == ('"Systems" matches 12 accounts: Systems A, Systems B, Systems C, Systems D, Systems E '
                          "and 7 more — be more specific.")
    [reply] = say(adapter_for(_service(relationships), locale="zh-CN"), "Systems 的健康度如何", locale="zh-CN")
    assert reply.text == ("“Systems”匹配 12 个客户：Systems A、Systems B、Systems C、Systems D、Systems E，"
                          "另有 7 个未列出，请说得更具体一些。")
    relationships.candidates = SYSTEMS[:5]  # all shown: no "more"
    [reply] = say(adapter_for(_service(relationships)), "who knows systems")
    assert reply.text.endswith("Systems E. Which one?") and "more" not in reply.text


@pytest.mark.parametrize("text", ["score of L-000008", "what's the score of L-000008?", "L-000008 的评分",
                                  "评分 L-000008", "score of lead L-000008", "score of Marco Mitchell",
                                  "Marco Mitchell 的评分", "李娜的评分", "李娜 的评分是多少？"])
def test_a_bare_id_that_only_a_lead_has_is_scored_as_that_lead(text: str) -> None:
    scores = FakeScores()
    [reply] = say(adapter_for(_service(Resolving(), scores)), text)
    assert scores.calls == [("lead", "L-000008")]
    assert card_of(reply)["type"] == "AdaptiveCard"


def test_score_asks_which_kind_only_when_a_lead_and_an_opportunity_share_the_id_or_it_is_no_record() -> None:
    scores = FakeScores()
    adapter = adapter_for(_service(Resolving(), scores))
    [reply] = say(adapter, "score of X-1")
    assert reply.text == '"X-1" is both a lead and an opportunity: say **lead X-1** or **opportunity X-1**.'
    [reply] = say(adapter, "score of Fabrikam")  # an account: scores are for leads and opportunities
    assert "Scores are for leads and opportunities" in reply.text
    [reply] = say(adapter, "score of nothing-here")
    assert "Scores are for leads and opportunities" in reply.text
    [reply] = say(adapter_for(_service(Resolving(), scores), locale="zh-CN"), "X-1 的评分", locale="zh-CN")
    assert reply.text == "“X-1”既是线索编号，也是商机编号：请说 **线索 X-1** 或 **商机 X-1**。"
    assert scores.calls == []


@pytest.mark.parametrize(("text", "locale", "expected"), [
    ("score of Fjord Foods - Services", "en-US",
     '"Fjord Foods - Services" is the name of 2 records: Fjord Foods - Services (OPP-2), Fjord Foods - Services '
     "(OPP-3). Say which by its id, e.g. **score of opportunity OPP-2**."),
    ("score of opportunity Fjord Foods - Services", "en-US", "e.g. **score of opportunity OPP-2**."),
    ("商机 Fjord Foods - Services 的评分", "zh-CN",
     "“Fjord Foods - Services”是 2 条记录的名称：Fjord Foods - Services（OPP-2）、Fjord Foods - Services（OPP-3）。"
     "请用编号指明，例如 **商机 OPP-2 的评分**。"),
])
def test_a_name_several_records_share_is_answered_with_their_ids(text: str, locale: str, expected: str) -> None:
    scores = FakeScores()
    [reply] = say(adapter_for(_service(Resolving(), scores), locale=locale), text, locale=locale)
    assert reply.text.endswith(expected) if not expected.startswith(("\"", "“")) else reply.text == expected
    assert scores.calls == []


def test_health_of_a_bare_id_shared_by_a_lead_and_an_opportunity_asks_which() -> None:
    [reply] = say(adapter_for(_service(Resolving())), "health of X-1")
    assert "both a lead and an opportunity" in reply.text


@pytest.mark.parametrize(("per_second", "en", "zh"), [
    (1.0, "Please wait 1 second and try again.", "请等待 1 秒后再试。"),
    (0.5, "Please wait 2 seconds and try again.", "请等待 2 秒后再试。"),
])
def test_the_flood_notice_says_second_or_seconds(per_second: float, en: str, zh: str) -> None:
    for locale, expected in (("en-US", en), ("zh-CN", zh)):
        adapter = adapter_for(_service(Resolving(), limiter=RateLimiter(capacity=1, per_second=per_second)),
                              locale=locale)
        assert say(adapter, "my accounts", locale=locale)[0].attachments
        [notice] = say(adapter, "my accounts", locale=locale)
        assert notice.text.endswith(expected)


def test_waiting_as_long_as_the_flood_notice_says_is_enough() -> None:
    clock = Clock()
    adapter = adapter_for(_service(Resolving(), limiter=RateLimiter(capacity=1, per_second=0.4), clock=clock))
    assert say(adapter, "my accounts")[0].attachments
    [notice] = say(adapter, "my accounts")  # 2.5 s to the next token: rounding down told the user 2 s
    assert "Please wait 3 seconds" in notice.text
    clock.t += 3.0
    assert say(adapter, "my accounts")[0].attachments


def test_the_demo_imports_an_opportunitys_name_as_its_label_and_never_as_a_feature(
    engine: Engine, tenant_id: str, now: datetime, tmp_path: Path
) -> None:
    write_mappings(tmp_path)
    header = ("opportunity_id,name,account_id,account_name,owner_email,primary_contact_email,industry,company_size,"
              "country,source,product,amount,currency,created_on,estimated_close_date,stage,status,"
              "actual_close_date,closed_reason")
    row = ("OPP-00001,Crescent Capital - Services,ACC-00002,Crescent Capital,noah.hill@fabrikam.com,"
           "wyatt.baker@crescentcapital.co.uk,manufacturing,1001-5000,GB,cold_outreach,Services,17200,USD,"
           "2026-06-25T23:17:11Z,2026-08-14T18:52:44Z,Develop,Open,,")
    (tmp_path / "opportunities.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    (tmp_path / "opportunity_stages.csv").write_text(
        "opportunity_id,seq,stage,entered_on\nOPP-00001,1,Qualify,2026-06-25T23:17:11Z\n", encoding="utf-8")
    mapping = tmp_path / "opportunities.mapping.toml"
    assert "name" not in {f.name for f in load_mapping(mapping).feature_fields}
    import_crm_file(engine, tenant_id, "opportunity", tmp_path / "opportunities.csv", mapping, now)
    queries = RelationshipQueries(engine, Settings())
    assert queries.resolve_target(tenant_id, "OPP-00001").label == "Crescent Capital - Services"

"""Conversation logic through botbuilder's TestAdapter, with in-memory fakes of the bot's ports."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount

from bot.conversation import signing
from bot.conversation.commands import CommandTable
from bot.conversation.model import ConversationRecord
from bot.conversation.ratelimit import RateLimiter
from bot.conversation.service import ConversationService
from bot.features import Features, wire
from bot.teams_sdk.handler import RapportTeamsHandler
from tests.bot.fakes import (
    COLLEAGUE,
    MANAGER,
    NOW,
    REP,
    TENANT,
    FakeAccess,
    FakeConversations,
    FakeDirectory,
    FakeRelationships,
)

KEY = b"k"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def make_service(*, features: bool = True, limiter: RateLimiter | None = None
                 ) -> tuple[ConversationService, FakeConversations, FakeRelationships, Clock]:
    conversations = FakeConversations()
    relationships = FakeRelationships()
    table, actions = (wire(Features(relationships, FakeAccess()), conversations=conversations, secret_key=KEY)
                      if features else (CommandTable(), {}))
    clock = Clock()
    service = ConversationService(FakeDirectory(), conversations, table, KEY, clock=lambda: NOW, monotonic=clock,
                                  limiter=limiter or RateLimiter(), actions=actions, run=_inline)
    return service, conversations, relationships, clock


async def _inline(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def adapter_for(service: ConversationService, user: str = REP, *, tenant: str = TENANT,
                locale: str = "en-US") -> TestAdapter:
    handler = RapportTeamsHandler(service, None, lambda: NOW)
    template = Activity(channel_id="msteams", service_url="https://smba.example/", locale=locale,
                        from_property=ChannelAccount(id="29:" + user, name=user, aad_object_id=user),
                        recipient=ChannelAccount(id="28:bot", name="Rapport"),
                        conversation=ConversationAccount(id="conv-" + user, tenant_id=tenant,
                                                         conversation_type="personal"))
    return TestAdapter(handler.on_turn, template)


def say(adapter: TestAdapter, text: str, locale: str = "en-US") -> list[Activity]:
    async def run() -> list[Activity]:
        adapter.activity_buffer.clear()
        await adapter.receive_activity(Activity(type="message", text=text, locale=locale))
        return list(adapter.activity_buffer)
    return asyncio.run(run())


def card_of(activity: Activity) -> dict[str, Any]:
    return activity.attachments[0].content


def test_unknown_text_gets_help_listing_only_available_commands() -> None:
    service, *_ = make_service(features=False)
    [reply] = say(adapter_for(service), "tell me a joke")
    assert "No analytics commands" in str(card_of(reply))
    service, *_ = make_service()
    [reply] = say(adapter_for(service), "tell me a joke")
    text = str(card_of(reply))
    assert "who knows" in text and "health of" in text and "No analytics" not in text


@pytest.mark.parametrize("text,call", [
    ("health of Fabrikam", ("health", "acc-fabrikam")),
    ("What's the health of fabrikam.com?", ("health", "acc-fabrikam")),
    ("how is our relationship with Fabrikam", ("health", "acc-fabrikam")),
    ("Fabrikam 的健康度如何？", ("health", "acc-fabrikam")),
    ("health of opportunity opp-9", ("health", "opp-9")),
    ("商机 opp-9 的健康度", ("health", "opp-9")),
    ("who knows jane@fabrikam.com", ("who_knows", "jane@fabrikam.com")),
    ("谁认识 jane@fabrikam.com", ("who_knows", "jane@fabrikam.com")),
    ("intro to jane@fabrikam.com", ("who_knows", "jane@fabrikam.com")),
    ("my accounts", ("mine", REP)),
    ("我的商机", ("mine", REP)),
    ("show me my accounts", ("mine", REP)),
    ("list my opportunities please", ("mine", REP)),
    ("What are my leads?", ("mine", REP)),
    ("我的客户有哪些", ("mine", REP)),
])
def test_phrasings_in_english_and_chinese_reach_the_right_query(text: str, call: tuple[str, str]) -> None:
    service, _, relationships, _ = make_service()
    replies = say(adapter_for(service), text)
    assert call in relationships.calls
    assert replies and replies[0].attachments


def test_a_managers_lists_cover_their_reporting_chain_and_say_so() -> None:
    service, _, relationships, _ = make_service()
    [reply] = say(adapter_for(service, MANAGER), "my opportunities")
    assert sorted(c for c in relationships.calls if c[0] == "mine") == [("mine", MANAGER), ("mine", REP)]
    assert "My team's opportunities" in str(card_of(reply))
    relationships.calls.clear()
    [reply] = say(adapter_for(service, REP), "my opportunities")
    assert [c for c in relationships.calls if c[0] == "mine"] == [("mine", REP)]
    assert "My opportunities" in str(card_of(reply))


def test_replies_follow_the_activity_locale() -> None:
    service, *_ = make_service()
    [reply] = say(adapter_for(service, locale="zh-CN"), "Fabrikam 的健康度", locale="zh-CN")
    assert card_of(reply)["lang"] == "zh" and "关系健康度" in str(card_of(reply))


def test_a_rep_cannot_see_a_contact_they_do_not_take_part_in_but_their_manager_can() -> None:
    service, *_ = make_service()
    [reply] = say(adapter_for(service, COLLEAGUE), "health of jane@fabrikam.com")
    assert "isn't one of them" in reply.text
    [reply] = say(adapter_for(service, MANAGER), "health of jane@fabrikam.com")
    assert card_of(reply)["type"] == "AdaptiveCard"


def test_not_found_and_ambiguous_targets_are_explained() -> None:
    service, *_ = make_service()
    adapter = adapter_for(service)
    assert "couldn't find" in say(adapter, "health of nowhere.example")[0].text
    assert "Contoso GmbH" in say(adapter, "health of contoso")[0].text


def test_unknown_user_is_refused_politely() -> None:
    service, *_ = make_service()
    [reply] = say(adapter_for(service, "stranger"), "health of Fabrikam")
    assert "don't know you" in reply.text


def test_flood_from_one_user_is_rate_limited_once_politely_then_recovers() -> None:
    service, _, relationships, clock = make_service(limiter=RateLimiter(capacity=3, per_second=1.0))
    adapter = adapter_for(service)
    replies = [say(adapter, "my accounts") for _ in range(10)]
    assert [len(r) for r in replies] == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert "faster than I can answer" in replies[3][0].text
    assert relationships.calls.count(("mine", REP)) == 3
    other = adapter_for(service, MANAGER)
    assert say(other, "my accounts")[0].attachments  # other users are unaffected
    clock.t += 2.0
    assert say(adapter, "my accounts")[0].attachments


def test_huge_and_control_character_messages_are_handled() -> None:
    service, _, relationships, _ = make_service()
    adapter = adapter_for(service)
    huge = "health of Fabrikam " + "x" * 100_000
    assert say(adapter, huge)  # answered (not found, bounded echo), no crash
    assert say(adapter, "health\x00 of\x07 Fab\u202erikam\x1b")
    assert ("resolve", "Fabrikam") in relationships.calls
    assert len(say(adapter, "\x00\x01\x02")) == 1  # only control characters: help


def test_install_stores_the_conversation_reference_and_says_hello() -> None:
    service, conversations, *_ = make_service()
    adapter = adapter_for(service)

    async def run() -> list[Activity]:
        await adapter.receive_activity(Activity(type="conversationUpdate", channel_data={"tenant": {"id": TENANT}},
                                                members_added=[ChannelAccount(id="28:bot")]))
        return list(adapter.activity_buffer)
    [hello] = asyncio.run(run())
    assert hello.attachments
    record = conversations.records[(TENANT, "conv-" + REP)]
    assert record.user_aad_id == REP and record.reference["conversation"]["id"] == "conv-" + REP


def _invoke(adapter: TestAdapter, verb: str, data: dict[str, Any]) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        adapter.activity_buffer.clear()
        await adapter.receive_activity(Activity(type="invoke", name="adaptiveCard/action", value={
            "action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}))
        [response] = [a for a in adapter.activity_buffer if a.type == "invokeResponse"]
        return response.value.body  # type: ignore[no-any-return]
    return asyncio.run(run())


def test_intro_flow_asks_the_colleague_first_then_sends_the_requester_a_draft() -> None:
    service, conversations, *_ = make_service()
    conversations.save(ConversationRecord(TENANT, "conv-c", "https://smba.example/", user_aad_id=COLLEAGUE),
                       at=NOW)
    [reply] = say(adapter_for(service), "who knows jane@fabrikam.com")
    buttons = card_of(reply)["actions"]
    assert [b["title"] for b in buttons] == ["Ask Cho for an intro"]  # never a button to ask oneself
    body = _invoke(adapter_for(service), "intro.request", buttons[0]["data"])
    assert body["statusCode"] == 200 and "I asked Cho" in str(body["value"])
    result = asyncio.run(service.on_action(_inbound_action(REP, "intro.request", buttons[0]["data"])))
    [ask] = result.followups
    assert ask.user_aad_id == COLLEAGUE
    accept = ask.reply.card["actions"][0]  # type: ignore[index]
    # The requester cannot press the colleague's Accept button.
    assert _invoke(adapter_for(service), "intro.accept", accept["data"])["statusCode"] == 403
    accepted = asyncio.run(service.on_action(_inbound_action(COLLEAGUE, "intro.accept", accept["data"])))
    [draft] = accepted.followups
    assert draft.user_aad_id == REP and "agreed to introduce you" in str(draft.reply.card)


def _inbound_action(user: str, verb: str, data: dict[str, Any], tenant: str = TENANT) -> Any:
    from bot.conversation.model import Inbound
    return Inbound("action", tenant, user, user, "en-US", None, NOW, verb=verb, data=data)


@pytest.mark.parametrize("tamper", ["other_user", "other_tenant", "edited_args", "unsigned", "verb_swap"])
def test_altered_action_payloads_are_rejected(tamper: str) -> None:
    service, *_ = make_service()
    good = signing.sign(KEY, verb="intro.request", tenant_id=TENANT, user_id=REP,
                        args={"colleague_id": COLLEAGUE, "colleague_name": "Cho", "label": "Jane"})
    data: dict[str, Any] = {"rapport": dict(good["rapport"])}
    user, tenant, verb = REP, TENANT, "intro.request"
    if tamper == "other_user":
        user = MANAGER
    elif tamper == "other_tenant":
        tenant = "99999999-0000-0000-0000-000000000000"
    elif tamper == "edited_args":
        data["rapport"]["a"] = {**data["rapport"]["a"], "colleague_id": MANAGER}
    elif tamper == "unsigned":
        data = {"colleague_id": COLLEAGUE}
    else:
        verb = "intro.accept"
    result = asyncio.run(service.on_action(_inbound_action(user, verb, data, tenant)))
    assert result.status == 403 and result.card is None and not result.followups

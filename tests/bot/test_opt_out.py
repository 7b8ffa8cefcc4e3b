"""A user opts themself out of who knows whom in Teams (and back in), over the real store: colleagues' who-knows
answers leave them out at the next ask, every change is audited, and nobody can opt out someone else."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from botbuilder.core.adapters import TestAdapter
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from analytics.query import RelationshipQueries
from analytics.settings import Settings
from analytics.store import models
from analytics.store.opt_outs import OptOut, OptOuts
from bot.app import cached_features
from bot.conversation.service import ConversationService
from bot.features import Features, wire
from bot.storage import StoreAccess, StoreConversations, StoreDirectory
from tests.analytics.builders import add_users, ext, ingest, mail, user
from tests.bot.fakes import FakeAccess, FakeConversations, FakeRelationships
from tests.bot.test_conversation import adapter_for, card_of, say

KEY = b"k"
AUDIT = models.table_of(models.AuditEvent)
OPT_OUT = models.table_of(models.UserOptOut)
CAROL = "carol@fabrikam.com"


@pytest.fixture
def service(engine: Engine, tenant_id: str, now: datetime) -> ConversationService:
    """The bot as ``rapport serve`` wires it (cached relationship answers included) over a store where Alice and
    Bob both mail Carol, Alice more."""
    add_users(engine, tenant_id, "alice", "bob")
    carol = ext(CAROL)
    ingest(engine, tenant_id, [mail(user("alice"), [carol], now - timedelta(days=d)) for d in range(1, 30, 3)]
           + [mail(user("bob"), [carol], now - timedelta(days=2))], now)
    features = cached_features(Features(relationships=RelationshipQueries(engine, Settings()),
                                        access=StoreAccess(engine), privacy=OptOuts(engine)), engine)
    conversations = StoreConversations(engine)
    table, actions = wire(features, conversations=conversations, secret_key=KEY)
    return ConversationService(StoreDirectory(engine), conversations, table, KEY, clock=lambda: now,
                               monotonic=lambda: 0.0, actions=actions)


def _as(service: ConversationService, name: str, tenant_id: str, locale: str = "en-US") -> TestAdapter:
    return adapter_for(service, f"u-{name}", tenant=tenant_id, locale=locale)


def _text(adapter: TestAdapter, message: str, locale: str = "en-US") -> str:
    [reply] = say(adapter, message, locale)
    return str(reply.text)


def _who_knows_carol(adapter: TestAdapter, locale: str = "en-US") -> str:
    [reply] = say(adapter, f"who knows {CAROL}", locale)
    return str(card_of(reply))


def _audit(engine: Engine, tenant_id: str) -> list[tuple[str, str, str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(AUDIT.c.actor, AUDIT.c.action, AUDIT.c.target, AUDIT.c.details)
                            .where(AUDIT.c.tenant_id == tenant_id).order_by(AUDIT.c.at, AUDIT.c.action)).all()
    return [tuple(r) for r in rows]


def test_opting_out_leaves_the_user_out_of_colleagues_answers_until_they_opt_back_in(
        service: ConversationService, engine: Engine, tenant_id: str) -> None:
    alice, bob = _as(service, "alice", tenant_id), _as(service, "bob", tenant_id)
    before = _who_knows_carol(bob)
    assert "**Alice**" in before and "Ask Alice for an intro" in before and "opted out" not in before

    reply = _text(alice, "opt out")
    assert reply.startswith("Done: you've opted out of who knows whom.")
    assert "will no longer see you as someone who knows a contact or company, nor be offered an introduction " \
           "through you" in reply
    assert "takes effect immediately, including for your past mail" in reply
    assert "Your mail is still synced" in reply and "say **opt back in**" in reply

    after = _who_knows_carol(bob)  # the cached answer from before does not hide the opt-out
    assert "Alice" not in after and "**Bob**" in after
    assert "1 colleague opted out and is not shown." in after

    assert _text(alice, "opt out").startswith("You're already opted out of who knows whom (since 2026-11-02)")
    status = _text(alice, "my privacy")
    assert status.startswith("You've been opted out of who knows whom since 2026-11-02")
    assert "opt back in" in status

    assert _text(alice, "opt back in").startswith("Welcome back")
    again = _who_knows_carol(bob)
    assert "**Alice**" in again and "Ask Alice for an intro" in again and "opted out" not in again
    assert _text(alice, "opt back in").startswith("You aren't opted out")
    assert _text(alice, "privacy status").startswith("You're in:")

    assert _audit(engine, tenant_id) == [  # one row per change; the repeated requests changed nothing
        ("teams:u-alice", "privacy.opt_in", "u-alice", {"scopes": ["who_knows"]}),
        ("teams:u-alice", "privacy.opt_out", "u-alice", {"scope": "who_knows", "email": "alice@contoso.com"}),
    ]


def test_opting_out_of_everything_and_the_chinese_replies(
        service: ConversationService, engine: Engine, tenant_id: str) -> None:
    alice, bob = _as(service, "alice", tenant_id, "zh-CN"), _as(service, "bob", tenant_id, "zh-CN")
    reply = _text(alice, "我要退出", "zh-CN")
    assert reply.startswith("已完成：您已退出“谁认识谁”。") and "立即生效" in reply and "**重新加入**" in reply
    assert "Alice" not in _who_knows_carol(bob, "zh-CN") and "1 位同事已选择退出，未显示。" in _who_knows_carol(bob, "zh-CN")
    assert _text(alice, "退出谁认识谁", "zh-CN").startswith("您已经退出了“谁认识谁”（自 2026年11月2日 起）")

    everything = _text(alice, "退出所有", "zh-CN")  # widening the opt-out is a change
    assert everything.startswith("已完成：您已退出 Rapport 向同事分享您信息的所有功能。") and "谈话要点" in everything
    assert _text(alice, "我要退出", "zh-CN").startswith("您已经退出了所有功能")
    assert _text(alice, "隐私设置", "zh-CN").startswith("您自 2026年11月2日 起已退出 Rapport 向同事分享您信息的所有功能")

    assert _text(alice, "重新加入", "zh-CN").startswith("欢迎回来")  # both opt-outs go
    with engine.connect() as conn:
        assert conn.execute(select(OPT_OUT)).all() == []
    assert "**Alice**" in _who_knows_carol(bob, "zh-CN")
    events = sorted((action, json.dumps(details, sort_keys=True))  # PostgreSQL's jsonb orders the keys
                    for _, action, _, details in _audit(engine, tenant_id))
    assert events == [("privacy.opt_in", '{"scopes": ["who_knows", "all"]}'),
                      ("privacy.opt_out", '{"email": "alice@contoso.com", "scope": "all"}'),
                      ("privacy.opt_out", '{"email": "alice@contoso.com", "scope": "who_knows"}')]


def test_the_status_date_is_the_users_own_day(service: ConversationService, engine: Engine, tenant_id: str,
                                              now: datetime) -> None:
    users = models.table_of(models.InternalUser)
    with engine.begin() as conn:  # 09:00 UTC is 18:00 in Tokyo; 23:30 UTC the day before would be the 2nd
        conn.execute(update(users).where(users.c.user_id == "u-alice").values(time_zone="Tokyo Standard Time"))
        conn.execute(OPT_OUT.insert().values(tenant_id=tenant_id, user_id="u-alice", scope="who_knows",
                                             opted_out_at=now - timedelta(hours=9, minutes=30)))
    assert "since 2026-11-02" in _text(_as(service, "alice", tenant_id), "my privacy")


@pytest.mark.parametrize("message,locale", [
    ("opt out bob@contoso.com", "en-US"), ("opt Bob out", "en-US"), ("opt in bob@contoso.com", "en-US"),
    ("帮 Bob 退出", "zh-CN"),
])
def test_nobody_can_opt_out_someone_else(service: ConversationService, engine: Engine, tenant_id: str,
                                         message: str, locale: str) -> None:
    reply = _text(_as(service, "alice", tenant_id, locale), message, locale)
    assert ("I can only change your own privacy setting" in reply if locale == "en-US"
            else reply.startswith("我只能更改您自己的隐私设置"))
    assert "rapport users opt-out" in reply
    with engine.connect() as conn:
        assert conn.execute(select(OPT_OUT)).all() == [] and _audit(engine, tenant_id) == []
    assert "**Bob**" in _who_knows_carol(_as(service, "alice", tenant_id))


class _NoStore:
    """Phrasing tests: the table only (no handler runs)."""

    def opt_out(self, tenant_id: str, user_id: str, scope: str, *, now: datetime, actor: str) -> bool:
        raise AssertionError("not called")

    def opt_in(self, tenant_id: str, user_id: str, scopes: Any, *, now: datetime,
               actor: str) -> tuple[str, ...]:
        raise AssertionError("not called")

    def opt_outs_of(self, tenant_id: str, user_id: str) -> list[OptOut]:
        raise AssertionError("not called")


@pytest.mark.parametrize("text,command", [
    ("opt out", "opt_out"), ("Opt out.", "opt_out"), ("opt me out", "opt_out"),
    ("opt out of who knows", "opt_out"), ("opt out of who-knows-whom please", "opt_out"),
    ("I want to opt out", "opt_out"), ("stop showing my connections", "opt_out"),
    ("please hide my connections", "opt_out"), ("我要退出", "opt_out"), ("退出谁认识谁", "opt_out"),
    ("我想退出“谁认识谁”功能", "opt_out"), ("不要显示我的联系人", "opt_out"),
    ("opt out of everything", "opt_out_all"), ("opt me out of all", "opt_out_all"), ("退出所有", "opt_out_all"),
    ("我要全部退出", "opt_out_all"),
    ("opt back in", "opt_in"), ("opt in", "opt_in"), ("opt me back in please", "opt_in"),
    ("opt in to who knows", "opt_in"), ("show my connections again", "opt_in"), ("重新加入", "opt_in"),
    ("my privacy", "privacy"), ("privacy status", "privacy"), ("Privacy settings?", "privacy"),
    ("am I opted out?", "privacy"), ("隐私设置", "privacy"), ("我的隐私", "privacy"),
    ("opt out rob@contoso.com", "opt_out_other"), ("opt Rob out", "opt_out_other"),
    ("帮 Rob 退出", "opt_out_other"), ("opt out of the digest", "opt_out_which"),
    # the other commands keep their phrasings
    ("who knows jane@fabrikam.com", "who_knows"), ("my accounts", "mine"),
    ("谁认识 jane@fabrikam.com", "who_knows"),
])
def test_phrasings_reach_the_privacy_commands(text: str, command: str) -> None:
    table, _ = wire(Features(FakeRelationships(), FakeAccess(), privacy=_NoStore()),
                    conversations=FakeConversations(), secret_key=KEY)
    found = table.match(text)
    assert found is not None and found[0].name == command, text


def test_help_lists_the_privacy_commands_once(service: ConversationService) -> None:
    lines = service.commands.help_lines("en")
    assert [line for line in lines if "opt out" in line] == [
        "**my privacy** / **opt out** / **opt back in** — whether colleagues see you in who-knows answers and can "
        "ask you for intros; leave or come back"]
    chinese = service.commands.help_lines("zh")
    assert any(line.startswith("**隐私设置** / **我要退出** / **重新加入** — ") for line in chinese)


def test_an_intro_button_drawn_before_the_opt_out_does_not_ask_the_colleague(
        service: ConversationService, engine: Engine, tenant_id: str, now: datetime) -> None:
    """The card Bob got still shows "Ask Alice for an intro"; after Alice opted out, pressing it must not ask her."""
    import asyncio

    from bot.conversation.model import Inbound

    bob = _as(service, "bob", tenant_id)
    [reply] = say(bob, f"who knows {CAROL}")
    [button] = [b for b in card_of(reply)["actions"] if b["title"] == "Ask Alice for an intro"]
    assert _text(_as(service, "alice", tenant_id), "opt out").startswith("Done")
    pressed = asyncio.run(service.on_action(Inbound("action", tenant_id, "u-bob", "u-bob", "en-US", None, now,
                                                    verb="intro.request", data=button["data"])))
    assert pressed.followups == ()
    assert "Alice has opted out of introductions since this card was shown" in json.dumps(pressed.card)

"""Manager digests: content from the stores, the card, and sending through the paced queue to the fake connector."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from analytics.settings import Settings
from analytics.store import models
from bot.cards.digest import render_digest
from bot.conversation.model import ConversationRecord
from bot.digest.content import build_digest
from bot.digest.queue import SendQueue
from bot.digest.send import plan_digests, send_plan
from bot.ports import StoredPrediction
from bot.storage import StoreConversations, StoreDirectory, StorePredictions
from bot.teams_sdk.runtime import build_messenger
from bot.web.chart_links import ChartLinks
from tests.bot.conftest import MANAGER, REP
from tests.bot.fakes import NOW, FakeConversations, FakeRelationships, principal
from tests.bot.harness import FakeConnector, IssuerCredentialFactory, TokenIssuer
from tests.bot.test_cards_schema import VALIDATOR


@dataclass
class FakePredictions:
    rows: dict[tuple[str, str], StoredPrediction] = field(default_factory=lambda: {
        ("lead", "l1"): StoredPrediction("l1", 88.0, "A", True, False, None),
        ("opportunity", "o1"): StoredPrediction("o1", 35.0, "C", False, True, "in Propose for 40 days (won: 12)"),
    })

    def stored(self, tenant_id: str, record_type: str, record_ids: Sequence[str]) -> dict[str, StoredPrediction]:
        return {i: self.rows[(record_type, i)] for i in record_ids if (record_type, i) in self.rows}


def test_digest_lists_declining_hot_and_stuck_records_of_the_chain_and_validates() -> None:
    manager = principal("u-manager", "Mia", ["u-rep"])
    relationships = FakeRelationships()
    view = build_digest(manager, relationships, FakePredictions(), NOW)
    assert sorted(c for c in relationships.calls if c[0] == "mine") == [("mine", "u-manager"), ("mine", "u-rep")]
    assert [(i.kind, i.record_id) for i in view.declining] == [("lead", "l1")]  # Fabrikam is Steady
    assert [(i.record_id, i.score) for i in view.hot_leads] == [("l1", 88.0)]
    assert [(i.record_id, i.detail) for i in view.stuck_deals] == [("o1", "in Propose for 40 days (won: 12)")]
    assert view.team_size == 1
    for lang in ("en", "zh"):
        card = render_digest(view, lang, "https://bot.example.com/charts/team.png?sig=x")
        assert not list(VALIDATOR.iter_errors(card))
    text = str(render_digest(view, "en"))
    assert "Declining relationships" in text and "Hot leads" in text and "Stuck deals" in text
    empty = build_digest(manager, relationships, FakePredictions(rows={}), NOW)
    assert not empty.hot_leads and not empty.stuck_deals and "Nothing this week" in str(render_digest(empty, "en"))


def test_stored_predictions_and_managers_come_from_the_store(engine: Engine, tenant_id: str,
                                                             users: dict[str, str], now: datetime) -> None:
    score = models.table_of(models.Score)
    with engine.begin() as conn:
        conn.execute(score.insert(), [
            {"tenant_id": tenant_id, "score_kind": "predictive", "record_type": "lead", "record_id": "L-1",
             "value": 81.0, "label": "A", "computed_at": now, "details": {"likely": True}},
            {"tenant_id": tenant_id, "score_kind": "predictive", "record_type": "opportunity", "record_id": "O-1",
             "value": 30.0, "label": "C", "computed_at": now, "details": {"stuck": True, "stuck_reason": "slow"}},
            {"tenant_id": tenant_id, "score_kind": "health", "record_type": "lead", "record_id": "L-2",
             "value": 20.0, "label": "Poor", "computed_at": now, "details": {}},
        ])
    stored = StorePredictions(engine)
    assert stored.stored(tenant_id, "lead", ["L-1", "L-2"]) == {
        "L-1": StoredPrediction("L-1", 81.0, "A", True, False, None)}
    assert stored.stored(tenant_id, "opportunity", ["O-1"])["O-1"].stuck_reason == "slow"
    assert StoreDirectory(engine).managers(tenant_id) == [MANAGER]


class FakeSleep:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_digests_go_to_stored_conversations_through_the_connector_retrying_429_and_502(
        engine: Engine, tenant_id: str, users: dict[str, str], settings: Settings, issuer: TokenIssuer,
        connector: FakeConnector, now: datetime) -> None:
    conversations = StoreConversations(engine)
    reference = {"conversation": {"id": "a:mia"}, "serviceUrl": connector.url, "channelId": "msteams",
                 "bot": {"id": "28:bot"}, "user": {"id": "29:mia", "aadObjectId": MANAGER}}
    conversations.save(ConversationRecord(tenant_id, "a:mia", connector.url, user_aad_id=MANAGER, locale="zh-CN",
                                          reference=reference), at=now)
    links = ChartLinks(b"s", "https://bot.example.com")
    plan = plan_digests([tenant_id], directory=StoreDirectory(engine), conversations=conversations,
                        relationships=FakeRelationships(), predictions=FakePredictions(), charts=links, now=now)
    assert [r.conversation_id for r, _, _ in plan.jobs] == ["a:mia"] and plan.unreachable == []
    messenger = build_messenger(settings, conversations, endpoints=issuer.endpoints(),
                                credential_factory=IssuerCredentialFactory(issuer))
    clock = FakeSleep()
    queue = SendQueue(send=messenger.send, clock=clock.clock, sleep=clock.sleep, random=lambda: 0.0,
                      wall_clock=lambda: now.timestamp())
    connector.script.extend([429, 502, 412])
    [outcome] = asyncio.run(send_plan(plan, queue))
    assert outcome.delivered and outcome.attempts == 4
    assert clock.slept == [1.0, 2.0, 4.0]  # Retry-After: 1, then backoff 2 s and 4 s
    [sent] = connector.sent
    assert sent.path.startswith("/v3/conversations/a%3Amia/activities")
    card: dict[str, Any] = sent.body["attachments"][0]["content"]
    assert card["lang"] == "zh" and "每周摘要" in str(card)
    assert any(e.get("type") == "Image" and "/charts/team.png" in e["url"] for e in card["body"])
    connector.script.extend([502] * 5)  # a conversation that keeps failing: give up after five attempts
    [gave_up] = asyncio.run(send_plan(plan, queue))
    assert not gave_up.delivered and gave_up.attempts == 5 and gave_up.last_status == 502
    assert len(connector.sent) == 1


def test_digest_send_dry_run_names_the_recipients_and_sends_nothing(
        db_url: str, engine: Engine, tenant_id: str, users: dict[str, str], connector: FakeConnector,
        now: datetime, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from bot.cli import build_app

    with engine.begin() as conn:
        conn.execute(models.table_of(models.Tenant).update().values(status="active"))
    StoreConversations(engine).save(ConversationRecord(tenant_id, "a:mia", connector.url, user_aad_id=MANAGER),
                                    at=now)
    monkeypatch.setenv("RAPPORT_DATABASE_URL", db_url)
    result = CliRunner().invoke(build_app(), ["digest", "send", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Mia <mia@contoso.com>: 0 declining, 0 hot leads, 0 stuck deals" in result.output
    assert "dry run, nothing sent: 1 digest would be sent" in result.output and connector.sent == []


def test_a_manager_without_the_bot_is_reported_unreachable(
        engine: Engine, tenant_id: str, users: dict[str, str]) -> None:
    plan = plan_digests([tenant_id], directory=StoreDirectory(engine), conversations=FakeConversations(),
                        relationships=FakeRelationships(), predictions=FakePredictions(), charts=None, now=NOW)
    assert plan.jobs == [] and [(m.tenant_id, m.user_id) for m in plan.unreachable] == [(tenant_id, MANAGER)]
    assert REP not in [m.user_id for m in plan.unreachable]

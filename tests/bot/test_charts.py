"""Charts behind signed, expiring URLs: valid, expired and tampered links, over the bot's web server."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from sqlalchemy.engine import Engine

from analytics.settings import Settings
from bot.app import AppOptions, create_app
from bot.conversation.service import ConversationService
from bot.features import Features, wire
from bot.storage import StoreTeamActivity
from bot.web.chart_links import BadChartLink, ChartLinks, sign_path, verify
from tests.bot.conftest import MANAGER, serve
from tests.bot.fakes import NOW, FakeAccess, FakeConversations, FakeDirectory, FakeRelationships
from tests.bot.harness import IssuerCredentialFactory, TokenIssuer
from tests.bot.test_cards_schema import VALIDATOR
from tests.bot.test_conversation import _inline, adapter_for, card_of, say

SECRET = b"chart-secret"
T0 = NOW.timestamp()


def _query(path: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}


def test_a_signed_link_verifies_until_it_expires() -> None:
    path = sign_path(SECRET, "health", "t1", "account:acc-1", int(T0 + 60))
    request = verify(SECRET, "health", _query(path), T0)
    assert (request.kind, request.tenant_id, request.subject) == ("health", "t1", "account:acc-1")
    assert verify(SECRET, "health", _query(path), T0 + 59.9)
    with pytest.raises(BadChartLink, match="expired"):
        verify(SECRET, "health", _query(path), T0 + 60)


@pytest.mark.parametrize("tamper", ["tenant", "subject", "expiry", "kind", "signature", "key", "missing"])
def test_tampered_links_are_refused(tamper: str) -> None:
    query = _query(sign_path(SECRET, "health", "t1", "account:acc-1", int(T0 + 600)))
    kind, secret = "health", SECRET
    if tamper == "tenant":
        query["t"] = "t2"
    elif tamper == "subject":
        query["s"] = "account:acc-2"
    elif tamper == "expiry":
        query["e"] = str(int(T0 + 10**6))
    elif tamper == "kind":
        kind = "activity"
    elif tamper == "signature":
        query["sig"] = "0" * 64
    elif tamper == "key":
        secret = b"another deployment"
    else:
        del query["sig"]
    with pytest.raises(BadChartLink):
        verify(secret, kind, query, T0)


def test_health_cards_embed_chart_links_only_with_a_public_url() -> None:
    links = ChartLinks(SECRET, "https://bot.example.com/")
    for charts, expected in ((links, 2), (None, 0)):
        table, actions = wire(Features(FakeRelationships(), FakeAccess()), conversations=FakeConversations(),
                              secret_key=SECRET, charts=charts)
        service = ConversationService(FakeDirectory(), FakeConversations(), table, SECRET, clock=lambda: NOW,
                                      monotonic=lambda: 0.0, actions=actions, run=_inline)
        card = card_of(say(adapter_for(service), "health of Fabrikam")[0])
        images = [e["url"] for e in card["body"] if e["type"] == "Image"]
        assert len(images) == expected and not list(VALIDATOR.iter_errors(card))
        for url in images:
            assert url.startswith("https://bot.example.com/charts/") and "sig=" in url
            assert verify(SECRET, url.split("/charts/")[1].split(".png")[0], _query(url), T0 + 3600)


def _app(settings: Settings, engine: Engine, issuer: TokenIssuer, clock: list[datetime]) -> web.Application:
    opts = AppOptions(endpoints=issuer.endpoints(), credential_factory=IssuerCredentialFactory(issuer),
                      clock=lambda: clock[0])
    features = Features(FakeRelationships(), FakeAccess(), team=StoreTeamActivity(engine))
    return create_app(settings.with_overrides(bot_public_url="https://bot.example.com"), engine,
                      features=features, options=opts)


def test_the_web_server_serves_pngs_for_valid_links_and_403_otherwise(
        settings: Settings, engine: Engine, issuer: TokenIssuer, tenant_id: str, users: dict[str, str]) -> None:
    clock = [NOW]
    app = _app(settings, engine, issuer, clock)
    links = ChartLinks(settings.secret_key.encode(), "")
    health = links.url("health", tenant_id, "account:acc-fabrikam", T0)
    activity = links.url("activity", tenant_id, "account:acc-fabrikam", T0)
    team = links.url("team", tenant_id, MANAGER, T0)
    unknown_manager = links.url("team", tenant_id, "nobody", T0)
    tampered = health.replace("acc-fabrikam", "acc-other")

    async def scenario(client: Any) -> list[tuple[int, str, bytes]]:
        out = []
        for path in (health, activity, team, unknown_manager, tampered, "/charts/health.png"):
            r = await client.get(path)
            out.append((r.status, r.content_type, (await r.read())[:8]))
        clock[0] = NOW + timedelta(days=8)  # past the links' 7-day lifetime
        r = await client.get(health)
        out.append((r.status, r.content_type, b""))
        return out
    results = serve(app, scenario)
    assert [r[0] for r in results] == [200, 200, 200, 404, 403, 403, 403]
    assert all(ct == "image/png" and head == b"\x89PNG\r\n\x1a\n" for _, ct, head in results[:3])


def test_score_history_charts_are_served_for_valid_links_only(engine: Engine, tenant_id: str) -> None:
    from analytics.store import models
    from bot.scores import StoreScores
    from bot.web.charts import chart_handler

    with engine.begin() as conn:
        conn.execute(models.table_of(models.ScoreHistory).insert(), [
            {"tenant_id": tenant_id, "score_kind": "predictive", "record_type": "opportunity", "record_id": "O-7",
             "computed_at": NOW - timedelta(days=d), "value": v} for d, v in ((14, 40.0), (7, 48.0), (0, 61.0))])
    clock = [NOW]
    app = web.Application()
    app.router.add_get("/charts/{kind}.png", chart_handler(
        SECRET, relationships=None, directory=FakeDirectory(), team=None, clock=lambda: clock[0],
        scores=StoreScores(engine, Settings())))
    links = ChartLinks(SECRET, "")
    good = links.url("score", tenant_id, "opportunity:O-7", T0)
    never_scored = links.url("score", tenant_id, "opportunity:O-8", T0)
    not_a_record = links.url("score", tenant_id, "account:acc-fabrikam", T0)
    other_tenant = links.url("score", "99999999-0000-0000-0000-000000000000", "opportunity:O-7", T0)
    tampered = good.replace("O-7", "O-8")
    relabelled = good.replace("/charts/score.png", "/charts/health.png")  # a score link is no health link

    async def scenario(client: Any) -> list[tuple[int, bytes]]:
        out = []
        for path in (good, never_scored, not_a_record, other_tenant, tampered, relabelled):
            r = await client.get(path)
            out.append((r.status, (await r.read())[:8]))
        clock[0] = NOW + timedelta(days=8)
        out.append(((await client.get(good)).status, b""))
        return out
    results = serve(app, scenario)
    assert [s for s, _ in results] == [200, 404, 404, 404, 403, 403, 403]
    assert results[0][1] == b"\x89PNG\r\n\x1a\n"

"""End to end over HTTP with authentication on: raw Activity JSON posted to /api/messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from tests.bot.conftest import OTHER_TENANT, REP, serve
from tests.bot.harness import APP_ID, FakeConnector, TokenIssuer, activity


def _post_all(app: web.Application, posts: list[tuple[dict[str, Any], str | None]]) -> list[int]:
    async def scenario(client: Any) -> list[int]:
        statuses = []
        for body, token in posts:
            headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
            response = await client.post("/api/messages", json=body, headers=headers)
            await response.read()
            statuses.append(response.status)
        return statuses
    return serve(app, scenario)


def _post(app: web.Application, body: dict[str, Any], token: str | None) -> tuple[int, None]:
    return _post_all(app, [(body, token)])[0], None


def test_authenticated_message_is_answered_through_the_connector(
        make_app: Callable[..., web.Application], issuer: TokenIssuer, connector: FakeConnector,
        tenant_id: str, users: dict[str, str]) -> None:
    body = activity("help", service_url=connector.url, tenant_id=tenant_id, user_aad_id=REP)
    status, _ = _post(make_app(), body, issuer.mint(service_url=connector.url))
    assert status == 200
    [sent] = connector.sent
    assert sent.path == "/v3/conversations/a%3Apersonal-1/activities/" + body["id"]
    assert sent.authorization and sent.authorization.startswith("Bearer ")
    card = sent.body["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["version"] == "1.5"


@pytest.mark.parametrize("case", ["missing", "garbage", "forged", "expired", "wrong_audience",
                                  "wrong_service_url", "wrong_issuer", "no_service_url_claim"])
def test_bad_tokens_get_401_and_nothing_is_sent(
        case: str, make_app: Callable[..., web.Application], issuer: TokenIssuer, connector: FakeConnector,
        tenant_id: str, users: dict[str, str]) -> None:
    url = connector.url
    token = {
        "missing": None,
        "garbage": "not-a-jwt",
        "forged": issuer.mint(service_url=url, forged=True),
        "expired": issuer.mint(service_url=url, expires_in=-3600),
        "wrong_audience": issuer.mint(service_url=url, audience="some-other-bot"),
        "wrong_service_url": issuer.mint(service_url="https://smba.trafficmanager.net/evil/"),
        "wrong_issuer": issuer.mint(service_url=url, issuer="https://evil.example.com"),
        "no_service_url_claim": issuer.mint(service_url=None),
    }[case]
    body = activity("help", service_url=url, tenant_id=tenant_id, user_aad_id=REP)
    status, _ = _post(make_app(), body, token)
    assert status == 401
    assert connector.sent == []


def test_malformed_bodies_are_rejected_without_a_500(make_app: Callable[..., web.Application],
                                                      issuer: TokenIssuer, connector: FakeConnector) -> None:
    app = make_app()

    async def scenario(client: Any) -> list[int]:
        token = {"Authorization": "Bearer " + issuer.mint(service_url=connector.url)}
        statuses = []
        for data, ctype in [(b"{", "application/json"), (b"[1,2]", "application/json"),
                            (b"{}", "application/json"), (b"hello", "text/plain")]:
            r = await client.post("/api/messages", data=data, headers={**token, "Content-Type": ctype})
            statuses.append(r.status)
        return statuses
    assert serve(app, scenario) == [400, 400, 400, 415]


def test_unknown_user_and_other_tenant_get_a_polite_refusal(
        make_app: Callable[..., web.Application], issuer: TokenIssuer, connector: FakeConnector,
        tenant_id: str, users: dict[str, str]) -> None:
    app = make_app()
    token = issuer.mint(service_url=connector.url)
    stranger = activity("health of Fabrikam", service_url=connector.url, tenant_id=tenant_id,
                        user_aad_id="00000000-dead-beef-0000-000000000000")
    foreign = activity("health of Fabrikam", service_url=connector.url, tenant_id=OTHER_TENANT, user_aad_id=REP)
    assert _post_all(app, [(stranger, token), (foreign, token)]) == [200, 200]
    texts = [a["text"] for a in connector.activities()]
    assert "don't know you" in texts[0]
    assert "isn't set up for your organisation" in texts[1]


def test_dev_mode_refuses_to_bind_beyond_loopback(settings: Any, engine: Any) -> None:
    from analytics.errors import ConfigError
    from bot.app import create_app

    with pytest.raises(ConfigError):
        create_app(settings.with_overrides(bot_host="0.0.0.0"), engine, dev=True)


def test_auth_mode_requires_an_app_id(settings: Any, engine: Any) -> None:
    from analytics.errors import ConfigError
    from bot.app import create_app

    with pytest.raises(ConfigError):
        create_app(settings.with_overrides(bot_app_id=""), engine)
    assert APP_ID


def test_replies_reuse_one_connector_client_and_one_token(
        make_app: Callable[..., web.Application], issuer: TokenIssuer, connector: FakeConnector,
        tenant_id: str, users: dict[str, str]) -> None:
    """Three turns, three replies: one outbound token request, not one per turn (nor per reply)."""
    app = make_app()
    token = issuer.mint(service_url=connector.url)
    before = issuer.outbound_tokens
    posts = [(activity(text, service_url=connector.url, tenant_id=tenant_id, user_aad_id=REP,
                       conversation_id=f"a:personal-{i}"), token)
             for i, text in enumerate(["help", "help", "hello"])]
    assert _post_all(app, posts) == [200, 200, 200]
    assert issuer.outbound_tokens - before == 1
    sent = connector.sent
    assert [s.path.split("/")[3] for s in sent] == ["a%3Apersonal-0", "a%3Apersonal-1", "a%3Apersonal-2"]
    assert len({s.authorization for s in sent}) == 1
    assert sent[0].authorization is not None and sent[0].authorization.startswith("Bearer ")

"""``/admin/consent`` and its callback over HTTP, with the grant confirmed against the Graph emulator's token
endpoint (in process, through its ``MockTransport``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.engine import Engine

from analytics.settings import Settings
from analytics.store import models
from bot.admin import AdminOptions, register_admin_routes
from graph_sync.emulator import EmulatorState

from .conftest import CLIENT_ID, CLIENT_SECRET

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SETTINGS = Settings(secret_key="consent-test-key", graph_client_id=CLIENT_ID, graph_client_secret=CLIENT_SECRET,
                    bot_public_url="https://rapport.example.com")


class Recorder:
    """A FirstSync that remembers which tenants asked for a first sync."""

    def __init__(self) -> None:
        self.requested: list[str] = []

    def request(self, tenant_id: str) -> None:
        self.requested.append(tenant_id)

    async def aclose(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def first_sync() -> Recorder:
    return Recorder()


@pytest.fixture
def run(engine: Engine, emulator: EmulatorState, clock: Clock, first_sync: Recorder
        ) -> Callable[..., Any]:
    def go(scenario: Callable[[TestClient[Any, Any]], Awaitable[Any]], settings: Settings = SETTINGS) -> Any:
        nonces = iter(f"nonce-{i}" for i in range(100))
        app = web.Application()
        register_admin_routes(app, settings, engine, options=AdminOptions(
            clock=clock, nonce=lambda: next(nonces), first_sync=first_sync, transport=emulator.mock_transport()))

        async def main() -> Any:
            async with TestClient(TestServer(app)) as client:
                return await scenario(client)
        return asyncio.run(main())
    return go


async def _state(client: TestClient[Any, Any], query: str = "") -> tuple[str, dict[str, list[str]]]:
    response = await client.get("/admin/consent" + query, allow_redirects=False)
    assert response.status == 302
    location = response.headers["Location"]
    return location, parse_qs(urlsplit(location).query)


def _callback(state: str, **params: str) -> str:
    return "/admin/consent/callback?" + urlencode({"state": state, **params})


def _granted(tenant: str) -> dict[str, str]:
    scope = " ".join(f"https://graph.microsoft.com/{p}" for p in ("User.Read.All", "Mail.ReadBasic.All"))
    return {"admin_consent": "True", "tenant": tenant, "scope": scope}


def _consents(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(models.table_of(models.ConsentRecord))).all())


def _tenants(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(models.table_of(models.Tenant))).mappings().all())


def test_consent_redirects_to_microsofts_admin_consent_endpoint_with_a_signed_state(run: Callable[..., Any]) -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        location, query = await _state(client)
        parts = urlsplit(location)
        assert (parts.scheme, parts.netloc, parts.path) == (
            "https", "login.microsoftonline.com", "/organizations/v2.0/adminconsent")
        assert query["client_id"] == [CLIENT_ID]
        assert query["scope"] == ["https://graph.microsoft.com/.default"]
        assert query["redirect_uri"] == ["https://rapport.example.com/admin/consent/callback"]
        assert query["state"][0].count(".") == 1
        named, _ = await _state(client, "?tenant=contoso.onmicrosoft.com")
        assert urlsplit(named).path == "/contoso.onmicrosoft.com/v2.0/adminconsent"
        refused = await client.get("/admin/consent?tenant=<script>", allow_redirects=False)
        assert refused.status == 400
    run(scenario)


def test_callback_confirms_the_grant_records_tenant_and_scopes_and_starts_the_first_sync(
        run: Callable[..., Any], engine: Engine, emulator: EmulatorState, first_sync: Recorder) -> None:
    async def scenario(client: TestClient[Any, Any]) -> str:
        _, query = await _state(client)
        response = await client.get(_callback(query["state"][0], **_granted(emulator.tenant_id)))
        assert response.status == 200, await response.text()
        return await response.text()
    page = run(scenario)
    assert "Consent recorded" in page and "Mail.ReadBasic.All" in page
    (tenant,) = _tenants(engine)
    assert tenant["tenant_id"] == emulator.tenant_id and tenant["status"] == "active"
    assert (tenant["client_id"], tenant["client_secret"], tenant["auth_kind"]) == (CLIENT_ID, CLIENT_SECRET, "secret")
    # The scopes are the roles of the token Entra (here: the emulator) issued, not the redirect's claim.
    assert "Mail.ReadBasic.All" in tenant["granted_scopes"] and "Calendars.Read" in tenant["granted_scopes"]
    assert tenant["consented_at"] == T0
    (consent,) = _consents(engine)
    assert (consent.tenant_id, consent.consent_id) == (emulator.tenant_id, "nonce-0")
    assert consent.scopes == tenant["granted_scopes"]
    assert first_sync.requested == [emulator.tenant_id]


def test_a_grant_without_the_needed_permissions_is_recorded_and_says_what_is_missing(
        run: Callable[..., Any], engine: Engine, small_tenant: Path, first_sync: Recorder) -> None:
    restricted = EmulatorState.from_directory(small_tenant)
    restricted.register_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, roles=["User.Read.All"])
    app = web.Application()
    register_admin_routes(app, SETTINGS, engine, options=AdminOptions(
        clock=lambda: T0, first_sync=first_sync, transport=restricted.mock_transport()))

    async def main() -> str:
        async with TestClient(TestServer(app)) as client:
            _, query = await _state(client)
            response = await client.get(_callback(query["state"][0], **_granted(restricted.tenant_id)))
            return await response.text()
    page = asyncio.run(main())
    assert "permissions are missing" in page and "Mail.ReadBasic.All" in page
    assert _tenants(engine)[0]["granted_scopes"] == ["User.Read.All"]


def test_a_replayed_state_records_nothing_more(run: Callable[..., Any], engine: Engine, emulator: EmulatorState,
                                               first_sync: Recorder) -> None:
    async def scenario(client: TestClient[Any, Any]) -> int:
        _, query = await _state(client)
        url = _callback(query["state"][0], **_granted(emulator.tenant_id))
        assert (await client.get(url)).status == 200
        other = _callback(query["state"][0], **_granted("0b0e5f1c-0000-4000-8000-00000000c0de"))
        assert (await client.get(other)).status == 409  # the same state for another tenant: refused too
        return (await client.get(url)).status
    assert run(scenario) == 409
    assert len(_consents(engine)) == 1 and len(_tenants(engine)) == 1
    assert first_sync.requested == [emulator.tenant_id]


@pytest.mark.parametrize("case", ["expired", "tampered", "missing", "foreign key"])
def test_a_bad_or_expired_state_shows_a_page_and_records_nothing(
        case: str, run: Callable[..., Any], engine: Engine, emulator: EmulatorState, clock: Clock,
        first_sync: Recorder) -> None:
    async def scenario(client: TestClient[Any, Any]) -> tuple[int, str]:
        _, query = await _state(client)
        state = query["state"][0]
        if case == "expired":
            clock.now = T0 + timedelta(seconds=SETTINGS.consent_state_ttl_seconds)
        elif case == "tampered":
            body, mac = state.split(".")
            state = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
        elif case == "missing":
            state = ""
        else:
            from bot.admin.state import issue_state
            state = issue_state(b"someone else", nonce="x", now=T0.timestamp(), ttl_seconds=900,
                                tenant_hint="organizations")
        response = await client.get(_callback(state, **_granted(emulator.tenant_id)))
        return response.status, await response.text()
    status, page = run(scenario)
    assert status == 400
    assert ("expired" in page) if case == "expired" else ("not valid" in page)
    assert _consents(engine) == [] and _tenants(engine) == [] and first_sync.requested == []


def test_an_entra_error_is_shown_escaped_and_nothing_is_recorded(
        run: Callable[..., Any], engine: Engine, first_sync: Recorder) -> None:
    async def scenario(client: TestClient[Any, Any]) -> tuple[int, str]:
        _, query = await _state(client)
        response = await client.get(_callback(
            query["state"][0], error="access_denied",
            error_description="AADSTS65004: User declined to consent <script>alert(1)</script>"))
        return response.status, await response.text()
    status, page = run(scenario)
    assert status == 400 and "access_denied" in page and "AADSTS65004" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert _consents(engine) == [] and _tenants(engine) == [] and first_sync.requested == []


def test_a_tenant_that_did_not_consent_gets_no_token_and_nothing_is_recorded(
        run: Callable[..., Any], engine: Engine, first_sync: Recorder) -> None:
    async def scenario(client: TestClient[Any, Any]) -> tuple[int, int]:
        _, query = await _state(client)
        forged = await client.get(_callback(query["state"][0], **_granted("0b0e5f1c-0000-4000-8000-00000000c0de")))
        no_tenant = await client.get(_callback(query["state"][0], admin_consent="True", tenant="not-a-guid"))
        return forged.status, no_tenant.status
    assert run(scenario) == (503, 400)
    assert _consents(engine) == [] and _tenants(engine) == [] and first_sync.requested == []


def test_without_a_graph_app_the_routes_say_so(run: Callable[..., Any]) -> None:
    async def scenario(client: TestClient[Any, Any]) -> tuple[int, int]:
        first = await client.get("/admin/consent", allow_redirects=False)
        second = await client.get("/admin/consent/callback?state=x")
        return first.status, second.status
    assert run(scenario, Settings(secret_key="k")) == (503, 503)

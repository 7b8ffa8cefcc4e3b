"""Token endpoint, JWKS/OpenID documents, and bearer-token validation (401 ``InvalidAuthenticationToken``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import jwt

from graph_sync.emulator import EmulatorState, Fault
from tests.graph_sync.emulator.conftest import FakeClock
from tests.graph_sync.emulator.helpers import GRAPH, authed_client, token_for

LOGIN = "https://login.microsoftonline.com"


def test_token_is_an_rs256_jwt_verifiable_with_the_published_jwks(state: EmulatorState) -> None:
    async def run() -> None:
        client = httpx.AsyncClient(transport=state.mock_transport())
        token = await token_for(client, state)
        config = (await client.get(f"{LOGIN}/contoso.example/v2.0/.well-known/openid-configuration")).json()
        assert config["token_endpoint"].endswith(f"/{state.tenant_id}/oauth2/v2.0/token")
        keys = (await client.get(config["jwks_uri"])).json()["keys"]
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "RS256" and header["kid"] == keys[0]["kid"]
        public = jwt.PyJWK(keys[0]).key
        claims = jwt.decode(token, public, algorithms=["RS256"], audience="https://graph.microsoft.com",
                            options={"verify_exp": False})
        assert claims["tid"] == state.tenant_id and "Mail.ReadBasic.All" in claims["roles"]
    asyncio.run(run())


def test_wrong_secret_unknown_client_and_bad_scope_are_refused(state: EmulatorState) -> None:
    async def run() -> None:
        client = httpx.AsyncClient(transport=state.mock_transport())
        app = state.register_app("client-1", "right")
        url = f"{LOGIN}/{state.tenant_id}/oauth2/v2.0/token"
        form = {"grant_type": "client_credentials", "client_id": "client-1", "client_secret": "wrong",
                "scope": "https://graph.microsoft.com/.default"}
        wrong = await client.post(url, data=form)
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
        unknown = await client.post(url, data={**form, "client_id": "nobody"})
        assert unknown.status_code == 400 and unknown.json()["error_codes"] == [700016]
        scope = await client.post(url, data={**form, "client_secret": app.client_secret, "scope": "User.Read"})
        assert scope.json()["error"] == "invalid_scope"
    asyncio.run(run())


def test_missing_expired_and_forged_tokens_get_401(state: EmulatorState, clock: FakeClock,
                                                   tenant_dir: Path) -> None:
    async def run() -> None:
        client = await authed_client(state)
        assert (await client.get(f"{GRAPH}/users")).status_code == 200
        bare = await client.get(f"{GRAPH}/users", headers={"Authorization": ""})
        assert bare.status_code == 401 and bare.json()["error"]["code"] == "InvalidAuthenticationToken"
        other = EmulatorState.from_directory(tenant_dir)  # same tenant, different signing key
        forged = await token_for(httpx.AsyncClient(transport=other.mock_transport()), other)
        assert (await client.get(f"{GRAPH}/users", headers={"Authorization": f"Bearer {forged}"})).status_code == 401
        state.faults.add(Fault.token_expired())
        scripted = await client.get(f"{GRAPH}/users")
        assert scripted.status_code == 401 and "expired" in scripted.json()["error"]["message"]
        clock.advance(3600)
        expired = await client.get(f"{GRAPH}/users")
        assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
        assert "WWW-Authenticate" in expired.headers
    asyncio.run(run())


def test_an_app_without_the_permission_is_denied(state: EmulatorState) -> None:
    async def run() -> None:
        client = httpx.AsyncClient(transport=state.mock_transport())
        app = state.register_app(roles=["User.Read.All"])
        token = (await client.post(f"{LOGIN}/{state.tenant_id}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret,
            "scope": "https://graph.microsoft.com/.default"})).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert (await client.get(f"{GRAPH}/users", headers=headers)).status_code == 200
        denied = await client.get(f"{GRAPH}/users/alice@contoso.example/mailFolders", headers=headers)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "ErrorAccessDenied"
    asyncio.run(run())

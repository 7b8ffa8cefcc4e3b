"""``EmulatorCredential``: an azure-core ``AsyncTokenCredential`` that runs the client-credentials grant
against a token endpoint over plain HTTP (azure-identity's ``ClientSecretCredential`` insists on https)."""

from __future__ import annotations

import time
from typing import Any

import httpx
from azure.core.credentials import AccessToken

from graph_sync.emulator.auth import GRAPH_DEFAULT_SCOPE
from graph_sync.emulator.config import Clock
from graph_sync.emulator.errors import EmulatorError


class TokenRequestFailed(EmulatorError):
    """The token endpoint refused the client credentials."""

    def __init__(self, status: int, error: str, description: str) -> None:
        self.status = status
        self.error = error
        self.description = description
        super().__init__(f"token endpoint answered {status} {error}: {description}")


class EmulatorCredential:
    """Fetches (and caches until five minutes before expiry) app-only tokens from ``token_url``."""

    def __init__(self, token_url: str, client_id: str, client_secret: str,
                 transport: httpx.AsyncBaseTransport | None = None, clock: Clock = time.time) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self._client = httpx.AsyncClient(transport=transport, timeout=30.0)
        self._clock = clock
        self._cached: AccessToken | None = None

    async def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                        enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        """A valid access token for ``scopes`` (Graph's ``.default`` when none are given)."""
        if self._cached is not None and self._cached.expires_on - 300 > self._clock():
            return self._cached
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self._secret,
                "scope": " ".join(scopes) or GRAPH_DEFAULT_SCOPE}
        response = await self._client.post(self.token_url, data=form)
        body = response.json()
        if response.status_code != 200:
            raise TokenRequestFailed(response.status_code, str(body.get("error")), str(body.get("error_description")))
        self._cached = AccessToken(body["access_token"], int(self._clock()) + int(body["expires_in"]))
        return self._cached

    def forget(self) -> None:
        """Drop the cached token so the next call fetches a new one."""
        self._cached = None

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def __aenter__(self) -> EmulatorCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

"""Credentials for a tenant: azure-identity for Microsoft Entra ID, a small client-credentials credential otherwise.

azure-identity refuses non-https authorities (PLATFORM.md), so a tenant whose authority is a loopback URL (the
bundled emulator, a test server) gets :class:`ClientCredentialsCredential`: the same OAuth 2.0 client
credentials grant against ``{authority}/{tenant}/oauth2/v2.0/token``, with the token cached until shortly before
it expires and fetched once however many requests ask for it at the same time. Both satisfy azure.core's ``AsyncTokenCredential`` protocol, which is all kiota's
``AzureIdentityAuthenticationProvider`` needs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlparse

import httpx
from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential

from graph_sync.errors import TenantConfigError
from graph_sync.transport import PooledTransport

REFRESH_MARGIN = 300.0  # seconds before expiry at which a cached token is renewed
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


AsyncCredential = AsyncTokenCredential


@dataclass(frozen=True)
class TenantCredentials:
    """How to authenticate one tenant (from the ``tenant`` table)."""

    tenant_id: str
    client_id: str
    auth_kind: str  # secret | certificate | emulator
    client_secret: str | None
    certificate_path: str | None
    authority: str


class ClientCredentialsCredential:
    """OAuth 2.0 client credentials against any token endpoint (used for loopback/emulator authorities)."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._secret = client_secret
        if transport is None and not token_url.startswith("https:"):
            # Plain http (the emulator): skip loading a TLS context that would never be used (~50 ms of CPU).
            transport = PooledTransport(httpx.Limits(max_connections=4, max_keepalive_connections=2))
        self._http = httpx.AsyncClient(transport=transport, timeout=30.0)
        self._clock = clock
        self._cached: AccessToken | None = None
        self._fetching: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    async def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                        enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        """A cached token, or a new one from the token endpoint (one request for all concurrent callers)."""
        cached = self._valid()
        if cached is not None:
            return cached
        # The worker starts many requests at once, all before the first token arrives: without the lock each of
        # them posted its own token request (15 for a 12-mailbox pass).
        async with self._lock():
            cached = self._valid()
            if cached is not None:
                return cached
            response = await self._http.post(self._token_url, data={
                "grant_type": "client_credentials", "client_id": self._client_id,
                "client_secret": self._secret, "scope": " ".join(scopes) or "https://graph.microsoft.com/.default",
            })
            if response.status_code != 200:
                raise TenantConfigError(f"token endpoint {self._token_url} answered {response.status_code}: "
                                        f"{response.text[:200]}")
            body = response.json()
            token = AccessToken(str(body["access_token"]), int(self._clock() + float(body.get("expires_in", 3600))))
            self._cached = token
            return token

    def _valid(self) -> AccessToken | None:
        cached = self._cached
        return cached if cached is not None and cached.expires_on - REFRESH_MARGIN > self._clock() else None

    def _lock(self) -> asyncio.Lock:
        """The lock of the running event loop (an asyncio lock cannot be shared between loops)."""
        loop = asyncio.get_running_loop()
        if self._fetching is None or self._fetching[0] is not loop:
            self._fetching = (loop, asyncio.Lock())
        return self._fetching[1]

    def invalidate(self) -> None:
        """Drop the cached token (Graph said it expired)."""
        self._cached = None

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ClientCredentialsCredential:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None = None, exc: BaseException | None = None,
                        tb: TracebackType | None = None) -> None:
        await self.close()


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (where plain http and a non-Entra authority are acceptable)."""
    return (urlparse(url).hostname or "") in LOOPBACK


def make_credential(
    creds: TenantCredentials, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncCredential:
    """The credential for a tenant: azure-identity for Entra ID, :class:`ClientCredentialsCredential` otherwise."""
    authority = creds.authority.rstrip("/")
    if creds.auth_kind == "emulator" or transport is not None or not authority.startswith("https://"):
        if not creds.client_secret:
            raise TenantConfigError(f"tenant {creds.tenant_id}: a client secret is needed for {authority}")
        return ClientCredentialsCredential(f"{authority}/{creds.tenant_id}/oauth2/v2.0/token", creds.client_id,
                                           creds.client_secret, transport=transport)
    host = urlparse(authority).hostname or authority
    # azure-identity's async credentials: the sync is asyncio, and the sync ones would block the event loop.
    from azure.identity.aio import CertificateCredential, ClientSecretCredential

    if creds.auth_kind == "certificate":
        if not creds.certificate_path:
            raise TenantConfigError(f"tenant {creds.tenant_id}: certificate auth needs a certificate path")
        return CertificateCredential(creds.tenant_id, creds.client_id, creds.certificate_path,
                                     authority=host)
    if not creds.client_secret:
        raise TenantConfigError(f"tenant {creds.tenant_id}: secret auth needs a client secret")
    return ClientSecretCredential(creds.tenant_id, creds.client_id, creds.client_secret,
                                  authority=host)

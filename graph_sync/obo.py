"""Delegated Graph access: azure-identity's ``OnBehalfOfCredential`` for a user's Teams SSO token.

The bot's app registration (the audience of the Teams SSO token, ``webApplicationInfo`` in the manifest) trades
the user's token for a Graph token for the same user with the OAuth 2.0 on-behalf-of grant, using its client id
and secret. azure-identity talks to Entra through an azure-core pipeline and insists on an https authority; tests
and the bundled emulator hand it :class:`HttpxTransport`, an azure-core transport over an ``httpx`` transport (the
emulator's ``MockTransport``), with an https authority name the emulator answers for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx
from azure.core.pipeline.transport import AsyncHttpResponse, AsyncHttpTransport
from azure.core.rest import HttpRequest
from azure.core.utils import CaseInsensitiveDict

from graph_sync.auth import AsyncCredential
from graph_sync.errors import TenantConfigError


@dataclass(frozen=True)
class DelegatedApp:
    """The app that receives Teams SSO tokens and exchanges them on behalf of the user."""

    client_id: str
    client_secret: str
    authority: str  # https://login.microsoftonline.com (or a national cloud, or an https name for the emulator)


class _Response(AsyncHttpResponse):
    """An azure-core response over a buffered ``httpx.Response``."""

    def __init__(self, request: Any, response: httpx.Response) -> None:
        super().__init__(request, response)
        self.status_code = response.status_code
        self.headers = CaseInsensitiveDict(response.headers)
        self.reason = response.reason_phrase
        self.content_type = response.headers.get("content-type")
        self._content = response.content

    def body(self) -> bytes:
        return self._content

    async def load_body(self) -> None:
        return None

    def stream_download(self, pipeline: Any, **kwargs: Any) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            yield self._content
        return chunks()

    def __iter__(self) -> Iterator[bytes]:  # pragma: no cover - never streamed
        yield self._content


class HttpxTransport(AsyncHttpTransport[Any, Any]):
    """azure-core ``AsyncHttpTransport`` that sends through an ``httpx`` transport (buffered, no streaming)."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._client = httpx.AsyncClient(transport=transport, timeout=30.0)

    async def send(self, request: Any, **kwargs: Any) -> _Response:
        content = request.content if isinstance(request, HttpRequest) else request.body
        if isinstance(content, dict):
            content = urlencode(content)
        answer = await self._client.request(request.method, request.url, headers=dict(request.headers),
                                            content=content)
        await answer.aread()
        return _Response(request, answer)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpxTransport:
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.close()


def make_obo_credential(app: DelegatedApp, tenant_id: str, user_assertion: str, *,
                        transport: httpx.AsyncBaseTransport | None = None) -> AsyncCredential:
    """An ``OnBehalfOfCredential`` for ``user_assertion`` (the user's Teams SSO token) in ``tenant_id``."""
    authority = app.authority.rstrip("/")
    if not authority.startswith("https://"):
        raise TenantConfigError(f"on-behalf-of needs an https authority, not {authority}")
    if not app.client_secret:
        raise TenantConfigError("on-behalf-of needs the bot app's client secret (RAPPORT_BOT_APP_PASSWORD)")
    from azure.identity.aio import OnBehalfOfCredential

    extra: dict[str, Any] = {"transport": HttpxTransport(transport)} if transport is not None else {}
    credential: AsyncCredential = OnBehalfOfCredential(
        tenant_id, app.client_id, client_secret=app.client_secret, user_assertion=user_assertion,
        authority=urlparse(authority).hostname or authority, **extra)
    return credential

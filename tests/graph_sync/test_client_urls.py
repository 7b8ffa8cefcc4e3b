"""The sync client's cached initial URLs and lean pipeline give the same requests as the SDK's builders."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware import RedirectHandler, UrlReplaceHandler, UserAgentHandler
from msgraph_core.middleware import GraphTelemetryHandler

from graph_sync.auth import ClientCredentialsCredential
from graph_sync.client import DIRECTORY_KEY, GraphClient, Limiter, build_service_client

BASE = "https://graph.microsoft.com/v1.0"


def _client(sync_pipeline: bool) -> tuple[GraphClient, httpx.AsyncClient]:
    cred = ClientCredentialsCredential("https://login.example/token", "c", "s")
    limiter = Limiter(4, 4, 100)
    service, http = build_service_client(cred, BASE, transport=httpx.MockTransport(lambda r: httpx.Response(200)),
                                         sync_pipeline=sync_pipeline, limiter=limiter)
    return GraphClient(service, cred, http, limiter), http


def _handlers(http: httpx.AsyncClient) -> list[type]:
    pipeline = http._transport.pipeline  # type: ignore[attr-defined]
    out, m = [], pipeline._first_middleware
    while m is not None:
        out.append(type(m))
        m = m.next
    return out


@pytest.mark.parametrize("user", ["0b7e2c1a-93f4-4d35-8f0e-5a1b2c3d4e5f", "ADA.Lovelace_x~1", "a@b.example",
                                  "o'neil@x.example", "ünï@x.example", "a b/c?d"])
def test_cached_urls_equal_the_builders(user: str) -> None:
    client, _ = _client(True)
    start, end = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2026, 7, 8, 9, 10, 11, tzinfo=UTC)
    for _ in range(2):  # the first call fills the cache, the second uses it
        for folder in ("inbox", "sentitems"):
            url = client.messages_delta_url(user, folder)
            assert url == client._messages_delta_url(user, folder)
            assert "?$select=" in url and "placeholder" not in url
        url = client.events_delta_url(user, start, end)
        b = client.service.users.by_user_id(user).calendar_view.delta
        qp = b.DeltaRequestBuilderGetQueryParameters(start_date_time="2025-01-02T03:04:05Z",
                                                     end_date_time="2026-07-08T09:10:11Z")
        assert url == client._url(b.to_get_request_information(RequestConfiguration(query_parameters=qp)))
        assert "startDateTime=2025-01-02T03%3A04%3A05Z" in url and "placeholder" not in url


def test_sync_pipeline_keeps_user_agent_and_telemetry_only() -> None:
    _, sync_http = _client(True)
    _, full_http = _client(False)
    sync = _handlers(sync_http)
    assert len(sync) == 2 and sync[0] is UserAgentHandler and issubclass(sync[1], GraphTelemetryHandler)
    full = _handlers(full_http)
    assert UrlReplaceHandler in full and RedirectHandler in full and issubclass(full[-1], GraphTelemetryHandler)


def test_telemetry_recognises_graph_urls_as_the_sdk_does() -> None:
    _, http = _client(True)
    ours = http._transport.pipeline._first_middleware.next  # type: ignore[attr-defined]
    sdk = GraphTelemetryHandler()
    for url in ("https://graph.microsoft.com/v1.0/users?$top=999", "https://GRAPH.microsoft.com/beta/me",
                "https://graph.microsoft.us/v1.0/domains", "https://microsoftgraph.chinacloudapi.cn/v1.0/x",
                "http://graph.microsoft.com/v1.0/users", "http://127.0.0.1:8080/v1.0/users/x/messages/delta",
                "https://graph.microsoft.com:8443/v1.0/users", "https://login.microsoftonline.com/t/oauth2"):
        for _ in range(2):  # answered, then remembered
            assert ours.is_graph_url(httpx.URL(url)) == sdk.is_graph_url(httpx.URL(url)), url


def test_sync_request_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"value": []})

    class Cred:
        async def get_token(self, *scopes: str, **kw: object) -> object:
            from azure.core.credentials import AccessToken
            return AccessToken("tok", 2**40)

        async def close(self) -> None:
            return None

    limiter = Limiter(4, 4, 100)
    service, http = build_service_client(Cred(), BASE, transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
                                         sync_pipeline=True, limiter=limiter)
    client = GraphClient(service, Cred(), http, limiter, page_size=10)  # type: ignore[arg-type]
    url = client.messages_delta_url("0b7e2c1a-93f4-4d35-8f0e-5a1b2c3d4e5f", "inbox")
    assert asyncio.run(client.get_json(url, mailbox="m")) == {"value": []}
    req = seen[0]
    assert str(req.url) == url
    assert req.headers["authorization"] == "Bearer tok"
    assert req.headers["client-request-id"] and req.headers["sdkversion"].startswith("graph-python")
    assert "kiota-python/" in req.headers["user-agent"]
    assert set(req.headers["prefer"].split(", ")) == {'IdType="ImmutableId"', "odata.maxpagesize=10"}

    # Directory requests (no mailbox) leave the page size to the URL: on /users the preference would override
    # $top=999 and turn the user list into U/10 sequential pages.
    asyncio.run(client.get_json(client.users_url()))
    asyncio.run(client.get_json(client.batch_url(), body={"requests": []}))
    for req in seen[1:]:
        assert req.headers["prefer"] == 'IdType="ImmutableId"'
    assert "%24top=999" in str(seen[1].url) or "$top=999" in str(seen[1].url)


def test_in_flight_limits_per_mailbox_and_for_the_directory() -> None:
    """A mailbox never has more than ``per_mailbox`` requests in flight; tenant-level directory requests (no
    mailbox) are held back by the worker's global limit only."""

    class Cred:
        async def get_token(self, *scopes: str, **kw: object) -> object:
            from azure.core.credentials import AccessToken
            return AccessToken("tok", 2**40)

        async def close(self) -> None:
            return None

    async def go(mailbox: str) -> tuple[int, int]:
        gate = asyncio.Event()

        async def handler(request: httpx.Request) -> httpx.Response:
            await gate.wait()
            return httpx.Response(200, json={"value": []})

        limiter = Limiter(8, 4, 1000)
        service, http = build_service_client(Cred(), BASE, transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
                                             sync_pipeline=True, limiter=limiter)
        client = GraphClient(service, Cred(), http, limiter)  # type: ignore[arg-type]
        url = client.messages_delta_url("0b7e2c1a-93f4-4d35-8f0e-5a1b2c3d4e5f", "inbox")
        if mailbox == DIRECTORY_KEY:
            url = client.domains_url()
        tasks = [asyncio.ensure_future(client.get_json(url, mailbox=mailbox)) for _ in range(12)]
        for _ in range(50):
            await asyncio.sleep(0)
        in_flight = limiter.in_flight[mailbox]
        gate.set()
        await asyncio.gather(*tasks)
        return in_flight, limiter.max_in_flight[mailbox]

    assert asyncio.run(go("m")) == (4, 4)
    assert asyncio.run(go(DIRECTORY_KEY)) == (8, 8)  # the worker's global limit, not a mailbox's 4

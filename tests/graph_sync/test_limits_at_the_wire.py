"""The limiter's slots cover the wire part of a request — from the connection pool until the response body has
been read — not the SDK's work around it (``graph_sync.client._LimitedTransport``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from graph_sync.client import GraphClient, Limiter, build_service_client
from graph_sync.errors import TransportFailed
from tests.graph_sync.test_directory_fetch import BASE, _Cred

USER = "0b7e2c1a-93f4-4d35-8f0e-5a1b2c3d4e5f"


class _SlowBody(httpx.AsyncByteStream):
    """A body that arrives in two parts, the second only once ``gate`` is set (a page still on the wire)."""

    def __init__(self, gate: asyncio.Event, closed: list[int]) -> None:
        self._gate = gate
        self._closed = closed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"value": '
        await self._gate.wait()
        yield b"[]}"

    async def aclose(self) -> None:
        self._closed.append(1)


class _StreamingTransport(httpx.AsyncBaseTransport):
    """Answers at once with headers and a slow body, as a network transport does (not an in-memory body)."""

    def __init__(self, gate: asyncio.Event, closed: list[int], fail: bool = False) -> None:
        self._gate, self._closed, self._fail = gate, closed, fail

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._fail:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, headers={"content-type": "application/json"},
                              stream=_SlowBody(self._gate, self._closed))


async def _no_wait(_seconds: float) -> None:
    return None


def _client(transport: httpx.AsyncBaseTransport, limiter: Limiter) -> GraphClient:
    service, http = build_service_client(_Cred(), BASE, transport=transport,  # type: ignore[arg-type]
                                         sync_pipeline=True, limiter=limiter)
    return GraphClient(service, _Cred(), http, limiter, sleep=_no_wait)  # type: ignore[arg-type]


def test_a_slot_is_held_while_the_body_is_on_the_wire_and_freed_once_it_is_read() -> None:
    async def go() -> None:
        gate, closed = asyncio.Event(), []
        limiter = Limiter(8, 4, 1000)
        client = _client(_StreamingTransport(gate, closed), limiter)
        url = client.messages_delta_url(USER, "inbox")
        tasks = [asyncio.ensure_future(client.get_json(url, mailbox="m")) for _ in range(6)]
        for _ in range(100):
            await asyncio.sleep(0)
        assert limiter.in_flight["m"] == 4  # headers in, bodies still arriving: the mailbox's 4 slots are taken
        gate.set()
        assert await asyncio.gather(*tasks) == [{"value": []}] * 6
        assert limiter.in_flight["m"] == 0 and limiter.max_in_flight["m"] == 4
        assert len(closed) == 6  # every body stream was closed

    asyncio.run(go())


def test_a_failed_request_gives_its_slots_back() -> None:
    async def go() -> None:
        limiter = Limiter(2, 2, 1000)
        client = _client(_StreamingTransport(asyncio.Event(), [], fail=True), limiter)
        with pytest.raises(TransportFailed):  # after its retries, each of which took and gave back the slots
            await client.get_json(client.messages_delta_url(USER, "inbox"), mailbox="m")
        assert client.stats.requests > 1
        assert limiter.in_flight["m"] == 0
        assert not limiter.global_semaphore().locked() and not limiter.mailbox("m").locked()

    asyncio.run(go())


def test_a_client_built_without_the_limiter_is_refused() -> None:
    service, http = build_service_client(_Cred(), BASE, transport=httpx.MockTransport(  # type: ignore[arg-type]
        lambda r: httpx.Response(200)), sync_pipeline=True)
    with pytest.raises(ValueError, match="limiter"):
        GraphClient(service, _Cred(), http, Limiter(4, 4, 100))  # type: ignore[arg-type]

"""The pooled transport: its asyncio streams read, time out, fail and answer "readable?" as httpcore's own do; the
linear pool scan takes httpcore's decisions; requests really reuse pooled connections."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
import pytest

from graph_sync.transport import PooledTransport, _Backend, _Pool


async def _server(peers: list[asyncio.StreamWriter]) -> tuple[asyncio.Server, int]:
    """A local TCP server that keeps each accepted connection's writer in ``peers`` (and says nothing)."""
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_an_idle_connection_is_readable_once_data_or_a_hang_up_arrives() -> None:
    """What the pool's expiry check asks of idle connections, answered from what the transport delivered."""
    async def go() -> None:
        peers: list[asyncio.StreamWriter] = []
        server, port = await _server(peers)
        async with server:
            first = await _Backend().connect_tcp("127.0.0.1", port, timeout=5)
            second = await _Backend().connect_tcp("127.0.0.1", port, timeout=5)
            while len(peers) < 2:
                await asyncio.sleep(0.01)
            assert not first.get_extra_info("is_readable") and not second.get_extra_info("is_readable")
            assert first.get_extra_info("socket").fileno() >= 0
            assert first.get_extra_info("server_addr")[1] == port
            peers[0].write(b"x")  # unexpected bytes on an idle connection
            peers[1].close()  # the server hung up
            for _ in range(100):
                if first.get_extra_info("is_readable") and second.get_extra_info("is_readable"):
                    break
                await asyncio.sleep(0.01)
            assert first.get_extra_info("is_readable") and second.get_extra_info("is_readable")
            assert await first.read(10, timeout=5) == b"x"
            assert await second.read(10, timeout=5) == b""  # EOF reads as b"", as with httpcore's own streams
            for stream in (first, second):
                await stream.aclose()

    asyncio.run(go())


def test_stream_reads_split_chunks_and_map_timeouts_and_errors() -> None:
    async def go() -> None:
        peers: list[asyncio.StreamWriter] = []
        server, port = await _server(peers)
        async with server:
            stream = await _Backend().connect_tcp("127.0.0.1", port, timeout=5)
            while not peers:
                await asyncio.sleep(0.01)
            with pytest.raises(httpcore.ReadTimeout):
                await stream.read(10, timeout=0.05)
            peers[0].write(b"abcdef")
            assert await stream.read(4, timeout=5) == b"abcd"
            assert await stream.read(4, timeout=5) == b"ef"
            await stream.write(b"ping", timeout=5)
            peers[0].transport.abort()  # a reset, not a clean close
            with pytest.raises(httpcore.ReadError):
                while await stream.read(10, timeout=5):
                    pass
            with pytest.raises(httpcore.WriteError):
                await stream.write(b"more", timeout=5)
            await stream.aclose()
        with pytest.raises(httpcore.ConnectError):
            await _Backend().connect_tcp("127.0.0.1", port, timeout=5)  # nothing listens there any more

    asyncio.run(go())


@dataclass(eq=False)
class _FakeConnection:
    """A pooled connection's state as the pool's scan sees it."""

    origin: str
    closed: bool = False
    expired: bool = False
    idle: bool = False
    available: bool = False
    created: bool = False

    def is_closed(self) -> bool:
        return self.closed

    def has_expired(self) -> bool:
        return self.expired

    def is_idle(self) -> bool:
        return self.idle

    def is_available(self) -> bool:
        return self.available

    def can_handle_request(self, origin: Any) -> bool:
        return origin == self.origin


@dataclass(eq=False)
class _FakeRequest:
    origin: str

    @property
    def url(self) -> Any:
        return self


@dataclass(eq=False)
class _FakePoolRequest:
    request: _FakeRequest
    connection: Any = None
    starts_at_once: bool = False

    def is_queued(self) -> bool:
        return self.connection is None

    def assign_to_connection(self, connection: Any) -> None:
        self.connection = connection
        if self.starts_at_once:
            _start(connection)


def _start(connection: _FakeConnection) -> None:
    """What an HTTP/1.1 connection looks like once a request runs on it."""
    connection.idle = connection.available = False


def _scan(pool_class: type[httpcore.AsyncConnectionPool], seed: int) -> tuple[list[Any], list[Any], list[Any]]:
    """A random pool state through ``pool_class``'s scan: (connections kept, closing, each request's connection),
    all as indices into one numbering so two pools' answers compare.

    For httpcore's scan, a connection held by a request is shown as its request would make it once started
    (neither idle nor available), at once: that is the state in which httpcore's choices are the ones that can
    succeed, and the one :class:`_Pool` assumes without waiting for the request's task to run."""
    rng = random.Random(seed)
    origins = ["a", "b", "c"]

    class Pool(pool_class):  # type: ignore[valid-type, misc]
        def create_connection(self, origin: Any) -> Any:
            return _FakeConnection(origin, created=True)

    pool = Pool(max_connections=rng.randint(1, 8), max_keepalive_connections=rng.randint(0, 6))
    conns = []
    for _ in range(rng.randint(0, 10)):
        idle = rng.random() < 0.5
        conns.append(_FakeConnection(rng.choice(origins), closed=rng.random() < 0.15, expired=rng.random() < 0.15,
                                     idle=idle, available=idle or rng.random() < 0.2))
    reference = pool_class is httpcore.AsyncConnectionPool
    requests = [_FakePoolRequest(_FakeRequest(rng.choice(origins)), starts_at_once=reference)
                for _ in range(rng.randint(0, 6))]
    for r in requests:
        if rng.random() < 0.3 and conns:
            r.connection = c = rng.choice(conns)
            if reference:
                _start(c)
    pool._connections = list(conns)
    pool._requests = list(requests)
    closing = pool._assign_requests_to_connections()

    def name(c: Any) -> Any:
        return None if c is None else ("new", c.origin) if c.created else conns.index(c)
    return [name(c) for c in pool._connections], [name(c) for c in closing], [name(r.connection) for r in requests]


def test_linear_pool_scan_decides_as_httpcore_does() -> None:
    for seed in range(3000):
        assert _scan(_Pool, seed) == _scan(httpcore.AsyncConnectionPool, seed), seed


def test_a_connection_is_never_handed_to_two_requests() -> None:
    """httpcore gives both queued requests the one idle connection (the second then fails and goes round
    again); the pool gives the second a new connection, or keeps it queued at the connection limit."""
    for limit, second in ((2, ("new", "a")), (1, None)):
        pool = _Pool(max_connections=limit, max_keepalive_connections=4)
        pool.create_connection = lambda origin: _FakeConnection(origin, created=True)  # type: ignore[method-assign]
        idle = _FakeConnection("a", idle=True, available=True)
        pool._connections = [idle]
        first, other = _FakePoolRequest(_FakeRequest("a")), _FakePoolRequest(_FakeRequest("a"))
        pool._requests = [first, other]  # type: ignore[list-item]
        assert pool._assign_requests_to_connections() == []
        assert first.connection is idle
        assert (None if other.connection is None else ("new", other.connection.origin)) == second


def test_requests_reuse_pooled_connections() -> None:
    async def go() -> tuple[int, int]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport = PooledTransport(httpx.Limits(max_connections=8, max_keepalive_connections=8))
        async with server, httpx.AsyncClient(transport=transport) as client:
            for _ in range(3):
                answers = await asyncio.gather(*(client.get(f"http://127.0.0.1:{port}/") for _ in range(4)))
                assert [a.text for a in answers] == ["ok"] * 4
            return len(transport._pool.connections), len(accepted)

    accepted: list[object] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()  # the client closed its pool

    pooled, opened = asyncio.run(go())
    assert pooled == opened == 4  # twelve requests, four at a time, over four connections

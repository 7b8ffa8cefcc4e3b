"""The HTTP transport under the Graph SDK's httpx client: httpx's own, over a leaner httpcore stream and pool.

Only the socket layer (see :class:`_Stream`, on asyncio's own transports instead of anyio's) and the pool's
bookkeeping scan (see :class:`_Pool`) differ from httpx's default transport; HTTP/1.1 framing (h11), requests,
responses, timeouts, pooling decisions and exception mapping are httpx's and httpcore's.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any

import httpcore
import httpx


class _Protocol(asyncio.Protocol):
    """One connection's socket events, buffered for :class:`_Stream` (reading is never paused between reads)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.eof = False
        self.error: BaseException | None = None  # why the connection was lost, if not cleanly
        self.lost = False
        self.paused = False  # we paused reading: the buffer is full
        self.waiter: asyncio.Future[None] | None = None  # a read waiting for data, EOF or loss
        self.writable: asyncio.Future[None] | None = None  # set while the transport's write buffer is full

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > _READ_BUFFER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport (the pool never half-closes a connection)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.eof = True
        self.error = exc
        self._wake()
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    def pause_writing(self) -> None:
        if self.writable is None or self.writable.done():
            self.writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        self.writable = None

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        chunk = self.chunks.popleft()
        if len(chunk) > max_bytes:
            chunk, rest = chunk[:max_bytes], chunk[max_bytes:]
            self.chunks.appendleft(rest)
        self.buffered -= len(chunk)
        if self.paused and self.buffered <= _READ_BUFFER // 4 and self.transport is not None and not self.lost:
            self.paused = False
            self.transport.resume_reading()
        return chunk


_READ_BUFFER = 1 << 20  # bytes buffered before reading pauses (a 1,000-message page is ~1 MB)


def _timeout(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


async def _wait(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None], timeout: float | None) -> None:
    """Wait for ``future``; TimeoutError after ``timeout`` seconds (None: no limit)."""
    if timeout is None:
        await future
        return
    handle = loop.call_later(timeout, _timeout, future)
    try:
        await future
    finally:
        handle.cancel()


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's network stream straight on an asyncio transport and protocol.

    httpcore's default (anyio) stream pays, per read, a cancel scope for the timeout, a resource guard and a
    ``resume_reading``/``pause_reading`` pair (two ``epoll_ctl`` calls), per write the same scope and guard, and
    its pool's expiry check asks every idle connection "readable?" with a syscall (this module used to answer that
    with one shared ``poll`` per loop turn). Here the transport keeps reading into a buffer: a read takes what is
    buffered or waits on one future (with a timer only when it has to wait), a write hands the bytes to the
    transport (waiting only while its buffer is over the high-water mark), and an idle connection is readable
    exactly when something arrived or the peer closed, known without a syscall. ~0.6 ms of CPU per request less
    in bench_sync's item [3]. Errors map to httpcore's exceptions as its anyio stream maps them (EOF reads as
    ``b""``).
    """

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._loop = protocol._loop

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        while not protocol.chunks:
            if protocol.eof:
                if protocol.error is not None:
                    raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
                return b""
            waiter = protocol.waiter = self._loop.create_future()
            try:
                await _wait(self._loop, waiter, timeout)
            except TimeoutError as err:
                raise httpcore.ReadTimeout("timed out reading") from err
            finally:
                protocol.waiter = None
        return protocol.take(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.lost or self._transport.is_closing():
            raise httpcore.WriteError(str(protocol.error or "connection closed"))
        self._transport.write(buffer)
        writable = protocol.writable
        if writable is not None:  # the transport's buffer is over its high-water mark: wait until it drains
            try:
                await _wait(self._loop, writable, timeout)
            except TimeoutError as err:
                raise httpcore.WriteTimeout("timed out writing") from err
            if protocol.lost:
                raise httpcore.WriteError(str(protocol.error or "connection closed"))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        try:
            transport = await self._loop.start_tls(self._transport, self._protocol, ssl_context,
                                                   server_hostname=server_hostname, ssl_handshake_timeout=timeout)
        except TimeoutError as err:
            self._transport.abort()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from err
        except (OSError, ssl.SSLError, ConnectionError) as err:
            self._transport.abort()
            raise httpcore.ConnectError(str(err) or type(err).__name__) from err
        if transport is None:
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._protocol.transport = transport
        return _Stream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Asked of idle connections: anything buffered, EOF or a lost connection means it is unusable.
            protocol = self._protocol
            return bool(protocol.chunks) or protocol.eof or self._transport.is_closing()
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


class _Backend(httpcore.AsyncNetworkBackend):
    """Connections as :class:`_Stream` over asyncio's own socket transports (TCP_NODELAY is asyncio's default)."""

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        protocol = _Protocol(loop)
        try:
            async with asyncio.timeout(timeout):
                transport, _ = await loop.create_connection(
                    lambda: protocol, host, port, local_addr=(local_address, 0) if local_address else None)
        except TimeoutError as err:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from err
        except OSError as err:
            raise httpcore.ConnectError(str(err) or type(err).__name__) from err
        assert isinstance(transport, asyncio.Transport)
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(transport, protocol)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the sync")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's pool with a linear bookkeeping scan that never hands one HTTP/1.1 connection to two requests.

    httpcore rescans the pool each time a request enters or leaves it. Its scan asks every idle connection for
    the length of a list of *all* connections' ``is_idle()`` (quadratic: ~250 calls per scan at the worker's 16
    connections) and builds full lists of available and idle connections for every queued request. Worse, a
    connection assigned to a request stays "available" until that request's task runs and starts on it, so the
    next request entering the pool (many start in one event-loop turn) is assigned the same connection, gets
    ``ConnectionNotAvailable`` when it tries, and goes round again: ~4 failed tries and ~6 scans per request at
    the worker's concurrency.

    This scan takes httpcore's decisions in httpcore's order — drop closed connections, close expired ones, close
    idle ones while more than ``max_keepalive_connections`` remain (httpcore counts every remaining connection
    there, not only idle ones; kept as is), then give each queued request the first available connection for its
    origin, else a new one under ``max_connections``, else a new one in place of the first idle connection — in
    one pass, except that (HTTP/1.1 only, the worker's case) a connection some request of the pool holds counts
    as busy: it is neither offered to another request nor closed as idle surplus. Those are exactly the
    assignments that could only fail. ``tests/graph_sync/test_transport.py`` checks the decisions against
    httpcore's own scan on random pool states.
    """

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        # Held: assigned to a request that has not let go of it (HTTP/2 connections are shared, so none is).
        held = set() if self._http2 else {id(r.connection) for r in self._requests if r.connection is not None}
        closing: list[httpcore.AsyncConnectionInterface] = []
        kept: list[httpcore.AsyncConnectionInterface] = []
        remaining = len(self._connections)
        for connection in self._connections:
            if connection.is_closed():
                remaining -= 1
            elif connection.has_expired() or (id(connection) not in held and connection.is_idle()
                                              and remaining > self._max_keepalive_connections):
                remaining -= 1
                closing.append(connection)
            else:
                kept.append(connection)
        self._connections = kept  # the list the pool keeps: connections created below go into it
        for pool_request in self._requests:
            if not pool_request.is_queued():
                continue
            origin = pool_request.request.url.origin
            found = next((c for c in kept if id(c) not in held and c.can_handle_request(origin)
                          and c.is_available()), None)
            if found is not None:
                connection = found
            else:
                if len(kept) >= self._max_connections:
                    idle = next((c for c in kept if id(c) not in held and c.is_idle()), None)
                    if idle is None:
                        continue  # stays queued until a connection is given back
                    kept.remove(idle)
                    closing.append(idle)
                connection = self.create_connection(origin)
                kept.append(connection)
            if not self._http2:
                held.add(id(connection))
            pool_request.assign_to_connection(connection)
        return closing


class PooledTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (request and exception mapping) over an httpcore pool whose streams are :class:`_Stream`."""

    def __init__(self, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        # Not the parent's __init__: it would build a pool (and a TLS context) only to be replaced. Without
        # ``ssl_context``, httpcore makes its default (verifying, certifi) context at the first https connection.
        self._pool = _Pool(
            ssl_context=ssl_context, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend())

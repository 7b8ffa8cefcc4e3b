"""The HTTP transport under the Graph SDK's httpx client: httpx's own, over a leaner httpcore stream and pool.

Only the socket layer (see :class:`_Stream`) and the pool's bookkeeping scan (see :class:`_Pool`) differ from
httpx's default transport; requests, responses, timeouts, pooling decisions and exception mapping are httpx's
and httpcore's.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from typing import Any

import httpcore
import httpx


class _Readiness:
    """Which pooled sockets are readable: one ``poll`` of every registered socket per event-loop iteration.

    httpcore checks every idle connection of the pool (``has_expired``) each time a request enters or leaves it,
    all in one synchronous scan; one ``poll(0)`` syscall per connection per scan was ~40 syscalls per request at
    the worker's concurrency. Here the first question of a scan polls all sockets at once and the answers are
    kept until the loop's next iteration (a ``call_soon`` clears them), so a scan sees every socket as of one
    instant, as a scan without awaits did before, only without a syscall per socket.
    """

    def __init__(self) -> None:
        self._poller = select.poll()
        self._fds: set[int] = set()
        self._ready: set[int] | None = None

    def register(self, fd: int) -> None:
        self._poller.register(fd, select.POLLIN)
        self._fds.add(fd)
        self._ready = None

    def unregister(self, fd: int) -> None:
        if fd in self._fds:
            self._fds.discard(fd)
            self._poller.unregister(fd)
        self._ready = None

    def readable(self, fd: int) -> bool:
        if fd not in self._fds:  # not (or no longer) ours: ask about this socket alone
            single = select.poll()
            single.register(fd, select.POLLIN)
            return bool(single.poll(0))
        ready = self._ready
        if ready is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop to clear a cached answer: do not cache
                return any(f == fd for f, _ in self._poller.poll(0))
            ready = self._ready = {f for f, _ in self._poller.poll(0)}
            loop.call_soon(self._forget)
        return fd in ready

    def _forget(self) -> None:
        self._ready = None


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's anyio stream, with the answer to "is the idle socket readable?" made cheap.

    httpcore asks every pooled connection whether it has expired each time a request enters or leaves the pool;
    for an idle connection that means ``get_extra_info("is_readable")``, and anyio answers that by building its
    whole socket attribute map (``getpeername``, ``getsockname``, …) first. At the worker's 16 connections that
    cost ~3 ms of CPU per request. Here the raw socket is looked up once and answered by the pool's
    :class:`_Readiness`.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream, readiness: _Readiness) -> None:
        self._inner = inner
        self._readiness = readiness
        self._socket: socket.socket | None = inner.get_extra_info("socket")
        self._fd = self._socket.fileno() if self._socket is not None else -1
        if self._fd >= 0:
            readiness.register(self._fd)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        if self._fd >= 0:
            self._readiness.unregister(self._fd)  # before the descriptor can be reused by a new socket
            self._fd = -1
        await self._inner.aclose()

    async def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout), self._readiness)

    def get_extra_info(self, info: str) -> Any:
        if info == "socket":
            return self._socket
        if info == "is_readable":
            if self._socket is None or self._fd < 0 or self._socket.fileno() < 0:
                return True  # gone: the next read would return b"", as for a closed connection
            return self._readiness.readable(self._fd)
        return self._inner.get_extra_info(info)


class _Backend(httpcore.AnyIOBackend):
    def __init__(self) -> None:
        self._readiness = _Readiness()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        return _Stream(await super().connect_tcp(host, port, timeout, local_address, socket_options), self._readiness)


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

"""The HTTP transport under the Graph SDK's httpx client: httpx's own, over a leaner httpcore stream.

Only the socket layer differs from httpx's default transport (see :class:`_Stream`); requests, responses,
timeouts, connection pooling and exception mapping are httpx's and httpcore's.
"""

from __future__ import annotations

import select
import socket
import ssl
from typing import Any

import httpcore
import httpx


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's anyio stream, with the answer to "is the idle socket readable?" made cheap.

    httpcore asks every pooled connection whether it has expired each time a request enters or leaves the pool;
    for an idle connection that means ``get_extra_info("is_readable")``, and anyio answers that by building its
    whole socket attribute map (``getpeername``, ``getsockname``, …) first. At the worker's 16 connections that
    cost ~3 ms of CPU per request. Here the raw socket is looked up once and polled with a poller registered once.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")
        self._poller = select.poll()
        if self._socket is not None and self._socket.fileno() >= 0:
            self._poller.register(self._socket.fileno(), select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "socket":
            return self._socket
        if info == "is_readable":
            if self._socket is None or self._socket.fileno() < 0:
                return True  # gone: the next read would return b"", as for a closed connection
            return bool(self._poller.poll(0))  # registered once, at connect
        return self._inner.get_extra_info(info)


class _Backend(httpcore.AnyIOBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        return _Stream(await super().connect_tcp(host, port, timeout, local_address, socket_options))


class PooledTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (request and exception mapping) over an httpcore pool whose streams are :class:`_Stream`."""

    def __init__(self, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        # Not the parent's __init__: it would build a pool (and a TLS context) only to be replaced. Without
        # ``ssl_context``, httpcore makes its default (verifying, certifi) context at the first https connection.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend())

"""The pooled transport's shared readiness check answers as a per-socket ``poll(0)`` would, once per loop turn."""

from __future__ import annotations

import asyncio
import socket

from graph_sync.transport import _Readiness


def test_readiness_is_polled_once_per_loop_iteration() -> None:
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    readiness = _Readiness()
    readiness.register(a.fileno())
    readiness.register(c.fileno())

    async def go() -> None:
        assert not readiness.readable(a.fileno()) and not readiness.readable(c.fileno())
        b.sendall(b"x")
        assert not readiness.readable(a.fileno())  # same scan: the answers of one instant
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert readiness.readable(a.fileno()) and not readiness.readable(c.fileno())
        d.close()  # the peer hung up: readable (the next read returns b"")
        readiness.unregister(a.fileno())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert readiness.readable(c.fileno())
        assert readiness.readable(a.fileno())  # no longer registered: asked alone, still correct

    try:
        asyncio.run(go())
        assert readiness.readable(a.fileno())  # outside a loop: not cached
    finally:
        for s in (a, b, c):
            s.close()

"""The socket transport: an aiohttp application serving the emulator pipeline, and ``serve_emulator``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from aiohttp import web

from graph_sync.emulator.pipeline import Pipeline
from graph_sync.emulator.wire import EmulatorRequest

if TYPE_CHECKING:
    from graph_sync.emulator.state import EmulatorState


def create_app(state: EmulatorState) -> web.Application:
    """An aiohttp application answering every path from ``state``."""
    pipeline = Pipeline(state)

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read() if request.can_read_body else b""
        emulated = EmulatorRequest(request.method, request.raw_path.split("?", 1)[0], dict(request.query),
                                   {k.lower(): v for k, v in request.headers.items()}, body,
                                   f"{request.scheme}://{request.host}")
        answer = await pipeline.handle(emulated)
        if answer.drop:
            # Abort the socket without a response, as a failing front end does; the client sees a disconnect.
            if request.transport is not None:
                request.transport.abort()
            raise web.HTTPServiceUnavailable()  # never reaches the client: the socket is gone
        return web.Response(status=answer.status, body=answer.body, headers=answer.headers)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@asynccontextmanager
async def serve_emulator(state: EmulatorState, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve ``state`` on ``host:port`` (port 0 picks a free one) and yield the base URL, e.g.
    ``http://127.0.0.1:43817``; Graph lives under ``/v1.0``, login under ``/{tenant}/``."""
    runner = web.AppRunner(create_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        bound = runner.addresses[0][1]
        yield f"http://{host}:{bound}"
    finally:
        await runner.cleanup()

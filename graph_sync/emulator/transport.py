"""The in-process transport: an ``httpx.MockTransport`` whose handler runs the emulator pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from graph_sync.emulator.pipeline import Pipeline
from graph_sync.emulator.wire import EmulatorRequest

if TYPE_CHECKING:
    from graph_sync.emulator.state import EmulatorState


def emulator_transport(state: EmulatorState) -> httpx.MockTransport:
    """A transport for ``httpx.AsyncClient`` that answers every request from ``state``, whatever the host
    (``https://graph.microsoft.com/v1.0/…`` and ``https://login.microsoftonline.com/{tenant}/…`` both work).

    A scripted dropped connection raises ``httpx.RemoteProtocolError``, as a real server closing the socket
    does.
    """
    pipeline = Pipeline(state)

    async def handler(request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        base = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        emulated = EmulatorRequest(request.method, raw_path, dict(request.url.params.multi_items()),
                                   {k.lower(): v for k, v in request.headers.items()}, body, base)
        answer = await pipeline.handle(emulated)
        if answer.drop:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return httpx.Response(answer.status, headers=answer.headers, content=answer.body)

    return httpx.MockTransport(handler)

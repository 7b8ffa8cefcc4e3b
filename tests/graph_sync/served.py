"""The emulator served on a loopback socket from a background thread, for subprocess tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from graph_sync.emulator import EmulatorState, serve_emulator


@contextmanager
def served(state: EmulatorState) -> Iterator[str]:
    """Serve ``state`` until the block ends; yields the base URL (``http://127.0.0.1:PORT``)."""
    loop = asyncio.new_event_loop()
    ready: dict[str, str] = {}
    started = threading.Event()
    stop: asyncio.Event | None = None

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with serve_emulator(state, port=0) as base_url:
            ready["url"] = base_url
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not started.wait(30):
        raise RuntimeError("emulator did not start")
    try:
        yield ready["url"]
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()

"""Starting a newly consented tenant's first sync from the bot's process.

The sync worker (:mod:`graph_sync.worker`) syncs every active tenant in each pass, so a tenant recorded as
active is picked up by any running ``rapport sync --watch`` at its next pass. So that an admin does not wait
for that pass (5 minutes by default), the callback also runs one pass at once, in the background of the bot's
event loop: consent requests that arrive during a pass are served by one more pass right after it. On
PostgreSQL this pass and the workers share mailboxes safely through leases; SQLite supports a single sync
process (see ``docs/deploy.md``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, suppress
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from graph_sync.worker import PassReport, SyncWorker

log = logging.getLogger(__name__)

WorkerFactory = Callable[[], "AbstractAsyncContextManager[SyncWorker]"]


class FirstSync(Protocol):
    """Something that makes a newly consented tenant sync soon."""

    def request(self, tenant_id: str) -> None: ...

    async def aclose(self) -> None: ...


class BackgroundPasses:
    """Runs sync passes in the background of the running event loop while tenants are waiting for one."""

    def __init__(self, worker_factory: WorkerFactory) -> None:
        self._factory = worker_factory
        self._waiting: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self.reports: list[PassReport] = []

    def request(self, tenant_id: str) -> None:
        """Queue ``tenant_id`` for the next pass and start one unless a pass is already running."""
        self._waiting.add(tenant_id)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rapport-first-sync")

    async def _run(self) -> None:
        while self._waiting:
            tenants = sorted(self._waiting)
            self._waiting.clear()
            log.info("first sync pass starting for tenants=%s", ",".join(tenants))
            try:
                async with self._factory() as worker:
                    report = await worker.run_once()
            except Exception:  # the top of a background worker loop: log with context, keep the bot serving
                log.exception("first sync pass failed for tenants=%s (the sync workers will retry)", tenants)
                continue
            self.reports.append(report)
            log.info("first sync pass done tenants=%s mailboxes=%d failed=%d items=%d", ",".join(tenants),
                     report.mailboxes, report.mailboxes_failed, report.upserted)

    async def idle(self) -> None:
        """Wait until no pass is running or queued (tests and the demo)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def aclose(self) -> None:
        """Cancel a running pass (its committed pages stay; the workers resume from them)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

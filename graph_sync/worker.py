"""The sync worker: the composition root :func:`build_worker` and the pass/watch scheduling.

A *pass* visits every tenant: it refreshes the directory (domains, users, managers), makes sure every synced
mailbox has its ``sync_state`` rows, then claims mailboxes a few at a time (leases, see :mod:`graph_sync.leases`)
and runs each claimed mailbox's resources concurrently, up to ``sync_concurrency`` mailboxes at once. Requests
are limited per mailbox (4 in flight), per worker (``sync_concurrency``) and by each mailbox's budget.

Resources (HTTP clients, credentials, the database thread) are created by :meth:`SyncWorker.start` and closed by
:meth:`SyncWorker.aclose`; ``async with build_worker(...) as worker`` does both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import httpx
from azure.core.exceptions import ClientAuthenticationError
from sqlalchemy.engine import Engine

from analytics import health_views
from analytics.refresh import HealthRefresher, refresh_due
from analytics.settings import Settings
from analytics.store.engine import make_engine
from analytics.store.statistics import BULK_LOAD_ROWS, analyze_after_bulk_load
from graph_sync import collector, leases
from graph_sync.auth import AsyncCredential, make_credential
from graph_sync.client import GraphClient, Limiter, build_service_client
from graph_sync.commit import Mode, PageWriter, Release
from graph_sync.directory import DirectorySnapshot, fetch_directory, store_directory
from graph_sync.errors import (
    AccessDenied,
    BudgetExhausted,
    GraphError,
    GraphUnreachable,
    LeaseLost,
    SyncError,
    TenantConfigError,
    Throttled,
)
from graph_sync.folders import FolderDiscovery, drop_vanished, plan_folders
from graph_sync.health import FailureLog
from graph_sync.leases import ResourceState
from graph_sync.mailbox import MailboxContext, ResourceOutcome, ResourceSpec, sync_resource
from graph_sync.progress import LogProgress, ProgressSink
from graph_sync.tenants import TenantConfig, list_tenants

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
MESSAGE_FOLDERS = ("inbox", "sentitems")
DIRECTORY_MAX_AGE = timedelta(hours=1)
# Failures that are the tenant's, not a mailbox's: its credentials are refused (a rotated or expired secret, a
# deleted enterprise app: our credential's TenantConfigError, azure-identity's ClientAuthenticationError) or no
# connection to Graph or its token endpoint can be opened. Every other mailbox of the tenant would fail the same
# way, each after its own token request or connection retries, and each logging it.
TENANT_WIDE: tuple[type[BaseException], ...] = (TenantConfigError, ClientAuthenticationError, GraphUnreachable)
# 404 codes Graph answers for a mailbox that is no longer there: the user was deleted, or lost its Exchange Online
# mailbox (licence removed, moved on-premises).
MAILBOX_GONE = frozenset({"ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "ResourceNotFound"})


@dataclass
class PassReport:
    """What one pass did, over all tenants."""

    tenants: int = 0
    mailboxes: int = 0
    mailboxes_failed: int = 0
    pages: int = 0
    upserted: int = 0
    removed: int = 0
    rejected: int = 0
    resyncs: int = 0
    requeued: int = 0  # resources not tried: Graph's Retry-After (or the mailbox's budget) runs past the pass
    errors: list[str] = field(default_factory=list)
    changed_tenants: list[str] = field(default_factory=list)  # tenants whose pass stored or removed items
    tenant_ids: list[str] = field(default_factory=list)  # every tenant the pass visited


@dataclass
class _TenantRuntime:
    tenant: TenantConfig
    client: GraphClient
    snapshot: DirectorySnapshot | None = None
    snapshot_at: datetime | None = None
    calendar_mode: Mode = "delta"
    halted: BaseException | None = None  # a TENANT_WIDE failure of this pass: claim no more of its mailboxes


class SyncWorker:
    """Harvests every mailbox of every active tenant into the store. Build it with :func:`build_worker`."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        owner: str,
        transport: httpx.AsyncBaseTransport | None,
        credential_factory: Callable[[TenantConfig], AsyncCredential] | None,
        clock: Callable[[], datetime],
        sleep: Sleep,
        monotonic: Callable[[], float],
        rng: random.Random,
        progress: ProgressSink,
        owns_engine: bool,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.owner = owner
        self._transport = transport
        self._credential_factory = credential_factory
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = rng
        self.progress = progress
        self._owns_engine = owns_engine
        self.limiter = Limiter(settings.sync_concurrency, settings.sync_per_mailbox, settings.sync_mailbox_budget)
        self.failures = FailureLog(log)
        self._tenants: dict[str, _TenantRuntime] = {}
        self._db: ThreadPoolExecutor | None = None
        self._writer: PageWriter | None = None
        self.single_process = engine.dialect.name == "sqlite"
        self._folders = FolderDiscovery()  # sync_all_folders: well-known folder ids per mailbox, kept for the run
        # per tenant: the health refresher, which keeps its last refresh's aggregates between rounds
        self._refreshers: dict[str, HealthRefresher] = {}

    # --- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the database thread; tenant clients are opened on first use and kept until :meth:`aclose`."""
        if self._db is None:
            self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rapport-sync-db")
            self._writer = PageWriter(self._db)
            collector.worker_started()  # fewer, cheaper garbage collections while the worker runs

    async def aclose(self) -> None:
        """Close every client and credential, the database thread and (if ours) the engine."""
        for rt in self._tenants.values():
            await rt.client.aclose()
        self._tenants.clear()
        if self._db is not None:
            self._db.shutdown(wait=True)
            self._db = None
            self._writer = None
            collector.worker_stopped()
        self.progress.close()
        if self._owns_engine:
            self.engine.dispose()

    async def __aenter__(self) -> SyncWorker:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def _db_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        assert self._db is not None, "call start() first"
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    def _runtime(self, tenant: TenantConfig) -> _TenantRuntime:
        rt = self._tenants.get(tenant.tenant_id)
        if rt is not None and rt.tenant == tenant:
            return rt
        if self._credential_factory is not None:
            credential = self._credential_factory(tenant)
        else:
            credential = make_credential(tenant.credentials, transport=self._transport)
        service, http = build_service_client(credential, tenant.graph_base_url, transport=self._transport,
                                             sync_pipeline=True, limiter=self.limiter)
        client = GraphClient(service, credential, http, self.limiter, page_size=self.settings.sync_page_size,
                             max_retry_wait=self.settings.sync_max_retry_wait, sleep=self._sleep,
                             clock=self._clock, monotonic=self._monotonic, rng=self._rng, tenant=tenant.tenant_id)
        rt = _TenantRuntime(tenant, client)
        if tenant.has_scope("Calendars.Read", "Calendars.ReadWrite") is False:
            rt.calendar_mode = "poll"
        self._tenants[tenant.tenant_id] = rt
        return rt

    # --- passes --------------------------------------------------------------------------------------------------

    async def run_once(self, report: PassReport | None = None) -> PassReport:
        """One pass over every mailbox of every active tenant, counted into ``report`` (a new one by default): a
        caller that may cancel the pass passes its own, to say what the pass did before it was stopped."""
        await self.start()
        report = report if report is not None else PassReport()
        tenants = await self._db_call(lambda: list_tenants(self.engine, active_only=True))
        for tenant in tenants:
            report.tenants += 1
            report.tenant_ids.append(tenant.tenant_id)
            before = report.upserted + report.removed
            await self._tenant_pass(self._runtime(tenant), report)
            if report.upserted + report.removed > before:
                report.changed_tenants.append(tenant.tenant_id)
            if report.upserted + report.removed - before >= BULK_LOAD_ROWS:
                await self._fresh_statistics(tenant.tenant_id)
        return report

    async def _fresh_statistics(self, tenant_id: str) -> None:
        """After a tenant's bulk load (a first sync), the planner's statistics (analytics.store.statistics): the
        health refresh and scoring reads that follow would otherwise be planned for a tenant of one row."""
        try:
            if await self._db_call(lambda: analyze_after_bulk_load(self.engine)):
                log.info("planner statistics refreshed after a bulk load tenant=%s", tenant_id)
        except Exception:  # an optimisation: autovacuum gets there later
            log.warning("ANALYZE after a bulk load failed tenant=%s", tenant_id, exc_info=True)

    async def run_watch(self, stop: asyncio.Event, interval: float | None = None) -> None:
        """Passes until ``stop`` is set, pausing ``interval`` seconds (default ``sync_interval_seconds``)."""
        pause = float(interval if interval is not None else self.settings.sync_interval_seconds)
        while not stop.is_set():
            started = self._monotonic()
            try:
                report = await self._pass_until(stop)
                if report is None:
                    log.info("sync stopped during a pass; its leases were given back")
                    return
                log.info("pass done mailboxes=%d failed=%d requeued=%d pages=%d items=%d removed=%d resyncs=%d "
                         "seconds=%.1f", report.mailboxes, report.mailboxes_failed, report.requeued, report.pages,
                         report.upserted, report.removed, report.resyncs, self._monotonic() - started)
            except Exception as err:  # the top of the worker loop: log with context and keep watching
                if self.failures.failed("pass", err):
                    log.exception("sync pass failed")
            else:
                self.failures.succeeded("pass")
                for tid in report.tenant_ids:
                    if tid in report.changed_tenants or await self._db_call(
                            lambda t=tid: refresh_due(self.engine, t, now=self._clock())):
                        await self._refresh_health(tid)
            sleeper = asyncio.ensure_future(self._sleep(pause))
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for t in (sleeper, stopper):
                t.cancel()

    async def _pass_until(self, stop: asyncio.Event) -> PassReport | None:
        """One pass, or None if ``stop`` was set before it ended: the pass is then cancelled, which stops its
        mailboxes and gives their leases back (as an interrupted one-shot pass does). Waiting for the pass to end
        instead could take as long as a tenant's first sync, past a service manager's stop timeout (systemd
        kills after 90 s), and a killed worker's leases block the next one for ``sync_lease_seconds``."""
        task = asyncio.ensure_future(self.run_once())
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # the watch itself was cancelled: so is its pass
            task.cancel()
            raise
        finally:
            stopper.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None

    async def _refresh_health(self, tid: str) -> None:
        """Fold what the pass ingested into the tenant's stored health scores (analytics.refresh; a full
        refresh the first time and the first time each UTC day, so untouched records' scores follow the day)
        and health views (analytics.health_views). A failure is logged; the sync goes on."""
        refresher = self._refreshers.get(tid)
        if refresher is None:
            refresher = self._refreshers[tid] = HealthRefresher(self.engine, tid, self.settings)

        def refresh() -> None:
            previous = health_views.latest_refresh(self.engine, tid)
            now = self._clock()
            result = refresher.for_now(now=now)
            # The rescored records' materialised health answers (all of them after a full refresh).
            health_views.update_after_refresh(self.engine, tid, self.settings, result, previous=previous, now=now)

        try:
            await self._db_call(refresh)
        except Exception as err:  # scores catch up at the next round; the sync itself must not stop
            if self.failures.failed(f"{tid}/health", err):
                log.exception("health refresh failed tenant=%s", tid)
        else:
            self.failures.succeeded(f"{tid}/health")

    async def _refresh_directory(self, rt: _TenantRuntime) -> DirectorySnapshot:
        now = self._clock()
        if rt.snapshot is not None and rt.snapshot_at is not None and now - rt.snapshot_at < DIRECTORY_MAX_AGE:
            return rt.snapshot
        snapshot = await fetch_directory(rt.client, rt.tenant.tenant_id, self.settings)
        await self._db_call(store_directory, self.engine, snapshot, now)
        rt.snapshot, rt.snapshot_at = snapshot, now
        return snapshot

    def _resources(self) -> list[str]:
        return [f"messages:{f}" for f in MESSAGE_FOLDERS] + ["events"]

    async def _tenant_pass(self, rt: _TenantRuntime, report: PassReport) -> None:
        tid = rt.tenant.tenant_id
        if rt.tenant.subject_policy == "hash" and not self.settings.secret_key:
            # The store refuses every item of such a tenant; syncing anyway would advance its delta links past
            # mail that was never stored, so the next pass (with a key) would not fetch it again.
            err = SyncError("subject policy 'hash' needs RAPPORT_SECRET_KEY: tenant not synced")
            report.errors.append(f"{tid}: {err}")
            self.failures.failed(f"{tid}/configuration", err)
            return
        try:
            snapshot = await self._refresh_directory(rt)
        except (SyncError, httpx.HTTPError, ClientAuthenticationError) as err:
            report.errors.append(f"{tid}: directory: {err}")
            self.failures.failed(f"{tid}/directory", err)
            await self._db_call(self._record_tenant_error, tid, err, self._clock())
            return
        self.failures.succeeded(f"{tid}/directory")
        resources = self._resources()
        await self._db_call(leases.ensure_rows, self.engine, tid,
                            [(m.user_id, r) for m in snapshot.mailboxes for r in resources])
        wanted = {m.user_id: m for m in snapshot.mailboxes}
        self.progress.start(tid, len(wanted))
        pass_started = self._clock()
        attempted: set[str] = set()
        # The pass's candidates, least recently synced first, read once: each claim re-checks them under its
        # locks (free, not synced in this pass yet), so a claim call needs no query over the tenant's state rows.
        queue = deque(await self._db_call(lambda: leases.candidates(
            self.engine, tid, self.owner, self._clock(), pass_started=pass_started,
            single_process=self.single_process, limit=None)))
        # Mailboxes claimed per database call: 1 until a mailbox of this pass is done, then up to as many as can
        # have all their requests in flight at once. Claiming one at a time at first keeps the first of several
        # workers that start together from leasing a whole small tenant before the others get to claim.
        cap = max(1, self.settings.sync_concurrency // max(1, self.settings.sync_per_mailbox))
        # Claimed mailboxes waiting for a free slot. Once mailboxes finish one at a time, a claim of ``cap`` for one
        # free slot keeps the rest here for the next ones: a claim is a transaction on the database thread, queued
        # behind the group commits, and claiming one mailbox per finished one cost ~100 of them for 200 mailboxes.
        ready: deque[tuple[str, list[ResourceState]]] = deque()
        rt.halted = None
        try:
            await self._run_pass(rt, snapshot, report, queue, attempted, wanted, pass_started, ready, cap)
            if rt.halted is not None:
                report.errors.append(f"{tid}: {rt.halted}")
                # The mailboxes the pass did not get to say so too, so `rapport sync status` shows the whole
                # tenant failing rather than a few mailboxes failing and the rest merely lagging.
                await self._db_call(self._record_tenant_error, tid, rt.halted, pass_started)
        except BaseException:
            # The pass failed or was interrupted: give back what was claimed but never started, then anything
            # else still ours (a claim in flight when it stopped commits after it, on the database thread).
            assert self._writer is not None
            for mid, _ in ready:
                await self._writer.commit(Release(self.engine, tid, mid, self.owner))
            await self._db_call(leases.release_owned, self.engine, tid, self.owner)
            raise

    async def _run_pass(self, rt: _TenantRuntime, snapshot: DirectorySnapshot, report: PassReport,
                        queue: deque[str], attempted: set[str], wanted: dict[str, Any], pass_started: datetime,
                        ready: deque[tuple[str, list[ResourceState]]], cap: int) -> None:
        running: set[asyncio.Task[None]] = set()
        try:
            await self._fill_pass(rt, snapshot, report, queue, attempted, wanted, pass_started, ready, cap, running)
        except BaseException:
            # Interrupted (Ctrl-C in a one-shot run) or a mailbox failed: stop the pass's other mailboxes
            # now, while the page writer is still open, so each gives its lease back instead of outliving the
            # worker and failing once it is closed.
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise

    async def _fill_pass(self, rt: _TenantRuntime, snapshot: DirectorySnapshot, report: PassReport,
                         queue: deque[str], attempted: set[str], wanted: dict[str, Any], pass_started: datetime,
                         ready: deque[tuple[str, list[ResourceState]]], cap: int,
                         running: set[asyncio.Task[None]]) -> None:
        tid = rt.tenant.tenant_id
        slots = max(1, self.settings.sync_concurrency)
        batch = 1
        while True:
            claimed = 0
            while slots - len(running) > 0 and rt.halted is None:
                if not ready:
                    more, states = await self._db_call(self._claim_next, tid, pass_started, queue, attempted,
                                                       wanted, batch)
                    if not more:
                        break
                    ready.extend(states.items())
                    claimed += len(states)
                    continue
                mid, rows = ready.popleft()
                log.info("lease acquired tenant=%s mailbox=%s owner=%s at=%.6f", tid, mid, self.owner, time.time())
                running.add(asyncio.ensure_future(self._mailbox(rt, snapshot, wanted[mid], rows, report)))
            if rt.halted is not None:
                await self._give_back(tid, ready)
            if not running:
                if claimed == 0 or rt.halted is not None:
                    return
                continue
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            running -= done
            batch = cap
            for task in done:
                task.result()

    async def _give_back(self, tid: str, ready: deque[tuple[str, list[ResourceState]]]) -> None:
        """Release the leases of mailboxes claimed but not started (the tenant's pass stopped)."""
        assert self._writer is not None
        while ready:
            mid, _ = ready.popleft()
            await self._writer.commit(Release(self.engine, tid, mid, self.owner))

    def _claim_next(self, tid: str, pass_started: datetime, queue: deque[str], attempted: set[str],
                    wanted: dict[str, Any], limit: int) -> tuple[bool, dict[str, list[ResourceState]]]:
        """In the database thread: claim up to ``limit`` mailboxes (with their state rows); False once there is
        nothing left to try in this pass. A candidate no longer synced (disabled, removed) is skipped and its state
        left alone.

        Candidates come from the pass's list; one another worker holds is not marked attempted, so the query
        that runs once the list is used up (the old way, excluding what was attempted) offers it again if that
        worker gave it back unsynced."""
        while queue:
            ids: list[str] = []
            while queue and len(ids) < limit:
                mid = queue.popleft()
                if mid in attempted:
                    continue
                if mid in wanted:
                    ids.append(mid)
                else:
                    attempted.add(mid)
            if not ids:
                continue
            result = leases.claim_for_pass(self.engine, tid, ids, self.owner, self._clock(),
                                           self.settings.sync_lease_seconds, single_process=self.single_process,
                                           pass_started=pass_started)
            attempted.update(mid for mid in ids if mid not in result.busy)
            if result.claimed:
                return True, result.claimed
        ids = self._candidates(tid, pass_started, attempted, limit)
        attempted.update(ids)
        want = [mid for mid in ids if mid in wanted]
        states = leases.claim_many(self.engine, tid, want, self.owner, self._clock(),
                                   self.settings.sync_lease_seconds, single_process=self.single_process)
        return bool(ids), {mid: states[mid] for mid in want if mid in states}

    def _candidates(self, tid: str, pass_started: datetime, attempted: set[str], limit: int) -> list[str]:
        return leases.candidates(self.engine, tid, self.owner, self._clock(), pass_started=pass_started,
                                 exclude=sorted(attempted), single_process=self.single_process, limit=limit)

    async def _mailbox(self, rt: _TenantRuntime, snapshot: DirectorySnapshot, mailbox: Any,
                       states: list[ResourceState], report: PassReport) -> None:
        tid, mid = rt.tenant.tenant_id, mailbox.user_id
        started = self._monotonic()
        rows = len(states)
        try:
            assert self._db is not None and self._writer is not None
            ctx = MailboxContext(tenant=rt.tenant, mailbox=mailbox, directory=snapshot.directory, client=rt.client,
                                 engine=self.engine, settings=self.settings, owner=self.owner, lease_rows=rows,
                                 db=self._db, writer=self._writer, clock=self._clock,
                                 on_progress=self.progress.items,
                                 calendar_mode=rt.calendar_mode)
            plan = await plan_folders(ctx, states, self._resources(),
                                      self._folders if self.settings.sync_all_folders else None)
            now = self._clock()
            due = [s for s in plan.run if s.not_before is None or s.not_before <= now]
            # Not failed and not synced: counted, so a pass under a throttling storm does not read as all well.
            report.requeued += len(plan.run) - len(due)
            outcomes = await asyncio.gather(*(self._resource(rt, ctx, s) for s in due))
            await drop_vanished(ctx, plan, {o.resource for o in outcomes if o is not None and o.complete})
        finally:
            # Stamped before the release commits (and "acquired" after the claim commits), so that the logged
            # spans of two workers on one mailbox never overlap unless the leases really did.
            released_at = time.time()
            assert self._writer is not None
            await self._writer.commit(Release(self.engine, tid, mid, self.owner))  # rides in a page transaction
            log.info("lease released tenant=%s mailbox=%s owner=%s at=%.6f", tid, mid, self.owner, released_at)
        failed = False
        for o in outcomes:
            if o is None:
                failed = True
                continue
            report.pages += o.pages
            report.upserted += o.upserted
            report.removed += o.removed
            report.rejected += o.rejected
            report.resyncs += int(o.resynced)
        report.mailboxes += 1
        report.mailboxes_failed += int(failed)
        summary = " ".join(f"{o.resource}={o.upserted}/{o.pages}p{' resynced' if o.resynced else ''}"
                           for o in outcomes if o is not None)
        self.progress.mailbox_done(tid, mid, f"{summary} failed={failed} seconds={self._monotonic() - started:.2f}")

    async def _resource(self, rt: _TenantRuntime, ctx: MailboxContext, state: ResourceState) -> ResourceOutcome | None:
        spec = ResourceSpec(state.resource)
        key = f"{ctx.tenant.tenant_id}/{ctx.mailbox.user_id}/{spec.resource}"
        try:
            try:
                outcome = await sync_resource(ctx, spec, state)
            except AccessDenied:
                if not spec.is_events or ctx.calendar_mode == "poll":
                    raise
                # No Calendars.Read: calendarView/delta is refused, range polling works with ReadBasic.
                log.info("calendar delta refused; range polling instead tenant=%s", ctx.tenant.tenant_id)
                rt.calendar_mode = ctx.calendar_mode = "poll"
                outcome = await sync_resource(ctx, spec, state)
        except LeaseLost as err:
            log.warning("lease lost %s: %s", key, err)
            return None
        except TENANT_WIDE as err:
            await self._db_call(self._record_error, ctx, spec, err, None)
            self._halt(rt, err)
            return None
        except (Throttled, BudgetExhausted) as err:
            await self._db_call(self._record_error, ctx, spec, err, err.retry_after)
            self.failures.failed(key, err, requeued_for=f"{err.retry_after:.0f}s")
            return None
        except Exception as err:  # the top of a worker task: one mailbox must never stop the others
            if isinstance(err, GraphError) and err.status == 404 and err.code in MAILBOX_GONE:
                # Read the directory again at the next pass rather than within the hour: the user is probably gone
                # from it (or no longer has a mailbox to sync), and until then every pass would fail it again.
                rt.snapshot_at = None
            await self._db_call(self._record_error, ctx, spec, err, None)
            if self.failures.failed(key, err):
                log.debug("failure detail %s", key, exc_info=True)
            return None
        self.failures.succeeded(key)
        self.failures.succeeded(f"{ctx.tenant.tenant_id}/tenant")
        return outcome

    def _halt(self, rt: _TenantRuntime, err: BaseException) -> None:
        """A TENANT_WIDE failure: the tenant's pass claims no more mailboxes (those running end on their own),
        and it is logged once for the tenant, not once per mailbox and resource, until a resource succeeds."""
        if rt.halted is None:
            rt.halted = err
        self.failures.failed(f"{rt.tenant.tenant_id}/tenant", err,
                             then="the tenant's pass stops; the next pass tries again")

    def _record_tenant_error(self, tid: str, err: BaseException, since: datetime) -> None:
        with self.engine.begin() as conn:
            leases.record_tenant_error(conn, tid, f"{type(err).__name__}: {err}"[:2000], self._clock(), since)

    def _record_error(self, ctx: MailboxContext, spec: ResourceSpec, err: BaseException,
                      retry_after: float | None) -> None:
        now = self._clock()
        values: dict[str, Any] = {"last_error_at": now, "last_error": f"{type(err).__name__}: {err}"[:2000],
                                  "consecutive_errors": leases.counter("consecutive_errors", 1)}
        if retry_after is not None:
            values["not_before"] = now + timedelta(seconds=retry_after)
        with self.engine.begin() as conn:
            leases.save_progress(conn, ctx.tenant.tenant_id, ctx.mailbox.user_id, spec.resource, **values)


def default_owner() -> str:
    """A worker identity that is unique across machines and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def build_worker(
    settings: Settings,
    *,
    engine: Engine | None = None,
    owner: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    credential_factory: Callable[[TenantConfig], AsyncCredential] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    progress: ProgressSink | None = None,
) -> SyncWorker:
    """The sync worker's composition root. ``transport`` (an httpx transport) replaces the network, e.g. the
    emulator's ``MockTransport``; clock, sleep and randomness are injectable for tests."""
    return SyncWorker(
        settings, engine if engine is not None else make_engine(settings.database_url),
        owner=owner or default_owner(), transport=transport, credential_factory=credential_factory, clock=clock,
        sleep=sleep, monotonic=monotonic, rng=rng or random.Random(), progress=progress or LogProgress(),
        owns_engine=engine is None,
    )

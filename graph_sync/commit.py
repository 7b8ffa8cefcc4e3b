"""Committing sync pages: one transaction holds a page's changes **and** its new next/delta link.

:func:`commit_page` writes one page: ``ingest_activities`` (rollups included; it also moves a sighting to the
folder that reported it last), the removals, a resync's sweep, and the ``sync_state`` update that stores the link, renews the lease and fails with
:class:`~graph_sync.errors.LeaseLost` if the mailbox is no longer ours, all in one transaction.

:class:`PageWriter` is the group commit in front of it. Pages of every mailbox queue up while the database
thread is busy; the next transaction takes them all: one ``ingest_activities`` per tenant over all their
activities (in page order, so an item two pages report in different folders ends in the later page's folder),
one ``executemany`` of the ``sync_state`` updates. Each page's link is still committed in the same transaction
as that page's changes, so a crash anywhere loses and duplicates nothing. What could depend on the order of
pages is committed alone, in order: a page with ``@removed`` items or a resync sweep. If a group fails in any way (a lease lost, an item the store refuses, a deadlock), it
is rolled back and its pages are committed one by one, each with the single-page rules (retries, bad items
isolated in savepoints, :class:`LeaseLost` for its own mailbox only).

A finished mailbox's lease is given back through the same queue (:class:`Release`): it rides in the next
transaction that commits pages, instead of costing a transaction (and a database-thread hop) of its own.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from analytics.errors import IngestError
from analytics.store import models
from analytics.store.bulk import driver_form
from analytics.store.ids import key64
from analytics.store.ingest import ingest_activities, remove_sources, remove_unseen_sources
from analytics.store.records import ActivityIn
from graph_sync.calendar_window import outside_window
from graph_sync.delta import DeltaState, PageChanges
from graph_sync.errors import LeaseLost

if TYPE_CHECKING:
    from graph_sync.mailbox import MailboxContext, ResourceSpec

log = logging.getLogger(__name__)
SRC = models.table_of(models.ActivitySource)
Mode = Literal["delta", "poll"]
DB_ATTEMPTS = 4
MAX_GROUP = 128  # pages per group transaction
_IN = 500  # keys per IN (...) list

# One statement per page stores the link, moves the counters and renews the lease of the page's row; the owner
# condition makes it the lease check too (a claim rewrites every row of a mailbox, so a row still ours means the
# mailbox is; rows of a mailbox's finished resources keep their expiry, which only ever lies in the future of
# the last claim, and the running resources' rows keep the mailbox out of other workers' reach).
_SAVE_PAGE = """
UPDATE sync_state SET
  next_link = :next_link, delta_link = :delta_link, lease_expires_at = :expires,
  pages_synced = pages_synced + 1, requests_made = requests_made + 1,
  items_synced = items_synced + :items, items_removed = items_removed + :removed,
  window_start = coalesce(:window_start, window_start), window_end = coalesce(:window_end, window_end),
  last_success_at = CASE WHEN :done THEN :now ELSE last_success_at END,
  last_error = CASE WHEN :done THEN NULL ELSE last_error END,
  consecutive_errors = CASE WHEN :done THEN 0 ELSE consecutive_errors END,
  not_before = CASE WHEN :done THEN NULL ELSE not_before END
WHERE tenant_id = :tenant_id AND mailbox_id = :mailbox_id AND resource = :resource AND lease_owner = :owner
"""
# Sent straight to the driver, values in its form (bulk.driver_form): through SQLAlchemy, each row's four
# timestamps went through the column type's bind processors and the statement's parameter compilation, ~11 % of
# the database thread's own (GIL-holding) time in bench_sync's item [3]. sqlite3 takes ``:name`` parameters;
# psycopg takes ``%(name)s``.
_SAVE_PAGE_SQL = {"sqlite": _SAVE_PAGE, "postgresql": re.sub(r":(\w+)", r"%(\1)s", _SAVE_PAGE)}


_RELEASE = text("UPDATE sync_state SET lease_owner = NULL, lease_expires_at = NULL "
                "WHERE tenant_id = :tenant_id AND mailbox_id = :mailbox_id AND lease_owner = :owner")


@dataclass(frozen=True, slots=True)
class Release:
    """Give a finished mailbox back (only if still ours). Queued after every page of the mailbox has committed,
    so it commutes with whatever else its transaction holds."""

    engine: Engine
    tenant_id: str
    mailbox_id: str
    owner: str


def release_leases(conn: Connection, releases: Sequence[Release]) -> None:
    """Inside the caller's transaction: clear the leases of ``releases`` (rows no longer ours are left alone)."""
    if releases:
        conn.execute(_RELEASE, [{"tenant_id": r.tenant_id, "mailbox_id": r.mailbox_id, "owner": r.owner}
                                for r in releases])


@dataclass(frozen=True, slots=True)
class PageJob:
    """One fetched and normalised page, waiting to be committed."""

    ctx: MailboxContext
    spec: ResourceSpec
    state: DeltaState
    changes: PageChanges
    activities: Sequence[ActivityIn]
    sweep: set[str] | None
    mode: Mode
    window: tuple[datetime, datetime]

    @property
    def alone(self) -> bool:
        """Removals and sweeps depend on what was committed before them: such a page is committed alone."""
        return bool(self.changes.removed) or self.sweep is not None

    def progress(self, now: datetime, ts: Callable[[datetime], Any] = lambda t: t) -> dict[str, Any]:
        """The page's ``sync_state`` update; ``ts`` puts timestamps in the driver's form."""
        ctx = self.ctx
        done = self.changes.done
        events = self.spec.is_events
        return {
            "tenant_id": ctx.tenant.tenant_id, "mailbox_id": ctx.mailbox.user_id, "resource": self.spec.resource,
            "owner": ctx.owner, "expires": ts(now + timedelta(seconds=ctx.settings.sync_lease_seconds)),
            "next_link": None if self.mode == "poll" else self.state.next_link,
            "delta_link": self.state.delta_link,
            "items": len(self.activities), "removed": len(self.changes.removed),
            "window_start": ts(self.window[0]) if events else None,
            "window_end": ts(self.window[1]) if events else None,
            "done": done, "now": ts(now),
        }


def save_pages(conn: Connection, jobs: Sequence[PageJob], now: datetime) -> None:
    """Store the pages' links and counters and renew their leases; :class:`LeaseLost` if one is not ours."""
    form = driver_form(conn)
    rows = [j.progress(now, form.timestamp) for j in jobs]
    result = conn.exec_driver_sql(_SAVE_PAGE_SQL[form.dialect], rows if len(rows) > 1 else rows[0])
    if (result.rowcount or 0) < len(jobs):
        lost = jobs[0] if len(jobs) == 1 else None
        raise LeaseLost(lost.ctx.mailbox.user_id if lost else "(one of a group)",
                        lost.spec.resource if lost else "")


# --- one page ---------------------------------------------------------------------------------------------------


def commit_page(job: PageJob) -> None:
    """Commit one page in one transaction (see the module docstring)."""
    ctx, spec, activities = job.ctx, job.spec, job.activities
    tid, mid = ctx.tenant.tenant_id, ctx.mailbox.user_id
    now = ctx.clock()
    policy = ctx.tenant.subject_policy
    key = ctx.settings.secret_key
    for attempt in range(1, DB_ATTEMPTS + 1):
        try:
            with ctx.engine.begin() as conn:
                ingest_activities(conn, tid, activities, now=now, subject_policy=policy, subject_key=key)
                apply_removals_and_moves(conn, job, activities)
                save_pages(conn, [job], now)
            return
        except OperationalError as err:
            # Deadlock or lock timeout between workers merging the same mail: the transaction was rolled back
            # as a whole, so running it again is safe.
            if attempt == DB_ATTEMPTS:
                raise
            log.info("page commit retried after %s tenant=%s mailbox=%s", type(err.orig).__name__, tid, mid)
            time.sleep(0.05 * attempt)  # on the database thread, never the event loop
        except (IngestError, SQLAlchemyError) as err:
            if not activities:
                raise
            log.warning("page ingest failed, isolating bad items tenant=%s mailbox=%s resource=%s: %s",
                        tid, mid, spec.resource, err)
            break
    # Same page, same single transaction, but each activity in a savepoint so one bad row cannot block the rest.
    with ctx.engine.begin() as conn:
        good: list[ActivityIn] = []
        for a in activities:
            try:
                with conn.begin_nested():
                    ingest_activities(conn, tid, [a], now=now, subject_policy=policy, subject_key=key)
                good.append(a)
            except (IngestError, SQLAlchemyError) as err:
                log.warning("item rejected by the store tenant=%s mailbox=%s resource=%s id=%s: %s",
                            tid, mid, spec.resource, a.source_id, err)
        apply_removals_and_moves(conn, job, good)
        save_pages(conn, [job], now)


def apply_removals_and_moves(conn: Connection, job: PageJob, activities: Sequence[ActivityIn]) -> None:
    ctx, spec = job.ctx, job.spec
    tid, mid = ctx.tenant.tenant_id, ctx.mailbox.user_id
    removed: Sequence[str] = job.changes.removed
    if not spec.is_events and removed:
        # Immutable ids survive a move between folders: the new folder reports the item, the old one reports
        # it @removed, in either order. Sightings therefore belong to a folder (the ingest moves a sighting to
        # the folder that reported it last), and a folder removes only its own.
        removed = _owned_by_folder(conn, tid, mid, spec.folder, removed)
    if removed:
        remove_sources(conn, tid, mid, removed)
    if job.sweep is not None:
        keep = set(job.sweep)
        if not spec.is_events:
            keep.update(conn.execute(select(SRC.c.source_id).where(
                SRC.c.tenant_id == tid, SRC.c.mailbox_id == mid, SRC.c.resource == "messages",
                SRC.c.folder_id != spec.folder)).scalars())
        else:  # meetings outside the enumerated window (history after the window moved) are not vanished
            keep.update(outside_window(conn, tid, mid, job.window))
        result = remove_unseen_sources(conn, tid, mid, spec.store_resource, keep)
        if result.sources_removed:
            log.info("resync removed %d vanished items tenant=%s mailbox=%s resource=%s",
                     result.sources_removed, tid, mid, spec.resource)


def _owned_by_folder(conn: Connection, tid: str, mid: str, folder: str, source_ids: Sequence[str]) -> list[str]:
    by_key = {key64(mid, s): s for s in source_ids}
    keys = list(by_key)
    other: set[int] = set()
    for i in range(0, len(keys), _IN):
        other.update(conn.execute(select(SRC.c.source_key).where(
            SRC.c.tenant_id == tid, SRC.c.source_key.in_(keys[i:i + _IN]), SRC.c.folder_id != folder,
        )).scalars())
    return [sid for k, sid in by_key.items() if k not in other]


# --- a group of pages ----------------------------------------------------------------------------------------------


def commit_group(jobs: Sequence[PageJob], releases: Sequence[Release] = ()) -> None:
    """Commit pages without removals or sweeps, and ``releases``, in one transaction. Raises whatever one of them
    would."""
    first = jobs[0].ctx
    now = first.clock()
    by_tenant: dict[str, list[ActivityIn]] = {}
    for j in jobs:
        by_tenant.setdefault(j.ctx.tenant.tenant_id, []).extend(j.activities)
    with first.engine.begin() as conn:
        for tid, activities in by_tenant.items():
            tenant = next(j.ctx for j in jobs if j.ctx.tenant.tenant_id == tid)
            # In page order: an item two pages report in different folders ends in the later page's folder, as
            # page-by-page commits would leave it (the ingest moves a sighting to its last folder).
            ingest_activities(conn, tid, activities, now=now, subject_policy=tenant.tenant.subject_policy,
                              subject_key=tenant.settings.secret_key)
        save_pages(conn, jobs, now)
        release_leases(conn, releases)


def commit_jobs(queued: Sequence[PageJob | Release]) -> list[BaseException | None]:
    """Commit ``queued`` pages in order, grouping what may be grouped, and the releases in the first group
    transaction that commits (or one of their own); returns each item's error (or None)."""
    results: list[BaseException | None] = [None] * len(queued)
    at = [k for k, q in enumerate(queued) if isinstance(q, PageJob)]
    jobs = [q for q in queued if isinstance(q, PageJob)]
    releases = [q for q in queued if isinstance(q, Release)]
    i = 0
    while i < len(jobs):
        j = i
        if not jobs[i].alone:
            while j + 1 < len(jobs) and not jobs[j + 1].alone and j + 1 - i < MAX_GROUP:
                j += 1
        # A lone groupable page goes through the group path too while releases wait for a transaction.
        if j > i or (releases and not jobs[i].alone):
            try:
                commit_group(jobs[i:j + 1], releases)
                releases = []
                i = j + 1
                continue
            except Exception as err:  # any failure: redo page by page, which knows how to handle each case
                log.info("group commit of %d pages failed (%s: %s); committing them one by one",
                         j + 1 - i, type(err).__name__, err)
        for k in range(i, j + 1):
            try:
                commit_page(jobs[k])
            except Exception as err:  # handed to the page's own resource task
                results[at[k]] = err
        i = j + 1
    if releases:
        try:
            with releases[0].engine.begin() as conn:
                release_leases(conn, releases)
        except Exception as err:  # each mailbox task learns it, as it did from a release of its own
            for k, q in enumerate(queued):
                if isinstance(q, Release):
                    results[k] = err
    return results


class PageWriter:
    """The group commit: pages queue while the database thread works, the next transaction takes them all."""

    def __init__(self, executor: Executor, max_batch: int = 4 * MAX_GROUP) -> None:
        self._executor = executor
        self._max_batch = max_batch
        self._queue: list[tuple[PageJob | Release, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # executor calls, each one or more transactions

    async def commit(self, job: PageJob | Release) -> None:
        """Commit ``job`` (a page or a lease release); returns when it is durable, raises what committing it
        raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((job, future))
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())
        await asyncio.shield(future)  # a cancelled waiter must not orphan a commit under way

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            batch, self._queue = self._queue[:self._max_batch], self._queue[self._max_batch:]
            try:
                results = await loop.run_in_executor(self._executor, commit_jobs, [job for job, _ in batch])
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as err:  # the executor itself failed (shut down): every waiter learns it
                results = [err] * len(batch)
            self.batches += 1
            for (_, future), error in zip(batch, results, strict=True):
                if future.done():
                    continue
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)

"""Sync one resource (a mail folder or the calendar) of one leased mailbox: the thin I/O loop around
:func:`graph_sync.delta.apply_page`.

For every page: fetch it, fold it into the delta state, normalise its items, then write the page's activities,
its removals and the new next/delta link **in one transaction** that also re-checks the lease. A crash at any
point therefore resumes from the last committed link with nothing lost (the page is fetched again) and
nothing duplicated (the store's ingest is idempotent).

After an expired token (410, ``syncStateNotFound``, ``resyncRequired``) the resource is enumerated again from
the start; at the end of that enumeration every sighting it did not see again is removed. The set of ids seen
lives in memory, so a resync interrupted by a crash starts over rather than sweeping with half a set.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from analytics.errors import IngestError
from analytics.settings import Settings
from analytics.store import models
from analytics.store.ids import key64
from analytics.store.ingest import ingest_activities, remove_sources, remove_unseen_sources
from analytics.store.records import ActivityIn
from graph_sync import leases
from graph_sync.client import GraphClient
from graph_sync.delta import DeltaState, PageChanges, apply_page
from graph_sync.errors import ItemRejected, SyncStateExpired
from graph_sync.leases import ResourceState
from graph_sync.normalise import Directory, Mailbox, normalise_event, normalise_message
from graph_sync.tenants import TenantConfig

log = logging.getLogger(__name__)
SRC = models.table_of(models.ActivitySource)
Mode = Literal["delta", "poll"]
DB_ATTEMPTS = 4


@dataclass(frozen=True)
class ResourceSpec:
    """What a ``sync_state.resource`` value means: ``messages:<folder>`` or ``events``."""

    resource: str

    @property
    def is_events(self) -> bool:
        return self.resource == "events"

    @property
    def folder(self) -> str:
        return self.resource.partition(":")[2] if not self.is_events else "calendar"

    @property
    def store_resource(self) -> str:
        return "events" if self.is_events else "messages"


@dataclass
class MailboxContext:
    """Everything one mailbox's sync needs, created by the worker."""

    tenant: TenantConfig
    mailbox: Mailbox
    directory: Directory
    client: GraphClient
    engine: Engine
    settings: Settings
    owner: str
    lease_rows: int
    db: Executor
    clock: Callable[[], datetime]
    on_progress: Callable[[str, int], None] = lambda kind, n: None
    calendar_mode: Mode = "delta"


@dataclass
class ResourceOutcome:
    """What one resource's round did."""

    resource: str
    pages: int = 0
    upserted: int = 0
    removed: int = 0
    rejected: int = 0
    resynced: bool = False
    complete: bool = False
    mode: Mode = "delta"
    errors: list[str] = field(default_factory=list)


def _initial_url(ctx: MailboxContext, spec: ResourceSpec, row: ResourceState, mode: Mode) -> tuple[str, datetime,
                                                                                                   datetime]:
    now = ctx.clock()
    start = row.window_start or now - timedelta(days=ctx.settings.sync_calendar_past_days)
    end = row.window_end or now + timedelta(days=ctx.settings.sync_calendar_future_days)
    uid = ctx.mailbox.user_id
    if not spec.is_events:
        return ctx.client.messages_delta_url(uid, spec.folder), start, end
    if mode == "poll":
        return ctx.client.calendar_view_url(uid, start, end), start, end
    return ctx.client.events_delta_url(uid, start, end), start, end


async def sync_resource(ctx: MailboxContext, spec: ResourceSpec, row: ResourceState) -> ResourceOutcome:
    """Run one round of ``spec`` for the context's mailbox, committing page by page."""
    mode: Mode = ctx.calendar_mode if spec.is_events else "delta"
    outcome = ResourceOutcome(spec.resource, mode=mode)
    initial, w_start, w_end = _initial_url(ctx, spec, row, mode)
    if mode == "poll":
        state = DeltaState(initial, full=True)  # a listing is always a full enumeration
    else:
        state = DeltaState(initial, row.next_link, row.delta_link, full=row.resyncs > 0 and row.delta_link is None)
        if state.full and state.next_link:
            state = state.restart(full=True)  # the ids seen before the interruption are gone: start over
    seen: set[str] = set()
    expirations = 0
    while True:
        url = state.url
        try:
            page = await ctx.client.get_json(url, mailbox=ctx.mailbox.user_id, events=spec.is_events)
        except SyncStateExpired:
            expirations += 1
            if expirations > 2:
                raise
            log.info("delta token expired; full resync tenant=%s mailbox=%s resource=%s",
                     ctx.tenant.tenant_id, ctx.mailbox.user_id, spec.resource)
            state = state.restart(full=True)
            seen.clear()
            outcome.resynced = True
            await _run_db(ctx, _mark_resync, ctx, spec)
            continue
        new_state, changes = apply_page(state, page, url=url, listing=mode == "poll")
        activities = _normalise(ctx, spec, changes, outcome)
        if state.full:
            seen.update(str(item["id"]) for item in changes.upserts)
        sweep = seen if (state.full and changes.done) else None
        await _run_db(ctx, _commit_page, ctx, spec, new_state, changes, activities, sweep, mode, (w_start, w_end))
        outcome.pages += 1
        outcome.upserted += len(activities)
        outcome.removed += len(changes.removed)
        ctx.on_progress("events" if spec.is_events else "messages", len(activities))
        state = new_state
        if changes.done:
            outcome.complete = True
            return outcome


async def _run_db(ctx: MailboxContext, fn: Callable[..., Any], *args: Any) -> Any:
    # Database work runs on one dedicated thread: the event loop keeps other mailboxes' requests moving, and
    # writes stay serialised (SQLite has one writer anyway).
    return await asyncio.get_running_loop().run_in_executor(ctx.db, fn, *args)


def _normalise(ctx: MailboxContext, spec: ResourceSpec, changes: PageChanges,
               outcome: ResourceOutcome) -> list[ActivityIn]:
    out: list[ActivityIn] = []
    for bad in changes.bad:
        outcome.rejected += 1
        log.warning("bad item skipped tenant=%s mailbox=%s resource=%s index=%d reason=%s",
                    ctx.tenant.tenant_id, ctx.mailbox.user_id, spec.resource, bad.index, bad.reason)
    for item in changes.upserts:
        try:
            if spec.is_events:
                activity = normalise_event(item, ctx.mailbox, ctx.directory)
            else:
                activity = normalise_message(item, ctx.mailbox, ctx.directory, spec.folder)
        except ItemRejected as err:
            outcome.rejected += 1
            log.warning("item rejected tenant=%s mailbox=%s resource=%s id=%s reason=%s",
                        ctx.tenant.tenant_id, ctx.mailbox.user_id, spec.resource, item.get("id"), err.reason)
            continue
        except Exception as err:  # one strange item must never stop the mailbox
            outcome.rejected += 1
            log.warning("item rejected tenant=%s mailbox=%s resource=%s id=%s reason=%s: %s",
                        ctx.tenant.tenant_id, ctx.mailbox.user_id, spec.resource, item.get("id"),
                        type(err).__name__, err)
            continue
        if activity is not None:
            out.append(activity)
    return out


def _mark_resync(ctx: MailboxContext, spec: ResourceSpec) -> None:
    with ctx.engine.begin() as conn:
        _renew(conn, ctx, spec)
        leases.save_progress(conn, ctx.tenant.tenant_id, ctx.mailbox.user_id, spec.resource,
                             next_link=None, delta_link=None, resyncs=leases.counter("resyncs", 1))


def _renew(conn: Connection, ctx: MailboxContext, spec: ResourceSpec) -> None:
    expires = ctx.clock() + timedelta(seconds=ctx.settings.sync_lease_seconds)
    leases.renew(conn, ctx.tenant.tenant_id, ctx.mailbox.user_id, spec.resource, ctx.owner, ctx.lease_rows,
                 expires)


def _commit_page(
    ctx: MailboxContext, spec: ResourceSpec, state: DeltaState, changes: PageChanges,
    activities: Sequence[ActivityIn], sweep: set[str] | None, mode: Mode, window: tuple[datetime, datetime],
) -> None:
    tid, mid = ctx.tenant.tenant_id, ctx.mailbox.user_id
    now = ctx.clock()
    done = changes.done
    progress: dict[str, Any] = {
        "next_link": None if mode == "poll" else state.next_link,
        "delta_link": state.delta_link,
        "pages_synced": leases.counter("pages_synced", 1),
        "items_synced": leases.counter("items_synced", len(activities)),
        "items_removed": leases.counter("items_removed", len(changes.removed)),
        "requests_made": leases.counter("requests_made", 1),
    }
    if spec.is_events:
        progress["window_start"], progress["window_end"] = window
    if done:
        progress.update(last_success_at=now, last_error=None, consecutive_errors=0, not_before=None)
    policy = ctx.tenant.subject_policy
    key = ctx.settings.secret_key
    for attempt in range(1, DB_ATTEMPTS + 1):
        try:
            with ctx.engine.begin() as conn:
                _renew(conn, ctx, spec)
                ingest_activities(conn, tid, activities, now=now, subject_policy=policy, subject_key=key)
                _apply_removals_and_moves(conn, ctx, spec, activities, changes.removed, sweep)
                leases.save_progress(conn, tid, mid, spec.resource, **progress)
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
        _renew(conn, ctx, spec)
        good: list[ActivityIn] = []
        for a in activities:
            try:
                with conn.begin_nested():
                    ingest_activities(conn, tid, [a], now=now, subject_policy=policy, subject_key=key)
                good.append(a)
            except (IngestError, SQLAlchemyError) as err:
                log.warning("item rejected by the store tenant=%s mailbox=%s resource=%s id=%s: %s",
                            tid, mid, spec.resource, a.source_id, err)
        _apply_removals_and_moves(conn, ctx, spec, good, changes.removed, sweep)
        leases.save_progress(conn, tid, mid, spec.resource, **progress)


def _apply_removals_and_moves(
    conn: Connection, ctx: MailboxContext, spec: ResourceSpec, activities: Sequence[ActivityIn],
    removed: Sequence[str], sweep: set[str] | None,
) -> None:
    tid, mid = ctx.tenant.tenant_id, ctx.mailbox.user_id
    if not spec.is_events:
        # Immutable ids survive a move between folders: the new folder reports the item, the old one reports
        # it @removed, in either order. Sightings therefore belong to a folder, and a folder removes only its own.
        if activities:
            _claim_for_folder(conn, tid, mid, spec.folder, [a.source_id for a in activities])
        if removed:
            removed = _owned_by_folder(conn, tid, mid, spec.folder, removed)
    if removed:
        remove_sources(conn, tid, mid, removed)
    if sweep is not None:
        keep = set(sweep)
        if not spec.is_events:
            keep.update(conn.execute(select(SRC.c.source_id).where(
                SRC.c.tenant_id == tid, SRC.c.mailbox_id == mid, SRC.c.resource == "messages",
                SRC.c.folder_id != spec.folder)).scalars())
        result = remove_unseen_sources(conn, tid, mid, spec.store_resource, keep)
        if result.sources_removed:
            log.info("resync removed %d vanished items tenant=%s mailbox=%s resource=%s",
                     result.sources_removed, tid, mid, spec.resource)


def _keys(mailbox_id: str, source_ids: Sequence[str]) -> list[int]:
    return [key64(mailbox_id, s) for s in source_ids]


def _claim_for_folder(conn: Connection, tid: str, mid: str, folder: str, source_ids: Sequence[str]) -> None:
    keys = _keys(mid, source_ids)
    for i in range(0, len(keys), 500):
        conn.execute(update(SRC).where(
            SRC.c.tenant_id == tid, SRC.c.source_key.in_(keys[i:i + 500]), SRC.c.folder_id != folder,
        ).values(folder_id=folder))


def _owned_by_folder(conn: Connection, tid: str, mid: str, folder: str, source_ids: Sequence[str]) -> list[str]:
    by_key: Mapping[int, str] = dict(zip(_keys(mid, source_ids), source_ids, strict=True))
    keys = list(by_key)
    other: set[int] = set()
    for i in range(0, len(keys), 500):
        other.update(conn.execute(select(SRC.c.source_key).where(
            SRC.c.tenant_id == tid, SRC.c.source_key.in_(keys[i:i + 500]), SRC.c.folder_id != folder,
        )).scalars())
    return [sid for k, sid in by_key.items() if k not in other]


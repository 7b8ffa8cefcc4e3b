"""Sync one resource (a mail folder or the calendar) of one leased mailbox: the thin I/O loop around
:func:`graph_sync.delta.apply_page`.

For every page: fetch it, fold it into the delta state, normalise its items, then write the page's activities,
its removals and the new next/delta link **in one transaction** that also re-checks the lease
(:mod:`graph_sync.commit`, which groups pages of many mailboxes into one transaction). A crash at any
point therefore resumes from the last committed link with nothing lost (the page is fetched again) and
nothing duplicated (the store's ingest is idempotent).

After an expired token (410, ``syncStateNotFound``, ``resyncRequired``) the resource is enumerated again from
the start; at the end of that enumeration every sighting it did not see again is removed. The set of ids seen
lives in memory, so a resync interrupted by a crash starts over rather than sweeping with half a set.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from analytics.settings import Settings
from analytics.store import models
from analytics.store.records import ActivityIn
from graph_sync import leases
from graph_sync.calendar_window import desired_window, rebaseline_due
from graph_sync.client import GraphClient
from graph_sync.commit import Mode, PageJob, PageWriter
from graph_sync.delta import DeltaState, PageChanges, apply_page
from graph_sync.errors import ItemRejected, SyncStateExpired
from graph_sync.leases import ResourceState
from graph_sync.normalise import Directory, Mailbox, normalise_event, normalise_message
from graph_sync.tenants import TenantConfig

log = logging.getLogger(__name__)
SRC = models.table_of(models.ActivitySource)


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
    writer: PageWriter
    clock: Callable[[], datetime]
    on_progress: Callable[[str, int], None] = lambda kind, n: None
    calendar_mode: Mode = "delta"
    folder_ids: dict[str, str] = field(default_factory=dict)  # discovered folders: key -> Graph id (folders.py)


@dataclass
class ResourceOutcome:
    """What one resource's round did."""

    resource: str
    pages: int = 0
    upserted: int = 0
    removed: int = 0
    rejected: int = 0
    resynced: bool = False
    rebaselined: bool = False  # the calendar moved to a new window (graph_sync.calendar_window)
    complete: bool = False
    mode: Mode = "delta"
    errors: list[str] = field(default_factory=list)


def _initial_url(ctx: MailboxContext, spec: ResourceSpec, row: ResourceState, mode: Mode) -> tuple[str, datetime,
                                                                                                   datetime]:
    now = ctx.clock()
    start, end = desired_window(ctx.settings, now)
    if row.window_start is not None and row.window_end is not None:
        start, end = row.window_start, row.window_end
    uid = ctx.mailbox.user_id
    if not spec.is_events:
        return ctx.client.messages_delta_url(uid, ctx.folder_ids.get(spec.folder, spec.folder)), start, end
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
        # A round without a delta link on a resource that has data (a resync, or a calendar re-baseline) must
        # see everything to sweep what vanished; interrupted, it starts over (the ids seen are gone).
        full = row.delta_link is None and (row.resyncs > 0 or row.last_success_at is not None)
        state = DeltaState(initial, row.next_link, row.delta_link, full=full)
        if state.full and state.next_link:
            state = state.restart(full=True)
    seen: set[str] = set()
    expirations = 0
    rebaselined = False
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
        await ctx.writer.commit(PageJob(ctx, spec, new_state, changes, activities, sweep, mode, (w_start, w_end)))
        outcome.pages += 1
        outcome.upserted += len(activities)
        outcome.removed += len(changes.removed)
        ctx.on_progress("events" if spec.is_events else "messages", len(activities))
        state = new_state
        if changes.done:
            if spec.is_events and not rebaselined and rebaseline_due(ctx.settings, w_end, ctx.clock()):
                # The old window's changes are in; now enumerate the new window (graph_sync.calendar_window).
                rebaselined = outcome.rebaselined = True
                w_start, w_end = desired_window(ctx.settings, ctx.clock())
                log.info("calendar window moved tenant=%s mailbox=%s window=%s..%s", ctx.tenant.tenant_id,
                         ctx.mailbox.user_id, w_start.date(), w_end.date())
                uid = ctx.mailbox.user_id
                state = DeltaState(ctx.client.calendar_view_url(uid, w_start, w_end) if mode == "poll" else
                                   ctx.client.events_delta_url(uid, w_start, w_end), full=True)
                seen.clear()
                continue
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

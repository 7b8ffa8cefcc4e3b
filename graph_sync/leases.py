"""Sync state rows and the leases that split mailboxes between workers.

A worker *claims* a mailbox by writing its id and an expiry into every ``sync_state`` row of that mailbox.
On PostgreSQL the claim reads the rows ``FOR UPDATE SKIP LOCKED``, so two workers claiming at once never both
win, and a mailbox whose lease expired (its worker died) is taken over by the next claim. Every page commit
re-checks and extends the lease in the same transaction as the page (:func:`renew`), so a worker that lost its
lease can never commit another page of that mailbox.

SQLite supports a single sync process: a claim there takes the mailbox even if a dead process's lease has not
expired yet, so a restarted ``rapport sync`` continues at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select, update
from sqlalchemy.engine import Engine

from analytics.store import models
from analytics.store.ingest import dialect_insert
from graph_sync.errors import LeaseLost

STATE = models.table_of(models.SyncState)


@dataclass(frozen=True)
class ResourceState:
    """One ``sync_state`` row, as the worker reads it."""

    tenant_id: str
    mailbox_id: str
    resource: str
    next_link: str | None
    delta_link: str | None
    window_start: datetime | None
    window_end: datetime | None
    not_before: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_errors: int
    resyncs: int


def ensure_rows(engine: Engine, tenant_id: str, pairs: Iterable[tuple[str, str]]) -> int:
    """Create missing ``sync_state`` rows for (mailbox, resource) pairs; returns how many were new."""
    rows = [{"tenant_id": tenant_id, "mailbox_id": m, "resource": r} for m, r in sorted(set(pairs))]
    if not rows:
        return 0
    with engine.begin() as conn:
        stmt = dialect_insert(conn, STATE).on_conflict_do_nothing(
            index_elements=["tenant_id", "mailbox_id", "resource"]).returning(STATE.c.resource)
        return len(conn.execute(stmt, rows).all())


def _state(r: Any) -> ResourceState:
    return ResourceState(
        tenant_id=r["tenant_id"], mailbox_id=r["mailbox_id"], resource=r["resource"], next_link=r["next_link"],
        delta_link=r["delta_link"], window_start=r["window_start"], window_end=r["window_end"],
        not_before=r["not_before"], last_success_at=r["last_success_at"], last_error=r["last_error"],
        consecutive_errors=r["consecutive_errors"], resyncs=r["resyncs"],
    )


def load_states(conn: Connection, tenant_id: str, mailbox_id: str) -> list[ResourceState]:
    q = select(STATE).where(STATE.c.tenant_id == tenant_id, STATE.c.mailbox_id == mailbox_id).order_by(
        STATE.c.resource)
    return [_state(r) for r in conn.execute(q).mappings()]


def candidates(
    engine: Engine, tenant_id: str, owner: str, now: datetime, *, pass_started: datetime,
    exclude: Sequence[str] = (), single_process: bool = False, limit: int | None = 64,
) -> list[str]:
    """Mailboxes that may be claimed: not leased by a live other worker, and not yet synced this pass, the least
    recently synced first (``limit`` None: all of them)."""
    foreign_live = case(
        (and_(STATE.c.lease_owner.is_not(None), STATE.c.lease_owner != owner,
              STATE.c.lease_expires_at > now), 1), else_=0)
    stale = case((or_(STATE.c.last_success_at.is_(None), STATE.c.last_success_at <= pass_started), 1), else_=0)
    q = (select(STATE.c.mailbox_id).where(STATE.c.tenant_id == tenant_id).group_by(STATE.c.mailbox_id)
         .having(func.sum(stale) > 0).order_by(func.min(STATE.c.last_success_at).nulls_first(), STATE.c.mailbox_id))
    if not single_process:
        q = q.having(func.sum(foreign_live) == 0)
    if exclude:
        q = q.where(STATE.c.mailbox_id.not_in(list(exclude)))
    with engine.connect() as conn:
        return list(conn.execute(q.limit(limit)).scalars())


def claim(
    engine: Engine, tenant_id: str, mailbox_id: str, owner: str, now: datetime, lease_seconds: float,
    *, single_process: bool = False,
) -> int:
    """Lease every row of ``mailbox_id`` to ``owner``; returns the row count, or 0 if another worker holds it."""
    return len(claim_many(engine, tenant_id, [mailbox_id], owner, now, lease_seconds,
                          single_process=single_process).get(mailbox_id, []))


def claim_many(
    engine: Engine, tenant_id: str, mailbox_ids: Sequence[str], owner: str, now: datetime, lease_seconds: float,
    *, single_process: bool = False,
) -> dict[str, list[ResourceState]]:
    """Lease each of ``mailbox_ids`` (all its rows) that no live other worker holds, in one transaction.

    Returns the claimed mailboxes with their ``sync_state`` rows as read under the claim (ordered by resource),
    so the worker needs no separate load. A mailbox some of whose rows another transaction has locked (another
    worker claiming it right now: ``SKIP LOCKED``) or that a live other worker leases is left out. The caller
    caps how many it asks for, so one worker does not take a whole small tenant in one call.
    """
    return claim_for_pass(engine, tenant_id, mailbox_ids, owner, now, lease_seconds,
                          single_process=single_process).claimed


@dataclass(frozen=True)
class Claimed:
    """What :func:`claim_for_pass` did: the mailboxes claimed (with their rows) and those another worker holds
    or is claiming right now (``busy``: worth asking again later in the pass)."""

    claimed: dict[str, list[ResourceState]]
    busy: frozenset[str]


def claim_for_pass(
    engine: Engine, tenant_id: str, mailbox_ids: Sequence[str], owner: str, now: datetime, lease_seconds: float,
    *, single_process: bool = False, pass_started: datetime | None = None,
) -> Claimed:
    """:func:`claim_many`, and with ``pass_started`` a mailbox none of whose rows is stale (every resource
    succeeded after ``pass_started``: another worker synced it in this pass) is not claimed either.

    This is the candidates condition of :func:`candidates`, checked on the rows read under the claim, so a worker
    may pick its candidates from a list made once per pass.
    """
    if not mailbox_ids:
        return Claimed({}, frozenset())
    expires = now + timedelta(seconds=lease_seconds)
    ids = sorted(set(mailbox_ids))
    where = (STATE.c.tenant_id == tenant_id) & STATE.c.mailbox_id.in_(ids)
    with engine.begin() as conn:
        totals: dict[str, int] = {m: int(n) for m, n in conn.execute(
            select(STATE.c.mailbox_id, func.count()).where(where).group_by(STATE.c.mailbox_id))}
        q: Any = select(STATE).where(where).order_by(STATE.c.mailbox_id, STATE.c.resource)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        rows: dict[str, list[Any]] = {}
        for r in conn.execute(q).mappings():
            rows.setdefault(r["mailbox_id"], []).append(r)
        claimed: dict[str, list[ResourceState]] = {}
        busy: set[str] = {mid for mid in totals if mid not in rows}  # every row locked by another claim
        for mid, mine in rows.items():
            if len(mine) < totals.get(mid, 0):
                busy.add(mid)  # another worker is claiming it right now
                continue
            if not single_process and any(
                    r["lease_owner"] not in (None, owner) and r["lease_expires_at"] is not None
                    and r["lease_expires_at"] > now for r in mine):
                busy.add(mid)
                continue
            if pass_started is not None and not any(
                    r["last_success_at"] is None or r["last_success_at"] <= pass_started for r in mine):
                continue  # synced in this pass already
            claimed[mid] = [_state(r) for r in mine]
        if claimed:
            conn.execute(update(STATE).where(STATE.c.tenant_id == tenant_id,
                                             STATE.c.mailbox_id.in_(sorted(claimed)))
                         .values(lease_owner=owner, lease_expires_at=expires))
        return Claimed(claimed, frozenset(busy))


def release_owned(engine: Engine, tenant_id: str, owner: str) -> int:
    """Give back every lease ``owner`` holds in the tenant: what a pass that stopped early (interrupted, failed)
    does last, on the database thread, so that a claim still in flight when it stopped — which commits on that
    thread after the pass let go of it — is given back too rather than held until it expires. Returns how many."""
    with engine.begin() as conn:
        done = conn.execute(update(STATE).where(STATE.c.tenant_id == tenant_id, STATE.c.lease_owner == owner)
                            .values(lease_owner=None, lease_expires_at=None))
        return int(done.rowcount or 0)


def renew(conn: Connection, tenant_id: str, mailbox_id: str, resource: str, owner: str, rows: int,
          expires: datetime) -> None:
    """Inside a page transaction: extend the lease, or raise :class:`LeaseLost` if it is no longer ours."""
    result = conn.execute(update(STATE).where(
        STATE.c.tenant_id == tenant_id, STATE.c.mailbox_id == mailbox_id, STATE.c.lease_owner == owner,
    ).values(lease_expires_at=expires))
    if (result.rowcount or 0) < rows:
        raise LeaseLost(mailbox_id, resource)


def save_progress(conn: Connection, tenant_id: str, mailbox_id: str, resource: str, **values: Any) -> None:
    """Update one resource's row (links, counters, health) inside the caller's transaction."""
    conn.execute(update(STATE).where(
        STATE.c.tenant_id == tenant_id, STATE.c.mailbox_id == mailbox_id, STATE.c.resource == resource,
    ).values(**values))


def record_tenant_error(conn: Connection, tenant_id: str, error: str, now: datetime, since: datetime) -> int:
    """Record a failure of the whole tenant (credentials refused, Graph unreachable) on each of its rows that no
    worker holds and that has no error recorded since ``since`` (the rows that failed themselves keep their own).
    Returns how many rows were marked."""
    done = conn.execute(update(STATE).where(
        STATE.c.tenant_id == tenant_id, STATE.c.lease_owner.is_(None),
        or_(STATE.c.last_error_at.is_(None), STATE.c.last_error_at < since),
    ).values(last_error=error, last_error_at=now, consecutive_errors=STATE.c.consecutive_errors + 1))
    return int(done.rowcount or 0)


def counter(name: str, by: int) -> Any:
    """``column + by`` for :func:`save_progress`."""
    return STATE.c[name] + by

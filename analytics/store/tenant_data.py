"""Erasing a tenant: every row the store holds under its ``tenant_id``, in the caller's transaction.

Table-driven from the store's metadata: every table of :mod:`analytics.store.models` leads its primary key with
``tenant_id``, so a table added there later is erased without a change here (a test checks that every table of
the migrated database is one of them). Children are deleted before their parents, so every table's count is its
own rows rather than what ``ON DELETE CASCADE`` removed silently, and tables without a foreign key (activity
sightings, participants, rollups: see :class:`~analytics.store.models.ActivitySource`) are covered like the rest.

The ``sync_state`` rows go first, with ``RETURNING`` their leases: deleting them takes the rows' locks (a
concurrent claim either committed before, and its lease is seen, or finds no row afterwards), so the lease check
and the removal are one atomic step on PostgreSQL and SQLite alike. A sync worker whose rows vanished under it
fails its next page commit (its lease renewal finds no row) instead of writing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, MetaData, Table, delete, select

from analytics.errors import TenantBeingSynced
from analytics.store import models

TENANT_KEY = "tenant_id"
_STATE = models.table_of(models.SyncState)
_TENANT = models.table_of(models.Tenant)
_MODEL = models.table_of(models.ModelVersion)
_SECURE_DELETE_MODES = {0: "OFF", 1: "ON", 2: "FAST"}  # what reading the pragma returns, as it is set


@dataclass(frozen=True, slots=True)
class TenantOnRecord:
    """What the store holds about a tenant that matters before removing it (no secret)."""

    tenant_id: str
    registered: bool  # False: no ``tenant`` row, only rows left behind in other tables
    display_name: str
    client_id: str  # the Entra application whose consent the admin revokes in the tenant
    certificate_path: str | None  # a file on disk that the removal leaves alone
    model_ids: tuple[str, ...]  # scoring models, whose charts may have been written to disk


def tenant_tables(metadata: MetaData = models.metadata) -> list[Table]:
    """Every table keyed by tenant, children before parents (the reverse of the foreign-key order), and the
    ``tenant`` table last."""
    tables = [t for t in reversed(metadata.sorted_tables) if TENANT_KEY in t.c]
    # Tables unrelated by foreign keys come in name order; ``tenant`` is the root of every foreign key, so moving
    # it to the end keeps children before parents.
    return [t for t in tables if t.name != _TENANT.name] + [t for t in tables if t.name == _TENANT.name]


def describe_tenant(conn: Connection, tenant_id: str) -> TenantOnRecord | None:
    """The tenant as the store knows it, or None when no table holds a row of it.

    A tenant whose ``tenant`` row is gone may still have rows elsewhere (a sync that wrote after a forced
    removal): those are found too, so that they can be erased.
    """
    row = conn.execute(select(_TENANT.c.display_name, _TENANT.c.client_id, _TENANT.c.certificate_path)
                       .where(_TENANT.c.tenant_id == tenant_id)).first()
    if row is None and not any(_holds_rows(conn, t, tenant_id) for t in tenant_tables()):
        return None
    model_ids = conn.execute(select(_MODEL.c.model_id).where(_MODEL.c.tenant_id == tenant_id)
                             .order_by(_MODEL.c.model_id)).scalars().all()
    return TenantOnRecord(tenant_id=tenant_id, registered=row is not None,
                          display_name=row.display_name if row is not None else "",
                          client_id=row.client_id if row is not None else "",
                          certificate_path=row.certificate_path if row is not None else None,
                          model_ids=tuple(model_ids))


def _holds_rows(conn: Connection, table: Table, tenant_id: str) -> bool:
    return conn.execute(select(table.c[TENANT_KEY]).where(table.c[TENANT_KEY] == tenant_id).limit(1)).first() \
        is not None


@dataclass(frozen=True, slots=True)
class HeldLease:
    """A mailbox of the tenant that a sync worker has leased (its rows are being synced right now)."""

    mailbox_id: str
    owner: str
    expires_at: datetime


def held_leases(conn: Connection, tenant_id: str, now: datetime) -> list[HeldLease]:
    """The tenant's mailboxes under a lease unexpired at ``now``, one per mailbox (its latest expiry)."""
    rows = conn.execute(select(_STATE.c.mailbox_id, _STATE.c.lease_owner, _STATE.c.lease_expires_at).where(
        _STATE.c.tenant_id == tenant_id, _STATE.c.lease_owner.is_not(None), _STATE.c.lease_expires_at > now))
    return _per_mailbox((r.mailbox_id, r.lease_owner, r.lease_expires_at) for r in rows)


def _per_mailbox(rows: Iterator[tuple[str, str | None, datetime | None]]) -> list[HeldLease]:
    latest: dict[str, HeldLease] = {}
    for mailbox_id, owner, expires_at in rows:
        if owner is None or expires_at is None:
            continue
        seen = latest.get(mailbox_id)
        if seen is None or expires_at > seen.expires_at:
            latest[mailbox_id] = HeldLease(mailbox_id, owner, expires_at)
    return [latest[m] for m in sorted(latest)]


def remove_tenant_data(conn: Connection, tenant_id: str, *, now: datetime, force: bool = False) -> dict[str, int]:
    """Delete every row of ``tenant_id`` from every table, the ``tenant`` row last; returns rows per table.

    Runs in the caller's transaction and commits nothing: the caller commits, and any failure (or Ctrl-C) before
    that leaves the tenant whole. Unless ``force``, raises :class:`TenantBeingSynced` when a lease unexpired at
    ``now`` is held on one of its mailboxes; the caller must then roll back (the rows are already deleted in the
    transaction). On SQLite the deleted content is overwritten in the file rather than left in free pages.
    """
    counts: dict[str, int] = {}
    with _secure_delete(conn):
        leases = conn.execute(delete(_STATE).where(_STATE.c.tenant_id == tenant_id).returning(
            _STATE.c.mailbox_id, _STATE.c.lease_owner, _STATE.c.lease_expires_at)).all()
        counts[_STATE.name] = len(leases)
        held = _per_mailbox((m, o, e) for m, o, e in leases if e is not None and e > now)
        if held and not force:
            raise TenantBeingSynced(tenant_id, tuple(h.mailbox_id for h in held),
                                    tuple(sorted({h.owner for h in held})), max(h.expires_at for h in held))
        for table in tenant_tables():
            if table.name != _STATE.name:
                done = conn.execute(delete(table).where(table.c[TENANT_KEY] == tenant_id))
                counts[table.name] = int(done.rowcount or 0)
    return counts


@contextmanager
def _secure_delete(conn: Connection) -> Iterator[None]:
    """On SQLite, zero deleted content (``PRAGMA secure_delete``) for the statements inside, then restore the
    connection's setting. Without it the erased rows stay readable in the file's free pages until reused.

    After a failure the setting stays on (only stricter): the connection may be unusable until rolled back (an
    interrupted statement invalidates it), and a statement here would hide the failure.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = _SECURE_DELETE_MODES.get(int(conn.exec_driver_sql("PRAGMA secure_delete").scalar_one()), "OFF")
    conn.exec_driver_sql("PRAGMA secure_delete = ON")
    yield
    conn.exec_driver_sql(f"PRAGMA secure_delete = {previous}")

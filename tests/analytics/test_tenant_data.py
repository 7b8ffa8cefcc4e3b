"""Erasing a tenant from the store: every table, children first, one transaction, refused while a sync holds it.

The rows here are made generically from the table definitions (one per table and tenant), so a table added to
the models later is filled and erased by these tests without a change; tests/graph_sync/test_tenants_remove.py
fills the store through the real sync, analytics, scoring and bot code instead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    LargeBinary,
    String,
    event,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from analytics.errors import TenantBeingSynced
from analytics.store import models
from analytics.store.tenant_data import describe_tenant, held_leases, remove_tenant_data, tenant_tables
from analytics.store.types import UTCDateTime

GONE = "aaaaaaaa-0000-4000-8000-000000000001"
KEPT = "bbbbbbbb-0000-4000-8000-000000000002"
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MARKER = "erase-me-7f3a9c"  # a value only the removed tenant's rows hold, looked for in the SQLite file


def _value(column: Column[Any], tenant_id: str) -> Any:
    kind = column.type
    if column.name == "tenant_id":
        return tenant_id
    if isinstance(kind, UTCDateTime):
        return AT
    if isinstance(kind, TypeDecorator):  # sqlmodel's AutoString: a String underneath
        kind = kind.impl_instance
    if isinstance(kind, String):
        # Same text for the same column name in every table, so composite foreign keys (account_domain →
        # account, opportunity_stage → opportunity) find their parent row.
        text = f"{column.name}-{MARKER if tenant_id == GONE else 'kept'}"
        return text[: kind.length] if kind.length else text
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return 7
    if isinstance(kind, Float):
        return 0.5
    if isinstance(kind, Date):
        return date(2026, 11, 2)
    if isinstance(kind, JSON):
        return {"tenant": tenant_id}
    if isinstance(kind, LargeBinary):
        return b"\x01\x02"
    raise AssertionError(f"no test value for {column.table.name}.{column.name} ({kind!r}): add one here")


def _fill(engine: Engine, *tenant_ids: str) -> None:
    """One row per table and tenant, parents first."""
    with engine.begin() as conn:
        for tenant_id in tenant_ids:
            for table in models.metadata.sorted_tables:
                conn.execute(table.insert().values({c.name: _value(c, tenant_id) for c in table.columns}))


def _counts(engine: Engine, tenant_id: str) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t).where(t.c.tenant_id == tenant_id))
                            .scalar_one()) for t in tenant_tables()}


def _rows(engine: Engine, tenant_id: str) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t).where(t.c.tenant_id == tenant_id)))
                for t in tenant_tables()}


@pytest.fixture
def filled(engine: Engine) -> Engine:
    _fill(engine, GONE, KEPT)
    return engine


def test_every_table_of_the_migrated_store_is_keyed_by_tenant_and_erased(engine: Engine) -> None:
    without_key = [t.name for t in models.metadata.sorted_tables if "tenant_id" not in t.c]
    assert not without_key, f"tables without tenant_id: {without_key} (decide how `tenants remove` erases them)"
    erased = {t.name for t in tenant_tables()}
    assert erased == {t.name for t in models.metadata.sorted_tables}
    # The database as the migrations build it: no table there that the models (and so the removal) miss.
    live = inspect(engine)
    assert set(live.get_table_names()) - {"alembic_version"} == erased
    for name in erased:
        assert "tenant_id" in {c["name"] for c in live.get_columns(name)}, name


def test_children_are_erased_before_their_parents() -> None:
    order = [t.name for t in tenant_tables()]
    assert order[-1] == "tenant"
    for table in tenant_tables():
        for fk in table.foreign_keys:
            assert order.index(table.name) < order.index(fk.column.table.name), (table.name, fk.target_fullname)


def test_removal_erases_every_row_of_the_tenant_and_none_of_another(filled: Engine) -> None:
    kept = _rows(filled, KEPT)
    with filled.begin() as conn:
        counts = remove_tenant_data(conn, GONE, now=AT)
    assert counts == {t.name: 1 for t in tenant_tables()}  # each table's own row, none by a cascade
    assert set(_counts(filled, GONE).values()) == {0}
    assert _rows(filled, KEPT) == kept
    with filled.connect() as conn:
        assert describe_tenant(conn, GONE) is None


class _Interrupt:
    """Raises ``error`` as the removal issues its ``after``-th DELETE (tables before it already deleted)."""

    def __init__(self, engine: Engine, error: BaseException, after: int) -> None:
        self.engine, self.error, self.after, self.deletes = engine, error, after, 0

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            self.deletes += 1
            if self.deletes == self.after:
                raise self.error

    def __enter__(self) -> _Interrupt:
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self)


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()], ids=["failure", "ctrl-c"])
def test_a_failure_or_ctrl_c_midway_leaves_the_tenant_whole(filled: Engine, error: BaseException) -> None:
    before = {tid: _rows(filled, tid) for tid in (GONE, KEPT)}
    middle = len(tenant_tables()) // 2
    with _Interrupt(filled, error, after=middle) as interrupt, pytest.raises(type(error)), \
            filled.begin() as conn:
        remove_tenant_data(conn, GONE, now=AT)
    assert interrupt.deletes == middle
    assert {tid: _rows(filled, tid) for tid in (GONE, KEPT)} == before


def _lease(engine: Engine, tenant_id: str, owner: str | None, expires_at: datetime | None) -> None:
    state = models.table_of(models.SyncState)
    with engine.begin() as conn:
        conn.execute(update(state).where(state.c.tenant_id == tenant_id)
                     .values(lease_owner=owner, lease_expires_at=expires_at))


def test_an_unexpired_lease_refuses_the_removal_and_removes_nothing(filled: Engine) -> None:
    _lease(filled, GONE, "sync-host:4242", AT + timedelta(seconds=90))
    before = _rows(filled, GONE)
    with filled.connect() as conn:
        held = held_leases(conn, GONE, AT)
    assert [(h.owner, h.expires_at) for h in held] == [("sync-host:4242", AT + timedelta(seconds=90))]
    with pytest.raises(TenantBeingSynced) as refused, filled.begin() as conn:
        remove_tenant_data(conn, GONE, now=AT)
    assert refused.value.owners == ("sync-host:4242",) and refused.value.until == AT + timedelta(seconds=90)
    assert _rows(filled, GONE) == before


def test_an_expired_lease_does_not_hold_the_tenant_and_force_overrides_a_live_one(filled: Engine) -> None:
    _lease(filled, GONE, "dead-worker", AT - timedelta(seconds=1))  # its worker died: the lease ran out
    _lease(filled, KEPT, "sync-host:4242", AT + timedelta(seconds=90))
    with filled.connect() as conn:
        assert held_leases(conn, GONE, AT) == []
    with filled.begin() as conn:
        assert remove_tenant_data(conn, GONE, now=AT)["tenant"] == 1
    with filled.begin() as conn:
        assert remove_tenant_data(conn, KEPT, now=AT, force=True)["sync_state"] == 1
    assert set(_counts(filled, GONE).values()) == set(_counts(filled, KEPT).values()) == {0}


def test_rows_left_without_a_tenant_row_are_found_and_erased(filled: Engine) -> None:
    tenant = models.table_of(models.Tenant)
    with filled.connect() as conn:
        assert describe_tenant(conn, "cccccccc-0000-4000-8000-000000000003") is None
        on_record = describe_tenant(conn, GONE)
    assert on_record is not None and on_record.registered and on_record.model_ids
    with filled.begin() as conn:  # what a forced removal can leave: rows a running sync wrote afterwards
        for table in tenant_tables():
            if table.name not in ("sync_state", "conversation_ref"):
                conn.execute(table.delete().where(table.c.tenant_id == GONE))
        assert conn.execute(select(tenant.c.tenant_id).where(tenant.c.tenant_id == GONE)).first() is None
    with filled.connect() as conn:
        left = describe_tenant(conn, GONE)
    assert left is not None and not left.registered
    with filled.begin() as conn:
        assert {k: v for k, v in remove_tenant_data(conn, GONE, now=AT).items() if v} == {
            "sync_state": 1, "conversation_ref": 1}


@pytest.mark.sqlite_only
def test_on_sqlite_the_erased_rows_are_not_left_readable_in_the_file(filled: Engine, db_url: str) -> None:
    path = Path(db_url.removeprefix("sqlite:///"))
    with filled.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert MARKER.encode() in path.read_bytes()
    with filled.connect() as conn:
        conn.exec_driver_sql("PRAGMA secure_delete = OFF")  # SQLite's usual default; the removal turns it on
        conn.commit()
        with conn.begin():
            remove_tenant_data(conn, GONE, now=AT)
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar_one() == 0  # the connection's setting is back
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert MARKER.encode() not in path.read_bytes()
    assert b"column-kept" not in path.read_bytes() and b"-kept" in path.read_bytes()

"""A tenant's bulk load (its first sync) refreshes PostgreSQL's planner statistics at once.

Statistics gathered before a tenant existed estimate its rows at one per table; the planner then nested loops
over whole tables and a scoring read of the new tenant took minutes (the suite hung on it once, test order
deciding). The worker analyses the synced tables after a pass that wrote many rows, and only then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from graph_sync import worker as worker_module
from graph_sync.tenants import add_tenant
from tests.conftest import IS_POSTGRES
from tests.graph_sync.support import NOW, emulator, register, run_pass


@pytest.mark.parametrize(("threshold", "analysed"), [(1, True), (10**9, False)])
def test_a_pass_that_wrote_many_rows_analyses_the_synced_tables(
        engine: Engine, trimmed_tenant: Path, monkeypatch: pytest.MonkeyPatch, threshold: int, analysed: bool) -> None:
    calls: list[Engine] = []
    monkeypatch.setattr(worker_module, "BULK_LOAD_ROWS", threshold)
    monkeypatch.setattr(worker_module, "analyze_after_bulk_load", lambda e: calls.append(e) or True)
    state = emulator(trimmed_tenant)
    register(engine, state)
    assert run_pass(engine, state).upserted
    assert bool(calls) is analysed


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's planner statistics")
def test_after_a_first_sync_the_new_tenant_is_no_longer_estimated_at_one_row(
        engine: Engine, trimmed_tenant: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = "11111111-1111-4111-8111-111111111111"
    add_tenant(engine, tenant_id=other, client_id="c", client_secret="s", now=NOW)
    with engine.begin() as conn:  # statistics gathered while only another tenant had activities
        conn.exec_driver_sql(
            "INSERT INTO activity (tenant_id, activity_id, dedup_key, kind, start_at, duration_minutes, direction, "
            "is_reply, is_bulk, is_cancelled, attributes, updated_at) SELECT %s, g, 'k' || g, 'email', "
            "now() - g * interval '1 hour', 0, 'out', false, false, false, '{}', now() "
            "FROM generate_series(1, 5000) g", (other,))
        conn.exec_driver_sql("ANALYZE activity")
    monkeypatch.setattr(worker_module, "BULK_LOAD_ROWS", 1)  # the trimmed tenant's first sync is a small one
    state = emulator(trimmed_tenant)
    register(engine, state)
    synced = run_pass(engine, state).upserted
    with engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) SELECT * FROM activity WHERE tenant_id = %s",
                                    (state.tenant_id,)).scalar_one()
    estimate = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]["Plan Rows"]
    assert estimate > synced / 10  # one row before the analysis

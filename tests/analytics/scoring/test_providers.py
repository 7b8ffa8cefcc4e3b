"""The relationship-KPI provider works in bulk: its query count does not grow with the records of a chunk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from analytics.scoring.dataset import load_records
from analytics.scoring.providers import RelationshipKpiProvider
from tests.analytics.scoring.synth import NOW
from tests.analytics.scoring.test_service import _import


def test_relationship_kpis_cost_a_fixed_number_of_queries_per_chunk(engine: Engine, tenant_id: str,
                                                                    tmp_path: Path) -> None:
    _import(engine, tenant_id, tmp_path)
    with engine.connect() as conn:
        records = load_records(conn, tenant_id, "lead")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    provider = RelationshipKpiProvider(engine, 90, chunk=250)
    event.listen(engine, "before_cursor_execute", count)
    try:
        few = provider.features(tenant_id, "lead", records[:20], NOW)
        n_few = len(statements)
        many = provider.features(tenant_id, "lead", records[:240], NOW)
        n_many = len(statements) - n_few
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(few) == 20 and len(many) == 240
    assert 0 < n_many == n_few <= 12  # batched: 12 times the records, the same queries

"""Planner statistics after bulk loads (analytics.store.statistics): the tables named exist, PostgreSQL analyses
them, SQLite has nothing to do, and a large CRM import asks for it (a small one does not)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from analytics.scoring import importer
from analytics.scoring.mapping import load_mapping
from analytics.store.models import metadata
from analytics.store.statistics import CRM_TABLES, SYNCED_TABLES, analyze_after_bulk_load
from tests.analytics.scoring.synth import LEAD_MAPPING, lead_rows, to_csv


def test_the_tables_named_are_the_stores(engine: Engine) -> None:
    assert set(SYNCED_TABLES) | set(CRM_TABLES) <= set(metadata.tables)
    assert analyze_after_bulk_load(engine) is analyze_after_bulk_load(engine, CRM_TABLES) is (
        engine.dialect.name == "postgresql")


@pytest.mark.parametrize(("threshold", "analysed"), [(1, True), (10**9, False)])
def test_a_large_crm_import_refreshes_the_statistics_of_the_crm_tables(
        engine: Engine, tenant_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int,
        analysed: bool) -> None:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(importer, "BULK_LOAD_ROWS", threshold)
    monkeypatch.setattr(importer, "analyze_after_bulk_load", lambda _e, tables: calls.append(tables) or True)
    (tmp_path / "map.toml").write_text(LEAD_MAPPING, encoding="utf-8")
    (tmp_path / "leads.csv").write_text(to_csv(lead_rows(50)), encoding="utf-8")
    importer.import_file(engine, tenant_id, tmp_path / "leads.csv", load_mapping(tmp_path / "map.toml"), "lead")
    assert calls == ([CRM_TABLES] if analysed else [])

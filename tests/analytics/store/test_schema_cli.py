from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from analytics.store.engine import make_engine
from analytics.store.schema import head_revision
from bot.cli import build_app
from tests.conftest import BACKEND_URL, IS_POSTGRES


@pytest.fixture
def empty_database_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, on the backend under test."""
    if not IS_POSTGRES:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    schema = f"empty_{uuid.uuid4().hex[:8]}"
    admin = make_engine(BACKEND_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{BACKEND_URL}?options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def run(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args), env={"RAPPORT_DATABASE_URL": url})
    return result.exit_code, result.output


def test_db_upgrade_creates_the_schema_and_status_says_current(empty_database_url: str) -> None:
    code, out = run(empty_database_url, "db", "status")
    assert code == 1 and "behind" in out
    code, out = run(empty_database_url, "db", "upgrade")
    assert code == 0 and f"to {head_revision()}" in out
    code, out = run(empty_database_url, "db", "status")
    assert code == 0 and "current" in out
    code, out = run(empty_database_url, "db", "upgrade")
    assert code == 0 and "already current" in out


def test_migrations_match_the_table_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from analytics.store.models import metadata

    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diffs == []


def test_every_primary_key_and_index_leads_with_tenant_id() -> None:
    from analytics.store.models import metadata

    for table in metadata.sorted_tables:
        assert table.primary_key.columns.keys()[0] == "tenant_id", table.name
        for index in table.indexes:
            assert index.columns.keys()[0] == "tenant_id", (table.name, index.name)


def test_a_bad_database_url_is_a_configuration_error() -> None:
    code, _ = run("mysql+nothing:///x", "db", "status")
    assert code != 0

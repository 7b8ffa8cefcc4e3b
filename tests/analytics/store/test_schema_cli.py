from __future__ import annotations

from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from analytics.store.schema import head_revision
from bot.cli import build_app


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

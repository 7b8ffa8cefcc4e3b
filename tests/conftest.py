"""Shared fixtures: a migrated database per test, on SQLite or on the PostgreSQL named by the environment.

``RAPPORT_TEST_DATABASE_URL`` selects the backend (``make test`` runs the suite twice, once each):

* unset or ``sqlite``: a migrated SQLite file is built once per session and copied for every test;
* a ``postgresql+psycopg://`` URL: the session creates its own schema there (so parallel runs never meet),
  migrates it once, and every test starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from analytics.store import models
from analytics.store.engine import make_engine
from analytics.store.schema import upgrade

BACKEND_URL = os.environ.get("RAPPORT_TEST_DATABASE_URL", "sqlite")
IS_POSTGRES = BACKEND_URL.startswith("postgresql")


def pytest_report_header(config: pytest.Config) -> str:
    return f"rapport test database: {'PostgreSQL ' + BACKEND_URL if IS_POSTGRES else 'SQLite (file per test)'}"


def _uses_database(item: pytest.Item) -> bool:
    return "db_url" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL run only the tests that touch a database: the rest already ran in the SQLite pass."""
    if IS_POSTGRES:
        keep = [i for i in items if _uses_database(i) and "sqlite_only" not in i.keywords]
        dropped = [i for i in items if i not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (RAPPORT_TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if IS_POSTGRES:
        schema = f"rapport_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = make_engine(BACKEND_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in BACKEND_URL else "?"
        url = f"{BACKEND_URL}{sep}options={quote(f'-csearch_path={schema}')}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    else:
        template = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        yield str(template)


@pytest.fixture
def db_url(_migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a migrated, empty database for this test."""
    if IS_POSTGRES:
        yield _migrated_database
        engine = make_engine(_migrated_database)
        names = ", ".join(f'"{t.name}"' for t in models.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
        engine.dispose()
    else:
        path = tmp_path / "rapport.db"
        shutil.copyfile(_migrated_database, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def tenant_id(engine: Engine, now: datetime) -> str:
    """A tenant row to hang data on."""
    tid = "11111111-2222-3333-4444-555555555555"
    with engine.begin() as conn:
        conn.execute(models.Tenant.__table__.insert().values(
            tenant_id=tid, display_name="Contoso", created_at=now, granted_scopes=[], options={}))
        conn.execute(models.TenantDomain.__table__.insert().values(tenant_id=tid, domain="contoso.com",
                                                                  is_default=True))
    return tid

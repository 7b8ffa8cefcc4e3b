"""Fixtures of the store's tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from analytics.store.engine import make_engine
from tests.conftest import BACKEND_URL, IS_POSTGRES


@pytest.fixture
def empty_database_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, on the backend under test (on PostgreSQL a fresh schema, dropped after)."""
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

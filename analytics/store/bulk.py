"""Bulk ``INSERT … ON CONFLICT`` that is fast on both backends.

* SQLite: the driver's ``executemany`` (a C loop over one prepared statement) is the fastest path; when rows
  must come back we let SQLAlchemy batch them into multi-row ``VALUES … RETURNING``.
* PostgreSQL: one statement per batch, ``INSERT … SELECT … FROM unnest(%(c1)s::bigint[], …)``, with one array
  parameter per column. A multi-row ``VALUES`` list of 1,000 rows has 9,000 placeholders that both psycopg and
  the server must parse and plan on every call; ``unnest`` keeps the statement text constant and tiny, so it is
  prepared once per connection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Connection, Date, Float, Integer, Table, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.elements import ColumnElement

from analytics.store.types import UTCDateTime

_SQL_CACHE: dict[tuple[Any, ...], str] = {}


def _pg_type(column: Any) -> str:
    t = column.type
    if isinstance(t, UTCDateTime):
        return "timestamp"
    if isinstance(t, BigInteger):
        return "bigint"
    if isinstance(t, Integer):
        return "integer"
    if isinstance(t, Float):
        return "float8"
    if isinstance(t, Boolean):
        return "boolean"
    if isinstance(t, Date):
        return "date"
    if type(t).__name__ in ("JSON", "JSONB", "Variant") or getattr(t, "_variant_mapping", None):
        return "jsonb"
    return "text"


def _pg_value(pg_type: str, value: Any) -> Any:
    if value is None:
        return None
    if pg_type == "jsonb":
        return json.dumps(value)
    if pg_type == "timestamp" and isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store takes timezone-aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def bulk_insert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    update: Mapping[str, str] | None = None,
    returning: str | None = None,
) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys); on a conflict on ``conflict`` do nothing, or apply ``update``.

    ``update`` maps a column to an SQL expression over the existing row (named by the table's name) and
    ``excluded``, e.g. ``{"n": "counts.n + excluded.n"}``. Returns the ``returning`` column of the rows actually inserted or updated
    (an empty list when ``returning`` is None).
    """
    if not rows:
        return []
    columns = list(rows[0].keys())
    if conn.dialect.name == "postgresql":
        return _pg_bulk(conn, table, rows, columns, conflict, update, returning)
    stmt = sqlite.insert(table)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(conflict), set_={k: text(v) for k, v in update.items()}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    if returning is None:
        conn.execute(stmt, list(rows))
        return []
    col: ColumnElement[Any] = table.c[returning]
    return list(conn.execute(stmt.returning(col), list(rows)).scalars().all())


def _pg_bulk(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    columns: list[str],
    conflict: Sequence[str],
    update: Mapping[str, str] | None,
    returning: str | None,
) -> list[Any]:
    types = [_pg_type(table.c[c]) for c in columns]
    key = (table.name, tuple(columns), tuple(conflict), tuple(sorted((update or {}).items())), returning)
    sql = _SQL_CACHE.get(key)
    if sql is None:
        arrays = ", ".join(
            f"CAST(:{c} AS {'text' if t == 'jsonb' else t}[])" for c, t in zip(columns, types, strict=True)
        )
        select_list = ", ".join(
            f"u.{c}::jsonb" if t == "jsonb" else f"u.{c}" for c, t in zip(columns, types, strict=True)
        )
        action = (
            "DO UPDATE SET " + ", ".join(f"{k} = {v}" for k, v in update.items()) if update else "DO NOTHING"
        )
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"SELECT {select_list} FROM unnest({arrays}) AS u({', '.join(columns)}) "
            f"ON CONFLICT ({', '.join(conflict)}) {action}"
        )
        if returning:
            sql += f" RETURNING {table.name}.{returning}"
        _SQL_CACHE[key] = sql
    params = {
        c: [_pg_value(t, r[c]) for r in rows] for c, t in zip(columns, types, strict=True)
    }
    result = conn.execute(text(sql), params)
    return list(result.scalars().all()) if returning else []

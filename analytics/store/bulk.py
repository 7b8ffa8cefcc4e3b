"""Bulk ``INSERT … ON CONFLICT`` that is fast on both backends.

* SQLite: the driver's ``executemany`` (a C loop over one prepared statement) with values converted here once:
  SQLAlchemy's per-row parameter processing would cost more than the insert itself. ``executemany`` cannot
  return rows, so "which rows were new" is answered by a look-up first; SQLite has a single writer, and a
  concurrent writer slipping in between makes the transaction fail (``SQLITE_BUSY_SNAPSHOT``), never miscount.
* PostgreSQL: one statement per batch, ``INSERT … SELECT … FROM unnest(%(c1)s::bigint[], …)``, with one array
  parameter per column. A multi-row ``VALUES`` list of 1,000 rows has 9,000 placeholders that both psycopg and
  the server must parse and plan on every call; ``unnest`` keeps the statement text constant and tiny, so it is
  prepared once per connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import BigInteger, Boolean, Connection, Date, Float, Integer, Table

from analytics.store.types import UTCDateTime


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
    columns = tuple(rows[0].keys())
    kinds = _kinds(table, columns)
    form = driver_form(conn)
    values = _driver_values(form, rows, columns, kinds)
    return insert_values(conn, table, columns, values, conflict=conflict, update=update, returning=returning)


@dataclass(frozen=True, slots=True)
class DriverForm:
    """How Python values are handed to the backend's driver: for callers that build row tuples themselves
    (the ingest's hot path), so each value is converted once, where it is made, instead of per column here."""

    dialect: str
    timestamp: Callable[[datetime], Any]  # an aware datetime
    day: Callable[[date], Any]
    json: Callable[[Any], Any]


def _pg_timestamp(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the store takes timezone-aware datetimes only")
    return value.astimezone(UTC).replace(tzinfo=None)


def driver_form(conn: Connection) -> DriverForm:
    """The :class:`DriverForm` of ``conn``'s backend (booleans, numbers and text pass as they are on both)."""
    return _PG_FORM if conn.dialect.name == "postgresql" else _SQLITE_FORM


def insert_values(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    *,
    conflict: Sequence[str],
    update: Mapping[str, str] | None = None,
    returning: str | None = None,
) -> list[Any]:
    """:func:`bulk_insert` for rows already in :func:`driver_form` (tuples in ``columns`` order).

    With ``returning`` (a ``(tenant_id, key)`` conflict, DO NOTHING only), SQLite learns the new keys from a
    look-up and then inserts only those rows: the rows it skips would have been conflicts doing nothing.
    """
    if not rows:
        return []
    kinds = _kinds(table, columns)
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    # SQLite's executemany cannot return rows: there, new keys come from a look-up (see _sqlite_new_keys).
    sql = _statement(dialect, table.name, columns, kinds, tuple(conflict), tuple((update or {}).items()),
                     returning if dialect == "postgresql" else None)
    if dialect == "postgresql":
        return _pg_execute(conn, sql, rows, returning)
    new: list[Any] = []
    if returning:
        at = columns.index(returning)
        new = _sqlite_new_keys(conn, table, rows, columns, conflict, update, returning)
        fresh = set(new)
        rows = [r for r in rows if r[at] in fresh]
    if rows:
        conn.exec_driver_sql(sql, rows)
    return new


@lru_cache(maxsize=256)
def _kinds(table: Table, columns: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_pg_type(table.c[c]) for c in columns)


def _sqlite_timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the store takes timezone-aware datetimes only")
    v = value if value.tzinfo is UTC else value.astimezone(UTC)
    # SQLAlchemy's SQLite DATETIME format, microseconds always present, so text order is time order.
    return v.replace(tzinfo=None).isoformat(" ", "microseconds")


_SQLITE_FORM = DriverForm("sqlite", _sqlite_timestamp, date.isoformat, json.dumps)
_PG_FORM = DriverForm("postgresql", _pg_timestamp, lambda d: d, json.dumps)


def _driver_values(form: DriverForm, rows: Sequence[Mapping[str, Any]], columns: tuple[str, ...],
                   kinds: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Row tuples in column order, converting only the columns whose Python type the driver cannot take."""
    converters: dict[str, Callable[[Any], Any]] = {"timestamp": form.timestamp, "jsonb": form.json,
                                                   "date": form.day}
    getter = itemgetter(*columns)
    convert = [(i, converters[k]) for i, k in enumerate(kinds) if k in converters]
    if len(columns) == 1:
        return [(getter(r),) for r in rows]
    if not convert:
        return [getter(r) for r in rows]
    out: list[tuple[Any, ...]] = []
    for r in rows:
        values = list(getter(r))
        for i, fn in convert:
            v = values[i]
            if v is not None:
                values[i] = fn(v)
        out.append(tuple(values))
    return out


@lru_cache(maxsize=256)
def _statement(
    dialect: str,
    table: str,
    columns: tuple[str, ...],
    types: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[tuple[str, str], ...],
    returning: str | None,
) -> str:
    """The upsert's SQL text: constant per table and column set, so the driver prepares it once."""
    names = ", ".join(columns)
    if dialect == "postgresql":
        # %b: parameters in binary format (no text quoting of every array element).
        arrays = ", ".join(f"%b::{'text' if t == 'jsonb' else t}[]" for t in types)
        select_list = ", ".join(f"u.{c}::jsonb" if t == "jsonb" else f"u.{c}" for c, t in zip(columns, types,
                                                                                              strict=True))
        source = f"SELECT {select_list} FROM unnest({arrays}) AS u({names})"
    else:
        source = f"VALUES ({', '.join('?' * len(columns))})"
    action = "DO UPDATE SET " + ", ".join(f"{k} = {v}" for k, v in update) if update else "DO NOTHING"
    sql = f"INSERT INTO {table} ({names}) {source} ON CONFLICT ({', '.join(conflict)}) {action}"
    return sql + f" RETURNING {table}.{returning}" if returning else sql


def _sqlite_new_keys(
    conn: Connection,
    table: Table,
    rows: Sequence[tuple[Any, ...]],
    columns: tuple[str, ...],
    conflict: Sequence[str],
    update: Mapping[str, str] | None,
    returning: str,
) -> list[Any]:
    """The ``returning`` keys of ``rows`` not yet in ``table`` (what the insert is about to add)."""
    if update or list(conflict) != ["tenant_id", returning]:
        raise ValueError("returning= is supported for (tenant_id, key) conflicts with DO NOTHING only")
    t_at, k_at = columns.index("tenant_id"), columns.index(returning)
    tenants = {r[t_at] for r in rows}
    if len(tenants) != 1:
        raise ValueError("one tenant per bulk insert")
    tenant = tenants.pop()
    wanted = list(dict.fromkeys(r[k_at] for r in rows))
    existing: set[Any] = set()
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        q = (f"SELECT {returning} FROM {table.name} WHERE tenant_id = ? AND {returning} IN "
             f"({', '.join('?' * len(chunk))})")
        existing.update(r[0] for r in conn.exec_driver_sql(q, (tenant, *chunk)))
    return [k for k in wanted if k not in existing]


def _pg_execute(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]], returning: str | None) -> list[Any]:
    params = [list(column) for column in zip(*rows, strict=True)]
    # Straight to the driver with binary parameters: psycopg's text array format quotes every element through
    # a regular expression, which costs more than the server's work on the rows.
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()] if returning else []
    finally:
        cursor.close()

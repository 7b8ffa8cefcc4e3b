"""Engines for the store: SQLite (embedded default) or PostgreSQL, configured once per process."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import create_engine

from analytics.errors import ConfigError


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets the bot read while a sync writes; NORMAL sync is durable across process crashes (not power loss
    # of the last transaction), which is what the sync's exactly-once guarantee needs; busy_timeout turns
    # writer contention into waiting instead of "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def shown_url(url: str) -> str:
    """``url`` with its password masked, for messages: a wrong URL must not put the password on screen or in logs."""
    return _PASSWORD.sub(r"\1***@", url)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite files get WAL and foreign keys, PostgreSQL a modest pool."""
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise ConfigError("RAPPORT_DATABASE_URL", "an SQLAlchemy URL such as sqlite:///./rapport.db",
                          shown_url(url)) from err
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:  # a file where a folder should be, or no permission
                raise ConfigError("RAPPORT_DATABASE_URL", f"a SQLite file in a folder that can be created "
                                  f"({err.strerror})", url) from err
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":  # plain postgresql:// means psycopg2 to SQLAlchemy; we ship psycopg 3
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, echo=echo, pool_size=5, max_overflow=10, pool_pre_ping=True)
    raise ConfigError("RAPPORT_DATABASE_URL", "a sqlite:// or postgresql:// URL", shown_url(url))

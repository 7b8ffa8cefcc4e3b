"""Alembic environment: runs against the connection or URL handed over by :mod:`analytics.store.schema`."""

from __future__ import annotations

from alembic import context

from analytics.store import models

config = context.config
target_metadata = models.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # pragma: no cover - we always pass a connection
        raise RuntimeError("analytics.store.schema passes a connection to Alembic")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()

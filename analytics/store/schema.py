"""Schema versions: Alembic upgrade and status, without an ``alembic.ini`` in the working directory."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

from analytics.errors import SchemaNotCurrent

UPGRADE_LOCK_KEY = 0x52415050  # "RAPP": the PostgreSQL advisory lock held while the schema is upgraded


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("analytics.store") / "migrations"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


@dataclass(frozen=True)
class SchemaStatus:
    backend: str
    current: str | None
    head: str

    @property
    def is_current(self) -> bool:
        return self.current == self.head


def schema_status(engine: Engine) -> SchemaStatus:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return SchemaStatus(backend=engine.dialect.name, current=current, head=head_revision())


def upgrade(engine: Engine, revision: str = "head") -> SchemaStatus:
    """Bring the database to ``revision`` (the latest by default); a current database is left alone."""
    cfg = _config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Replicas or containers that each run `rapport db upgrade` as they start: the first migrates, the
            # others wait for its commit here and then find the schema current (without the lock they raced it and
            # failed on duplicate tables). The lock is released with this transaction.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return schema_status(engine)


def require_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is behind the code."""
    status = schema_status(engine)
    if not status.is_current:
        raise SchemaNotCurrent(status.current, status.head)

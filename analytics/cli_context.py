"""What every ``rapport`` command receives: the settings, and resources opened on first use and closed once.

The ``rapport`` app is assembled in ``bot/cli.py``; each package contributes a Typer group whose commands read
this object from ``ctx.obj``. Keeping it in the bottom layer lets every group use it without importing upward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from analytics.settings import Settings
from analytics.store.engine import make_engine


@dataclass
class CliContext:
    settings: Settings
    console: Console = field(default_factory=Console)
    err: Console = field(default_factory=lambda: Console(stderr=True))
    _engine: Engine | None = None
    _schema_checked: bool = False
    _closers: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def engine(self) -> Engine:
        """The store, checked once to be at the code's schema revision (``SchemaNotCurrent`` otherwise): a command
        on an older schema (a release installed, ``rapport db upgrade`` not yet run) would fail half-way with an
        SQL error, or write rows the newer tables expect differently."""
        engine = self.unchecked_engine
        if not self._schema_checked:
            # alembic is imported only by the commands that use the store
            from analytics.store.schema import require_current

            require_current(engine)
            self._schema_checked = True
        return engine

    @property
    def unchecked_engine(self) -> Engine:
        """The store whatever its schema revision (for ``rapport db``, which inspects and upgrades it)."""
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
            self._closers.append(self._engine.dispose)
        return self._engine

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()


def cli_context(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliContext):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("rapport commands run under the rapport app")
    return obj


def as_of_time(value: str | None, option: str = "--as-of") -> datetime:
    """A command's reference time: now when not given, else ISO 8601 (a date, or a date-time; naive is UTC).

    The CLI is a composition root, the one place that reads the clock. Here rather than in a command module so
    that any command can read ``--as-of`` alike without importing another group (``analytics.cli`` loads
    matplotlib)."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise typer.BadParameter(f"{value!r} is not an ISO date-time", param_hint=option) from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

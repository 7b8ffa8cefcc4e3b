"""What every ``rapport`` command receives: the settings, and resources opened on first use and closed once.

The ``rapport`` app is assembled in ``bot/cli.py``; each package contributes a Typer group whose commands read
this object from ``ctx.obj``. Keeping it in the bottom layer lets every group use it without importing upward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
    _closers: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def engine(self) -> Engine:
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

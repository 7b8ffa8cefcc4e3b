"""The ``rapport`` command line, assembled from the command groups each package owns."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.exc import OperationalError
from typer.core import TyperGroup

from analytics.cli_context import CliContext
from analytics.errors import ConfigError, RapportError
from analytics.settings import load_settings

# Command name -> (module, attribute). The attribute is a Typer sub-app (a group) or a command function. They
# are imported only when that command runs: importing every group (scikit-learn, spaCy, botbuilder, msgraph)
# made every `rapport` invocation pay about 7 s before doing anything.
COMMANDS: dict[str, tuple[str, str]] = {
    "db": ("analytics.store.cli", "app"),
    "tenants": ("graph_sync.cli", "tenants_app"),
    "sync": ("graph_sync.cli", "sync_app"),
    "analytics": ("analytics.cli", "app"),
    "health": ("analytics.cli", "health_cmd"),
    "who-knows": ("analytics.cli", "who_knows_cmd"),
    "users": ("analytics.users_cli", "app"),
    "scoring": ("analytics.scoring.cli", "app"),
    "notes": ("analytics.nlp.cli", "app"),
    "emulator": ("graph_sync.emulator.cli", "app"),
    "serve": ("bot.serve", "serve"),
    "digest": ("bot.digest.cli", "app"),
    "manifest": ("appmanifest.cli", "app"),
    "demo": ("bot.demo", "demo"),
    "chat": ("bot.chat", "chat"),
}


def load_command(name: str) -> Any:
    """Import the command or group registered as ``name`` and turn it into a (typer-vendored) click command."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name
        return group
    single = typer.Typer(add_completion=False)  # completion belongs to the root command, not each one
    single.command(name)(target)
    command = typer.main.get_command(single)
    command.name = name
    return command


class LazyRootGroup(TyperGroup):
    """The root group: lists every command, imports one only when it is used (or when help shows them all)."""

    # Typed loosely: typer vendors its own click, whose classes are private to it.
    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands.get(cmd_name)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="rapport",
        help="Rapport: relationship intelligence for Microsoft 365 sales teams.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        cls=LazyRootGroup,
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        config: Path | None = typer.Option(None, "--config", help="TOML settings file (else RAPPORT_CONFIG)."),
    ) -> None:
        settings = load_settings(config_file=config)
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # httpx logs every request line at INFO: each Graph page, with its delta and skip tokens (a mailbox's
        # sync position), thousands a pass. Its warnings still show; DEBUG (RAPPORT_LOG_LEVEL) shows the rest.
        logging.getLogger("httpx").setLevel(logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING)
        context = CliContext(settings=settings)
        ctx.obj = context
        ctx.call_on_close(context.close)

    return app


def main() -> None:
    app = build_app()
    try:
        app(standalone_mode=True)
    except ConfigError as err:
        typer.echo(f"rapport: configuration error: {err}", err=True)
        raise SystemExit(2) from err
    except RapportError as err:
        typer.echo(f"rapport: {err}", err=True)
        raise SystemExit(1) from err
    except OperationalError as err:  # the database is unreachable, missing, or refused us
        logging.getLogger(__name__).debug("database error", exc_info=err)
        typer.echo(f"rapport: {database_problem(err)}", err=True)
        raise SystemExit(1) from err


def database_problem(err: OperationalError) -> str:
    """What went wrong with the database, in the driver's words, and what to check.

    Only the driver's message is quoted: SQLAlchemy's own text appends the statement and its parameters, which
    can hold tenant secrets being written."""
    lines = str(err.orig).strip().splitlines() if err.orig is not None else []
    detail = lines[0] if lines else type(err).__name__
    return (f"the database could not be used: {detail}\n"
            "Check RAPPORT_DATABASE_URL, that the server is running and that the database exists "
            "(docs/deploy.md, 1. The store).")

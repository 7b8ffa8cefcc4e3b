"""The ``rapport`` command line, assembled from the command groups each package owns."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from analytics.cli import register as register_analytics
from analytics.cli_context import CliContext
from analytics.errors import ConfigError, RapportError
from analytics.nlp.cli import app as notes_app
from analytics.scoring.cli import app as scoring_app
from analytics.settings import load_settings
from analytics.store.cli import app as db_app
from appmanifest.cli import app as manifest_app
from bot.chat import chat as chat_command
from bot.demo import demo as demo_command
from bot.digest.cli import app as digest_app
from bot.serve import serve as serve_command
from graph_sync.cli import sync_app, tenants_app
from graph_sync.emulator.cli import app as emulator_app


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="rapport",
        help="Rapport: relationship intelligence for Microsoft 365 sales teams.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        config: Path | None = typer.Option(None, "--config", help="TOML settings file (else RAPPORT_CONFIG)."),
    ) -> None:
        settings = load_settings(config_file=config)
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)
        context = CliContext(settings=settings)
        ctx.obj = context
        ctx.call_on_close(context.close)

    app.add_typer(db_app, name="db")
    app.add_typer(scoring_app, name="scoring")
    app.add_typer(notes_app, name="notes")
    app.add_typer(emulator_app, name="emulator")
    app.add_typer(tenants_app, name="tenants")
    app.add_typer(sync_app, name="sync")
    app.command("serve")(serve_command)
    app.add_typer(digest_app, name="digest")
    app.add_typer(manifest_app, name="manifest")
    app.command("chat")(chat_command)
    app.command("demo")(demo_command)
    register_analytics(app)
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

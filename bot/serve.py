"""``rapport serve [--dev]``: run the bot's aiohttp application."""

from __future__ import annotations

import typer
from aiohttp import web

from analytics.cli_context import cli_context
from analytics.store.schema import require_current
from bot.app import create_app
from bot.digest.scheduler import attach_scheduler
from bot.wiring import production_features


def serve(ctx: typer.Context,
          dev: bool = typer.Option(False, "--dev", help="Anonymous, loopback-only development mode.")) -> None:
    """Serve /api/messages (authentication on unless --dev, which binds to 127.0.0.1)."""
    context = cli_context(ctx)
    settings = context.settings
    if dev:
        settings = settings.with_overrides(bot_host="127.0.0.1")
    require_current(context.engine)
    app = create_app(settings, context.engine, dev=dev, features=production_features(settings, context.engine))
    if not dev:  # the weekly digests (RAPPORT_DIGEST_SCHEDULE); --dev has no credentials for proactive sends
        attach_scheduler(app, settings, context.engine)
    context.err.print(f"rapport bot on http://{settings.bot_host}:{settings.bot_port}/api/messages"
                      + (" (dev mode: no authentication)" if dev else ""))
    web.run_app(app, host=settings.bot_host, port=settings.bot_port, print=None)

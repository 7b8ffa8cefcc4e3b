"""``rapport digest send [--dry-run]``: the managers' weekly digests, now."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime

import typer

from analytics.cli_context import cli_context
from analytics.query import RelationshipQueries
from bot.digest.queue import SendQueue
from bot.digest.send import plan_digests, send_plan
from bot.storage import StoreConversations, StoreDirectory, StorePredictions
from bot.teams_sdk.runtime import build_messenger
from bot.web.chart_links import ChartLinks

app = typer.Typer(help="Managers' weekly digest cards.", no_args_is_help=True)


@app.command("send")
def send(ctx: typer.Context,
         dry_run: bool = typer.Option(False, "--dry-run", help="Build the cards and say who would get them."),
         tenant: list[str] = typer.Option([], "--tenant", help="Only these tenants (default: every active one).")
         ) -> None:
    """Send each manager (who installed the bot) the digest of their reporting chain."""
    context = cli_context(ctx)
    settings, engine = context.settings, context.engine
    directory = StoreDirectory(engine)
    conversations = StoreConversations(engine)
    tenants = tenant or sorted({r.tenant_id for r in conversations.all_personal()
                                if directory.tenant_is_active(r.tenant_id)})
    secret = settings.secret_key.encode("utf-8")
    charts = ChartLinks(secret, settings.bot_public_url) if settings.bot_public_url and secret else None
    now = datetime.now(UTC)
    plan = plan_digests(tenants, directory=directory, conversations=conversations,
                        relationships=RelationshipQueries(engine, settings), predictions=StorePredictions(engine),
                        charts=charts, now=now)
    for record, _, view in plan.jobs:
        typer.echo(f"{record.tenant_id} {view.manager_name}: {len(view.declining)} declining, "
                   f"{len(view.hot_leads)} hot leads, {len(view.stuck_deals)} stuck deals")
    for tenant_id, manager_id in plan.unreachable:
        typer.echo(f"{tenant_id} {manager_id}: not reachable (the bot is not installed for them)")
    if dry_run:
        typer.echo(f"dry run: {len(plan.jobs)} digest(s) not sent")
        return
    messenger = build_messenger(settings, conversations)
    queue = SendQueue(send=messenger.send, clock=time.monotonic, sleep=asyncio.sleep, random=random.random,
                      wall_clock=time.time)
    outcomes = asyncio.run(send_plan(plan, queue))
    failed = [o for o in outcomes if not o.delivered]
    typer.echo(f"sent {len(outcomes) - len(failed)} of {len(outcomes)} digest(s)")
    for o in failed:
        typer.echo(f"failed: {o.conversation_id} after {o.attempts} attempts (last status {o.last_status})")
    if failed:
        raise typer.Exit(1)

"""``rapport digest send [--dry-run] [--force]``: the managers' weekly digests, now (once a week each)."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime

import typer
from sqlalchemy import select
from sqlalchemy.engine import Engine

from analytics.cli_context import cli_context
from analytics.query import RelationshipQueries
from analytics.store import models
from bot.digest.manual import Result, review, send_reviewed
from bot.digest.queue import SendQueue
from bot.digest.scheduler import DigestLedger, Slot
from bot.digest.send import plan_digests
from bot.storage import StoreConversations, StoreDirectory, StorePredictions
from bot.teams_sdk.runtime import build_messenger
from bot.web.chart_links import ChartLinks

app = typer.Typer(help="Managers' weekly digest cards.", no_args_is_help=True)


def now() -> datetime:
    """The wall clock (tests replace it)."""
    return datetime.now(UTC)


@app.command("send")
def send(ctx: typer.Context,
         dry_run: bool = typer.Option(False, "--dry-run", help="Build the cards and say who would get them."),
         tenant: list[str] = typer.Option([], "--tenant", help="Only these tenants (default: every active one)."),
         force: bool = typer.Option(False, "--force", help="Send even to managers whose digest already went out "
                                    "this week (by the scheduler or an earlier run).")
         ) -> None:
    """Send each manager (who installed the bot) the digest of their reporting chain, once a week.

    Shares the weekly ledger with the scheduler of ``rapport serve``: managers already sent this week's digest
    are skipped (and named) unless ``--force``.
    """
    context = cli_context(ctx)
    settings, engine = context.settings, context.engine
    slot = Slot.from_settings(settings)
    directory = StoreDirectory(engine)
    conversations = StoreConversations(engine)
    ledger = DigestLedger(engine)
    # Every active tenant, not only those with a conversation: before anyone installed the bot, the run then names
    # the managers it cannot reach instead of reporting "0 digests" with no reason.
    tenants = tenant or _active_tenants(engine)
    secret = settings.secret_key.encode("utf-8")
    charts = ChartLinks(secret, settings.bot_public_url) if settings.bot_public_url and secret else None
    started = now()
    plan = plan_digests(tenants, directory=directory, conversations=conversations,
                        relationships=RelationshipQueries(engine, settings), predictions=StorePredictions(engine),
                        charts=charts, now=started)
    pending = review(plan, slot=slot, ledger=ledger, directory=directory, now=started)
    for p in pending:
        view = p.view
        refused = p.refused
        note = "" if refused is None else (f" — {refused} (week of {p.week}): "
                                           + ("sending anyway (--force)" if force else "skipped"))
        typer.echo(f"{p.tenant_id} {view.manager_name}: {len(view.declining)} declining, "
                   f"{len(view.hot_leads)} hot leads, {len(view.stuck_deals)} stuck deals{note}")
    for tenant_id, manager_id in plan.unreachable:
        typer.echo(f"{tenant_id} {manager_id}: not reachable (the bot is not installed for them)")
    due = [p for p in pending if force or p.refused is None]
    if dry_run:
        typer.echo(f"dry run: {len(due)} digest(s) not sent, {len(pending) - len(due)} already sent this week")
        return
    messenger = build_messenger(settings, conversations)
    queue = SendQueue(send=messenger.send, clock=time.monotonic, sleep=asyncio.sleep, random=random.random,
                      wall_clock=time.time)
    results = asyncio.run(send_reviewed(pending, ledger=ledger, queue=queue, clock=now, force=force))
    report(results)


def _active_tenants(engine: Engine) -> list[str]:
    table = models.table_of(models.Tenant)
    with engine.connect() as conn:
        return list(conn.execute(select(table.c.tenant_id).where(table.c.status == "active")
                                 .order_by(table.c.tenant_id)).scalars())


def report(results: list[Result]) -> None:
    """Print what a run did; exit 1 if any digest could not be delivered."""
    sent = [r for r in results if r.outcome is not None]
    failed = [r for r in sent if r.outcome is not None and not r.outcome.delivered]
    for r in results:
        if r.outcome is None:
            typer.echo(f"skipped: {r.pending.tenant_id} {r.pending.view.manager_name} — {r.reason} "
                       f"(week of {r.pending.week}; --force sends anyway)")
    typer.echo(f"sent {len(sent) - len(failed)} of {len(sent)} digest(s)"
               + (f", {len(results) - len(sent)} skipped" if len(results) > len(sent) else ""))
    for r in failed:
        assert r.outcome is not None
        typer.echo(f"failed: {r.outcome.conversation_id} after {r.outcome.attempts} attempts "
                   f"(last status {r.outcome.last_status})")
    if failed:
        raise typer.Exit(1)

"""``rapport digest send [--dry-run] [--force] [--as-of T] [--out DIR]``: the managers' weekly digests, now (once a
week each).

A dry run prints every card that would go out as text (the renderer of ``rapport chat``), so an admin can read the
digests before enabling them; ``--out DIR`` writes each card's Adaptive Card JSON (for the Adaptive Cards designer).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy import select
from sqlalchemy.engine import Engine

from analytics.cli_context import as_of_time, cli_context
from analytics.query import RelationshipQueries
from analytics.store import models
from bot.chat import render_card
from bot.digest.manual import Pending, Result, review, send_reviewed
from bot.digest.queue import SendQueue
from bot.digest.scheduler import DigestLedger, Slot
from bot.digest.send import plan_digests
from bot.storage import StoreConversations, StoreDirectory, StorePredictions
from bot.web.chart_links import ChartLinks

app = typer.Typer(help="Managers' weekly digest cards.", no_args_is_help=True)

INDENT = "    "
_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]")


def now() -> datetime:
    """The wall clock (tests replace it)."""
    return datetime.now(UTC)


@app.command("send")
def send(ctx: typer.Context,
         dry_run: bool = typer.Option(False, "--dry-run", help="Show each card that would be sent, as text; send "
                                      "nothing and record nothing."),
         tenant: list[str] = typer.Option([], "--tenant", help="Only these tenants (default: every active one)."),
         force: bool = typer.Option(False, "--force", help="Send even to managers whose digest already went out "
                                    "this week (by the scheduler or an earlier run)."),
         as_of: str | None = typer.Option(None, "--as-of", help="With --dry-run: build the cards and read the weekly "
                                          "ledger as of this ISO date-time (naive: UTC), e.g. a demo's clock. "
                                          "Default: now."),
         out: Path | None = typer.Option(None, "--out", file_okay=False, help="Also write each card's Adaptive "
                                         "Card JSON to DIR/<tenant>/<manager email>.json (for the Adaptive Cards "
                                         "designer)."),
         ) -> None:
    """Send each manager (who installed the bot) the digest of their reporting chain, once a week.

    Shares the weekly ledger with the scheduler of ``rapport serve``: managers already sent this week's digest
    are skipped (and named) unless ``--force``.
    """
    context = cli_context(ctx)
    if as_of is not None and not dry_run:
        # A sent digest is this week's in the ledger: built as of another day, it would use up the week's digest
        # with a card dated elsewhere (and claim the wrong week if the ledger followed --as-of).
        raise typer.BadParameter("only with --dry-run (a digest that is sent counts as this week's, so it is "
                                 "built as of now)", param_hint="--as-of")
    started = as_of_time(as_of) if as_of is not None else now()  # read as `rapport health --as-of`
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
    plan = plan_digests(tenants, directory=directory, conversations=conversations,
                        relationships=RelationshipQueries(engine, settings), predictions=StorePredictions(engine),
                        charts=charts, now=started)
    pending = review(plan, slot=slot, ledger=ledger, directory=directory, now=started)
    due = [p for p in pending if force or p.refused is None]
    if out is not None:
        # Before anything is sent: a folder that cannot be written stops the run with nothing sent or claimed.
        write_cards(out, due)
    for p in pending:
        typer.echo(headline(p, force))
        if dry_run and (force or p.refused is None) and p.reply.card is not None:
            typer.echo("\n".join(INDENT + line for line in render_card(p.reply.card)) + "\n")
    for manager in plan.unreachable:
        typer.echo(f"{manager.tenant_id} {named(manager.display_name, manager.email)}: not reachable "
                   "(the bot is not installed for them)")
    if out is not None:
        typer.echo(f"wrote {count(len(due), 'card')} to {out}")
    if dry_run:
        typer.echo(dry_run_summary(len(due), len(pending) - len(due), len(plan.unreachable)))
        return
    # Imported here: the Bot Framework SDK is only needed to send (a dry run starts without it).
    from bot.teams_sdk.runtime import build_messenger

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


def count(n: int, noun: str) -> str:
    """``1 digest``, ``2 digests``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def named(name: str, email: str | None) -> str:
    """A manager as an admin knows them: name and address (an id tells them nothing)."""
    return f"{name} <{email}>" if email else name


def headline(p: Pending, force: bool) -> str:
    """One line per planned digest: the manager, what their card holds, and whether the ledger lets it go."""
    view = p.view
    note = "" if p.refused is None else (f" — {p.refused} (week of {p.week}): "
                                         + ("sending anyway (--force)" if force else "skipped"))
    return (f"{p.tenant_id} {named(view.manager_name, view.manager_email)}: {len(view.declining)} declining, "
            f"{count(len(view.hot_leads), 'hot lead')}, {count(len(view.stuck_deals), 'stuck deal')}{note}")


def dry_run_summary(due: int, skipped: int, unreachable: int) -> str:
    parts = [f"{count(due, 'digest')} would be sent"]
    if skipped:
        parts.append(f"{skipped} skipped (--force sends {'it' if skipped == 1 else 'them'})")
    if unreachable:
        parts.append(f"{count(unreachable, 'manager')} not reachable")
    return "dry run, nothing sent: " + ", ".join(parts)


def card_path(out: Path, p: Pending) -> Path:
    """``out/<tenant>/<manager email or id>.json``: one folder per tenant, as two tenants (two demos) may have
    managers with the same address."""
    name = _UNSAFE.sub("_", p.view.manager_email or p.manager_id)
    return out / _UNSAFE.sub("_", p.tenant_id) / f"{name}.json"


def write_cards(out: Path, due: Sequence[Pending]) -> None:
    """Each card's Adaptive Card JSON, as the designer (adaptivecards.io/designer) takes it."""
    try:
        for p in due:
            if p.reply.card is None:  # a digest is always a card; nothing to write for anything else
                continue
            path = card_path(out, p)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(p.reply.card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except OSError as err:
        typer.echo(f"rapport digest send: cannot write the cards under {out}: {err.strerror or err}"
                   f"{f' ({err.filename})' if err.filename else ''}; nothing was sent", err=True)
        raise typer.Exit(1) from err


def report(results: list[Result]) -> None:
    """Print what a run did; exit 1 if any digest could not be delivered."""
    sent = [r for r in results if r.outcome is not None]
    failed = [r for r in sent if r.outcome is not None and not r.outcome.delivered]
    for r in results:
        if r.outcome is None:
            typer.echo(f"skipped: {r.pending.tenant_id} {r.pending.view.manager_name} — {r.reason} "
                       f"(week of {r.pending.week}; --force sends anyway)")
    summary = f"sent {len(sent) - len(failed)} of {count(len(sent), 'digest')}" if sent else "no digest sent"
    typer.echo(summary + (f", {len(results) - len(sent)} skipped" if len(results) > len(sent) else ""))
    for r in failed:
        assert r.outcome is not None
        typer.echo(f"failed: {r.pending.tenant_id} {r.pending.view.manager_name} (conversation "
                   f"{r.outcome.conversation_id}) after {r.outcome.attempts} attempts "
                   f"(last status {r.outcome.last_status})")
    if failed:
        raise typer.Exit(1)

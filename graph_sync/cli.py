"""``rapport tenants`` and ``rapport sync``: register tenants, run the sync once or continuously, show health."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import typer
from rich.table import Table
from sqlalchemy import func, select

from analytics.cli_context import cli_context
from analytics.store import models
from graph_sync.progress import LogProgress, ProgressSink, RichProgress
from graph_sync.tenants import DEFAULT_AUTHORITY, DEFAULT_GRAPH, add_tenant, list_tenants
from graph_sync.worker import PassReport, build_worker

tenants_app = typer.Typer(help="Tenants whose mailboxes are synced.", no_args_is_help=True)
sync_app = typer.Typer(help="Harvest mailbox and calendar metadata from Microsoft Graph.",
                       invoke_without_command=True)
STATE = models.table_of(models.SyncState)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@tenants_app.command("add")
def tenants_add(
    ctx: typer.Context,
    tenant_id: str = typer.Argument(..., help="Directory (tenant) id."),
    client_id: str = typer.Option(..., "--client-id", help="Application (client) id of the Rapport app."),
    client_secret: str | None = typer.Option(None, "--client-secret", help="Client secret."),
    certificate: Path | None = typer.Option(None, "--certificate", help="PEM certificate with private key."),
    graph_base_url: str = typer.Option(DEFAULT_GRAPH, "--graph-base-url", help="Graph base URL (emulator)."),
    authority: str = typer.Option(DEFAULT_AUTHORITY, "--authority", help="Token authority (emulator)."),
    name: str = typer.Option("", "--name", help="Display name."),
    subject_policy: str | None = typer.Option(None, "--subject-policy", help="drop, hash or keep."),
    scopes: str = typer.Option("", "--scopes", help="Granted application permissions, comma-separated."),
) -> None:
    """Register (or update) a tenant: a client secret or a certificate, and optionally the emulator's URLs."""
    c = cli_context(ctx)
    if not _GUID.fullmatch(tenant_id):
        # Everything is keyed by the tenant id, and admin consent records the GUID: a domain or a typo here would
        # become a second, unreachable tenant.
        raise typer.BadParameter(f"the directory (tenant) id is a GUID, not {tenant_id!r}", param_hint="TENANT_ID")
    tenant_id = tenant_id.lower()  # as admin consent records it
    for hint, url in (("--graph-base-url", graph_base_url), ("--authority", authority)):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise typer.BadParameter(f"an http(s) URL such as {DEFAULT_AUTHORITY}, not {url!r}", param_hint=hint)
    if bool(client_secret) == bool(certificate):
        raise typer.BadParameter("give exactly one of --client-secret and --certificate")
    policy = subject_policy or c.settings.subject_policy
    if policy not in ("drop", "hash", "keep"):
        raise typer.BadParameter("drop, hash or keep", param_hint="--subject-policy")
    emulator = not authority.startswith("https://")
    t = add_tenant(c.engine, tenant_id=tenant_id, client_id=client_id, client_secret=client_secret,
                   certificate_path=str(certificate) if certificate else None, graph_base_url=graph_base_url,
                   authority=authority, display_name=name, subject_policy=policy,
                   granted_scopes=[s.strip() for s in scopes.split(",") if s.strip()], emulator=emulator,
                   now=datetime.now(UTC))
    c.console.print(f"Tenant {t.tenant_id} saved ({t.auth_kind}, {t.graph_base_url}).")


@tenants_app.command("list")
def tenants_list(ctx: typer.Context) -> None:
    """List registered tenants (secrets are never shown)."""
    c = cli_context(ctx)
    table = Table("tenant", "name", "status", "auth", "graph", "subjects")
    for t in list_tenants(c.engine):
        table.add_row(t.tenant_id, t.display_name, t.status, t.auth_kind, t.graph_base_url, t.subject_policy)
    c.console.print(table)


def _progress(ctx: typer.Context) -> ProgressSink:
    c = cli_context(ctx)
    return RichProgress(c.err) if c.err.is_terminal else LogProgress()


def _print_report(ctx: typer.Context, report: PassReport) -> None:
    cli_context(ctx).console.print(
        f"Synced {report.mailboxes} mailboxes of {report.tenants} tenants: {report.upserted} items, "
        f"{report.removed} removals, {report.pages} pages, {report.rejected} rejected, {report.resyncs} resyncs, "
        f"{report.mailboxes_failed} mailboxes with errors.")


@sync_app.callback()
def sync(
    ctx: typer.Context,
    watch: bool = typer.Option(False, "--watch", help="Keep syncing, pausing --interval between passes."),
    interval: float | None = typer.Option(None, "--interval", help="Seconds between passes (with --watch)."),
) -> None:
    """One pass over every mailbox of every tenant (or, with --watch, pass after pass until stopped)."""
    if ctx.invoked_subcommand is not None:
        return
    c = cli_context(ctx)

    async def run() -> PassReport | None:
        async with build_worker(c.settings, engine=c.engine, progress=_progress(ctx)) as worker:
            if not watch:
                return await worker.run_once()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await worker.run_watch(stop, interval)
            return None

    report = asyncio.run(run())
    if report is not None:
        _print_report(ctx, report)
        # A tenant that failed before any mailbox (bad credentials, unreachable Graph, missing secret key) counts
        # no failed mailbox, so its errors are shown here rather than only in the log.
        for error in report.errors:
            cli_context(ctx).err.print(f"error: {error}", markup=False, highlight=False)
        if report.mailboxes_failed or report.errors:
            raise typer.Exit(1)


@sync_app.command("status")
def status(ctx: typer.Context) -> None:
    """Per mailbox: last success, last error, counts and lag."""
    c = cli_context(ctx)
    now = datetime.now(UTC)
    q = select(STATE.c.tenant_id, STATE.c.mailbox_id, func.min(STATE.c.last_success_at),
               func.max(STATE.c.last_error_at), func.max(STATE.c.last_error), func.sum(STATE.c.items_synced),
               func.sum(STATE.c.items_removed), func.sum(STATE.c.pages_synced), func.sum(STATE.c.resyncs),
               func.max(STATE.c.lease_owner), func.max(STATE.c.not_before)
               ).group_by(STATE.c.tenant_id, STATE.c.mailbox_id).order_by(STATE.c.tenant_id, STATE.c.mailbox_id)
    table = Table("tenant", "mailbox", "last success", "lag", "items", "removed", "pages", "resyncs", "owner",
                  "last error")
    with c.engine.connect() as conn:
        rows = conn.execute(q).all()
    for tid, mid, ok, err_at, err, items, removed, pages, resyncs, owner, not_before in rows:
        lag = _ago(now, ok) if ok else "never"
        error = f"{_ago(now, err_at)} ago: {err}" if err else ""
        if not_before is not None and not_before > now:
            error += f" (requeued {_ago(not_before, now)})"
        table.add_row(tid[:8], mid, ok.isoformat(timespec="seconds") if ok else "-", lag, str(items or 0),
                      str(removed or 0), str(pages or 0), str(resyncs or 0), owner or "", error[:80])
    c.console.print(table)
    if not rows:
        print("No mailboxes synced yet: add a tenant (`rapport tenants add`) and run `rapport sync`.",
              file=sys.stderr)


def _ago(now: datetime, then: datetime) -> str:
    seconds = int((now - then).total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"

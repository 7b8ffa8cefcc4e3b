"""``rapport tenants`` and ``rapport sync``: register tenants, run the sync once or continuously, show health."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from analytics.cli_context import cli_context
from analytics.errors import TenantBeingSynced
from analytics.store import models
from analytics.store.schema import require_current
from analytics.store.tenant_data import TenantOnRecord, describe_tenant, held_leases, remove_tenant_data
from graph_sync.progress import LogProgress, ProgressSink, RichProgress
from graph_sync.tenants import DEFAULT_AUTHORITY, DEFAULT_GRAPH, add_tenant, list_tenants
from graph_sync.worker import PassReport, SyncWorker, build_worker

tenants_app = typer.Typer(help="Tenants whose mailboxes are synced.", no_args_is_help=True)
sync_app = typer.Typer(help="Harvest mailbox and calendar metadata from Microsoft Graph.",
                       invoke_without_command=True)
STATE = models.table_of(models.SyncState)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
STATUS_WIDTH = 240  # `sync status` written to a pipe or file
# What stops a one-shot sync cleanly: Ctrl-C, and SIGTERM (systemd, Kubernetes, `timeout`). It then exits with
# 128 + the signal's number (130, 143), the status a shell reports for a process that signal ended.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            # Graph's SDK refuses a token over plain http to any other host (and a client secret must not
            # travel in clear): the sync would fail on every request. Plain http is the local emulator's.
            raise typer.BadParameter(f"https is required for {parts.hostname}: plain http is only for a Graph "
                                     "emulator on this machine (localhost, 127.0.0.1, ::1)", param_hint=hint)
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
    table = Table()
    # Whole, never cut: admins copy the id into other commands (a piped table is 80 columns wide)
    table.add_column("tenant", no_wrap=True, min_width=36)
    for header in ("name", "status", "auth", "graph", "subjects"):
        table.add_column(header)
    for t in list_tenants(c.engine):
        table.add_row(t.tenant_id, t.display_name, t.status, t.auth_kind, t.graph_base_url, t.subject_policy)
    c.console.print(table)


@tenants_app.command("remove")
def tenants_remove(
    ctx: typer.Context,
    tenant_id: str = typer.Argument(..., help="Directory (tenant) id."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask to type the tenant id (scripts)."),
    force: bool = typer.Option(False, "--force", help="Remove even while a sync holds leases on its mailboxes."),
) -> None:
    """Erase everything stored about a tenant (offboarding, deletion requests), in one transaction.

    Cannot be undone. The tenant's admin consent in Entra ID is not revoked: remove Rapport's enterprise app there.
    """
    c = cli_context(ctx)
    # The tables erased are the code's: on a schema behind (or ahead of) it, some would be missed or missing.
    require_current(c.engine)
    tenant_id = tenant_id.strip()
    if _GUID.fullmatch(tenant_id):
        tenant_id = tenant_id.lower()  # as `tenants add` and admin consent store it
    with c.engine.connect() as conn:
        on_record = describe_tenant(conn, tenant_id)
        leases = held_leases(conn, tenant_id, datetime.now(UTC)) if on_record else []
    if on_record is None:
        _fail(ctx, f"no tenant {tenant_id} in the store (`rapport tenants list` shows the registered ones).")
    if leases and not force:
        _fail(ctx, _syncing(tenant_id, len(leases), sorted({h.owner for h in leases}),
                            max(h.expires_at for h in leases)))
    if not yes:
        _confirm_removal(ctx, on_record)
    # Checked again inside the removal's transaction, atomically with it: a sync may have started since.
    with c.engine.connect() as conn:
        transaction = conn.begin()
        try:
            counts = remove_tenant_data(conn, tenant_id, now=datetime.now(UTC), force=force)
        except TenantBeingSynced as busy:
            transaction.rollback()
            _fail(ctx, _syncing(tenant_id, len(busy.mailboxes), busy.owners, busy.until))
        except KeyboardInterrupt:
            transaction.rollback()
            c.err.print(f"Interrupted: nothing was removed, tenant {tenant_id} is still whole.", markup=False,
                        highlight=False)
            raise typer.Exit(130) from None
        transaction.commit()
    _print_removal(ctx, on_record, counts, forced_leases=len(leases) if force else 0)


def _fail(ctx: typer.Context, message: str, *, status: int = 1) -> NoReturn:
    cli_context(ctx).err.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(status)


def _syncing(tenant_id: str, mailboxes: int, owners: Sequence[str], until: datetime) -> str:
    return (f"a sync ({', '.join(owners)}) is syncing {_mailboxes(mailboxes)} of tenant {tenant_id} right now "
            f"(leases until {until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC). Stop the sync first (a sync that was "
            "killed holds them until they expire), or pass --force to remove the tenant anyway.")


def _mailboxes(n: int) -> str:
    return f"{n} mailbox" if n == 1 else f"{n} mailboxes"


def _can_prompt() -> bool:
    return sys.stdin.isatty()


def _confirm_removal(ctx: typer.Context, on_record: TenantOnRecord) -> None:
    """Have the admin type the tenant id; with no terminal to type it on, a usage error (exit 2)."""
    if not _can_prompt():
        _fail(ctx, f"removing tenant {on_record.tenant_id} needs a confirmation, and there is no terminal to type "
                   "it on: pass --yes to remove it without one.", status=2)
    c = cli_context(ctx)
    name = f" ({on_record.display_name})" if on_record.display_name else ""
    c.console.print(f"This erases everything Rapport stores about tenant {on_record.tenant_id}{name}: mail and "
                    "calendar metadata, contacts, CRM records, scores, models, sync state and Teams conversations. "
                    "It cannot be undone.", markup=False, highlight=False)
    typed = typer.prompt("Type the tenant id to confirm")
    if typed.strip().lower() != on_record.tenant_id.lower():
        _fail(ctx, "the id typed is not the tenant's: nothing was removed.")


def _print_removal(ctx: typer.Context, on_record: TenantOnRecord, counts: dict[str, int], *,
                   forced_leases: int) -> None:
    c = cli_context(ctx)
    table = Table("table", "rows removed")
    removed = sorted(((n, name) for name, n in counts.items() if n), key=lambda item: (-item[0], item[1]))
    for n, name in removed:
        table.add_row(name, f"{n:,}")
    c.console.print(table)
    name = f" ({on_record.display_name})" if on_record.display_name else ""
    left = "" if on_record.registered else " (it was no longer registered: these rows were left behind)"

    def say(text: str) -> None:
        c.console.print(text, markup=False, highlight=False)

    say(f"Removed tenant {on_record.tenant_id}{name}: {sum(counts.values()):,} rows from {len(removed)} "
        f"tables{left}.")
    if forced_leases:
        say(f"A sync held leases on {_mailboxes(forced_leases)}: it cannot commit to them any more, but stop it, "
            "and run this command again if it wrote anything since.")
    app = f" (application id {on_record.client_id})" if on_record.client_id else ""
    say(f"Rapport cannot revoke the tenant's admin consent: in that tenant's Entra admin center, delete its "
        f"enterprise application (Enterprise applications → Rapport{app} → Properties → Delete), and remove any "
        "Exchange RBAC for Applications role assignments made for it.")
    if on_record.certificate_path:
        say(f"Its certificate file {on_record.certificate_path} was left in place (it may be the Graph credential "
            "every tenant uses): delete it if only this tenant used it.")
    charts = c.settings.tenant_charts_dir(on_record.tenant_id)
    if _GUID.fullmatch(on_record.tenant_id) and charts.is_dir():  # a GUID: the path is the tenant's own folder
        shutil.rmtree(charts)
        say(f"Removed its charts folder {charts}.")
    if on_record.model_ids:
        say(f"Charts that `rapport scoring report --out FOLDER` wrote elsewhere are not tracked: look there for "
            f"{', '.join(f'{m}-roc.png' for m in on_record.model_ids)} and their -calibration.png.")


def _progress(ctx: typer.Context) -> ProgressSink:
    c = cli_context(ctx)
    return RichProgress(c.err) if c.err.is_terminal else LogProgress()


def _print_report(ctx: typer.Context, report: PassReport) -> None:
    cli_context(ctx).console.print(
        f"Synced {report.mailboxes} mailboxes of {report.tenants} tenants: {report.upserted} items, "
        f"{report.removed} removals, {report.pages} pages, {report.rejected} rejected, {report.resyncs} resyncs, "
        f"{report.mailboxes_failed} mailboxes with errors"
        + (f", {report.requeued} resources waiting for Graph's Retry-After." if report.requeued else "."))


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

    async def run() -> tuple[PassReport, signal.Signals | None] | None:
        async with build_worker(c.settings, engine=c.engine, progress=_progress(ctx)) as worker:
            if not watch:
                return await _stoppable_pass(worker)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await worker.run_watch(stop, interval)
            return None

    result = asyncio.run(run())
    if result is not None:
        report, stopped_by = result
        if stopped_by is not None:
            cli_context(ctx).err.print(
                f"Sync stopped by {stopped_by.name} after finishing {_mailboxes(report.mailboxes)} "
                f"({report.upserted} items); leases released, the next `rapport sync` continues where this one "
                "stopped.",
                markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(128 + stopped_by)
        _print_report(ctx, report)
        # A tenant that failed before any mailbox (bad credentials, unreachable Graph, missing secret key) counts
        # no failed mailbox, so its errors are shown here rather than only in the log.
        for error in report.errors:
            cli_context(ctx).err.print(f"error: {error}", markup=False, highlight=False)
        if report.mailboxes_failed or report.errors:
            raise typer.Exit(1)


async def _stoppable_pass(worker: SyncWorker) -> tuple[PassReport, signal.Signals | None]:
    """One pass, and the signal that stopped it (None if it ran to its end).

    The first SIGINT or SIGTERM cancels the pass: its mailboxes stop while the page writer is still open and its
    leases are given back (how the worker ends any interrupted pass), so a later pass finds nothing held and
    nothing half-done. A second signal gets its default action, ending the process at once (its leases then
    expire after ``sync_lease_seconds``), for a stop that hangs.
    """
    loop = asyncio.get_running_loop()
    report = PassReport()
    task = asyncio.ensure_future(worker.run_once(report))
    stopped_by: list[signal.Signals] = []

    def stop(sig: signal.Signals) -> None:
        for s in STOP_SIGNALS:
            loop.remove_signal_handler(s)
        if not task.done():
            stopped_by.append(sig)
            task.cancel()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop, sig)
    try:
        await task
    except asyncio.CancelledError:
        if not stopped_by:  # cancelled from outside, not by a signal
            raise
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
    return report, (stopped_by[0] if stopped_by else None)


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
    # Ten columns do not fit the 80 that Rich assumes without a terminal: piped to a file or grep, every cell was
    # cut to a few characters. A terminal keeps its own width.
    (c.console if c.console.is_terminal else Console(file=c.console.file, width=STATUS_WIDTH)).print(table)
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

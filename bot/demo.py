"""``rapport demo``: the first-run pipeline on the bundled Graph emulator, then the bot in dev mode.

Steps: generate (or reuse) the synthetic demo tenant under the data directory → serve it with the Graph
emulator on loopback → a fresh demo database (``{data_dir}/demo.db``, SQLite) with the tenant registered →
one sync pass with progress bars → CRM import and analytics refresh → train the lead and opportunity scoring
models → the bot on ``127.0.0.1:3978`` (dev mode: anonymous, loopback only) with the production features
(:func:`bot.wiring.production_features`: relationships, notes whose create buttons write to the emulator with
the application permission, scores from the models just trained). ``--ask TEXT`` asks the bot one
question over the Bot Framework protocol, prints the answer and exits.

The demo world's clock starts at the tenant's reference time (``reference_now`` in ``ground_truth.json``,
2026-11-01) and runs forward from there, so health, trends and "next meeting" read as they were planted.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import secrets
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import typer
from aiohttp import web
from rich.console import Console
from sqlalchemy.engine import Engine

from analytics import health_views
from analytics.cli_context import cli_context
from analytics.refresh import full_refresh
from analytics.scoring import service
from analytics.scoring.errors import ScoringError
from analytics.scoring.providers import default_providers
from analytics.scoring.scores import GradeBands
from analytics.scoring.training import TrainingConfig
from analytics.settings import Settings
from analytics.store.engine import make_engine
from analytics.store.schema import upgrade
from bot.app import AppOptions, create_app
from bot.chat import DEMO_FILE, BotClient, Identity, LocalConnector, render_replies
from bot.wiring import production_features
from graph_sync.emulator import EmulatorState, serve_emulator
from graph_sync.progress import LogProgress, ProgressSink, RichProgress
from graph_sync.tenants import add_tenant
from graph_sync.worker import PassReport, build_worker

SEED = 7


@dataclass(frozen=True)
class DemoTenant:
    """The generated tenant and the facts the demo needs from its ground truth."""

    directory: Path
    tenant_id: str
    reference_now: datetime
    user_id: str  # the VP: sees every relationship, so every example works
    user_name: str
    examples: tuple[str, ...]


def tenant_directory(data_dir: Path, size: str) -> Path:
    return data_dir / ("demo-tenant" if size == "demo" else f"demo-tenant-{size}")


def ensure_tenant(data_dir: Path, size: str, say: Callable[[str], None]) -> DemoTenant:
    """Generate the tenant unless a complete one is already there (the generator is deterministic)."""
    from graph_sync.emulator.generator.version import is_current

    target = tenant_directory(data_dir, size)
    if not is_current(target, seed=SEED, size=size):  # missing, interrupted or from an older generator
        from graph_sync.emulator.generator import generate_tenant  # numpy-heavy: only when generating

        say(f"Generating the synthetic {size} tenant in {target} (seed {SEED}) …")
        if target.exists():
            shutil.rmtree(target)  # an interrupted earlier run, or a tenant an older generator wrote
        report = generate_tenant(target, seed=SEED, size=size)  # type: ignore[arg-type]
        say(f"  {report.users} users, {report.messages:,} messages, {report.meetings:,} meetings "
            f"in {report.seconds:.1f} s")
    else:
        say(f"Reusing the synthetic {size} tenant in {target}")
    truth = json.loads((target / "ground_truth.json").read_text(encoding="utf-8"))
    vp = next(u for u in truth["users"] if u["role"] == "vp")
    by_trajectory: dict[str, dict[str, Any]] = {}
    for account in truth["accounts"]:
        by_trajectory.setdefault(account["trajectory"], account)
    contact = next(c for c in truth["contacts"] if not c.get("free_mail"))
    # Domains, not names: a CRM account imported from opportunities is not linked to its mail domain yet.
    examples = [f"health of {by_trajectory[k]['domain']}" for k in ("declining", "improving") if k in by_trajectory]
    examples += [f"who knows {contact['email']}", "my opportunities"]
    open_deal = _first_open(target / "crm" / "opportunities.csv", "opportunity_id")
    if open_deal is not None:
        examples.append(f"score of opportunity {open_deal}")
    examples.append(f"note: call with {contact['email']}, send the proposal by Friday and meet again next "
                    "Tuesday at 10:00")
    if "steady" in by_trajectory:
        examples.append(f"{by_trajectory['steady']['domain']} 的健康度如何")
    return DemoTenant(target, truth["tenant"]["id"], datetime.fromisoformat(truth["reference_now"].replace("Z", "+00:00")),
                      vp["id"], vp["display_name"], tuple(examples))


def _first_open(path: Path, id_column: str) -> str | None:
    """The first open record of a generated CRM file (the score example), if any."""
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as f:
        return next((row[id_column] for row in csv.DictReader(f) if row.get("status") == "Open"), None)


class WorldClock:
    """The tenant's reference time plus the time elapsed since the demo started."""

    def __init__(self, start: datetime) -> None:
        self._start, self._t0 = start, time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)


def fresh_database(data_dir: Path) -> Engine:
    path = data_dir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


async def _sync(settings: Settings, engine: Engine, clock: WorldClock, progress: ProgressSink) -> PassReport:
    async with build_worker(settings, engine=engine, clock=clock, progress=progress) as worker:
        return await worker.run_once()


def _import_and_train(engine: Engine, tenant: DemoTenant, settings: Settings, now: datetime,
                      say: Callable[[str], None]) -> None:
    crm = tenant.directory / "crm"
    for record_type, name in (("lead", "leads"), ("opportunity", "opportunities")):
        summary = service.import_crm_file(engine, tenant.tenant_id, record_type, crm / f"{name}.csv",  # type: ignore[arg-type]
                                          crm / f"{name}.mapping.toml", now)
        say(f"  imported {summary.records:,} {name} ({summary.positives} won/qualified, {summary.negatives} lost, "
            f"{summary.open_records} open)")
    result = full_refresh(engine, tenant.tenant_id, settings, now=now)
    say(f"  health of {result.contacts:,} contacts, {result.accounts} accounts, {result.leads:,} leads, "
        f"{result.opportunities:,} opportunities")
    views = health_views.update_after_refresh(engine, tenant.tenant_id, settings, result, previous=None, now=now)
    if views.skipped is None:  # what `rapport analytics refresh` does: the bot serves these stored answers
        say(f"  {views.views:,} health answers stored in {views.seconds:.1f} s")
    config = TrainingConfig(window_days=settings.scoring_window_days, auc_bar=settings.scoring_auc_bar)
    providers = default_providers(engine, settings)
    started = time.monotonic()
    for record_type in ("lead", "opportunity"):
        try:
            outcome = service.train_and_publish(engine, tenant.tenant_id, record_type, now, config, providers)  # type: ignore[arg-type]
        except ScoringError as err:  # e.g. too few closed records in a small tenant: say so, keep going
            say(f"  {record_type} model not trained: {err}")
            continue
        m = outcome.model.metrics
        say(f"  {record_type} model: {m['algorithm']}, validation AUC {m['auc']:.3f} — "
            f"{'published' if outcome.decision.publish else 'not published'}")
        if outcome.decision.publish:
            # What `rapport scoring score` (or the daily pass of `scoring watch`) does: the managers' digests read
            # the stored scores (hot leads, stuck deals), and score cards compare with them. Without it the demo's
            # digest never had a hot lead or a stuck deal and every score read "New".
            try:
                scored = service.score_records(engine, tenant.tenant_id, record_type, now, providers,  # type: ignore[arg-type]
                                               _grade_bands(settings))
            except ScoringError as err:
                say(f"  open {_PLURAL[record_type]} not scored: {err}")
                continue
            say(f"  scored {len(scored):,} open {_PLURAL[record_type]}")
    say(f"  training took {time.monotonic() - started:.1f} s")


_PLURAL = {"lead": "leads", "opportunity": "opportunities"}


def _grade_bands(settings: Settings) -> GradeBands:
    """The deployment's grade bands; a wrong setting is the bot's start-up error, so the defaults stand in here."""
    try:
        return GradeBands.parse(settings.scoring_grade_bands)
    except ValueError:
        return GradeBands()


async def run_demo(settings: Settings, console: Console, err: Console, *, size: str, ask: list[str],
                   port: int, locale: str = "en-US") -> int:
    """The whole pipeline; serves until interrupted, or answers ``ask`` and returns."""
    started = time.monotonic()
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)

    def say(text: str) -> None:
        err.print(text, markup=False, highlight=False)

    tenant = await asyncio.to_thread(ensure_tenant, data_dir, size, say)
    clock = WorldClock(tenant.reference_now)
    state = await asyncio.to_thread(EmulatorState.from_directory, tenant.directory)
    client_id, client_secret = "rapport-demo", secrets.token_urlsafe(24)
    state.register_app(client_id=client_id, client_secret=client_secret)
    async with serve_emulator(state, "127.0.0.1", 0) as graph:
        say(f"Graph emulator for {tenant.tenant_id} on {graph}")
        engine = await asyncio.to_thread(fresh_database, data_dir)
        try:
            await asyncio.to_thread(add_tenant, engine, tenant_id=tenant.tenant_id, client_id=client_id,
                                    client_secret=client_secret, graph_base_url=graph + "/v1.0", authority=graph,
                                    display_name="Fabrikam Sales (demo)", subject_policy="keep", emulator=True,
                                    now=clock())
            say("Syncing every mailbox through Microsoft Graph (the emulator) …")
            progress: ProgressSink = RichProgress(err) if err.is_terminal else LogProgress()
            phase = time.monotonic()
            report = await _sync(settings, engine, clock, progress)
            say(f"  {report.mailboxes} mailboxes, {report.upserted:,} items in {report.pages:,} pages, "
                f"{report.mailboxes_failed} mailboxes with errors ({time.monotonic() - phase:.0f} s)")
            say("Importing CRM records, refreshing analytics, training scoring models …")
            phase = time.monotonic()
            await asyncio.to_thread(_import_and_train, engine, tenant, settings, clock(), say)
            say(f"  ({time.monotonic() - phase:.0f} s)")
            return await _serve_bot(settings, engine, tenant, clock, port, ask, started, console, say, locale)
        finally:
            engine.dispose()


async def _serve_bot(settings: Settings, engine: Engine, tenant: DemoTenant, clock: WorldClock, port: int,
                     ask: list[str], started: float, console: Console, say: Callable[[str], None],
                     locale: str = "en-US") -> int:
    # The demo binds `port` itself; no Teams client, so no SSO: note writes use the emulator's application grant.
    bot_settings = settings.with_overrides(bot_host="127.0.0.1", bot_sso_writes=False)
    app = create_app(bot_settings, engine, dev=True, features=production_features(bot_settings, engine),
                     options=AppOptions(clock=clock))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bot_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    ready = time.monotonic() - started
    try:
        (settings.data_dir / DEMO_FILE).write_text(json.dumps({
            "bot_url": bot_url, "tenant_id": tenant.tenant_id, "user_id": tenant.user_id,
            "user_name": tenant.user_name, "database_url": f"sqlite:///{settings.data_dir / 'demo.db'}",
        }, indent=2), encoding="utf-8")
        say(f"Ready in {ready:.1f} s: the bot is on {bot_url}/api/messages (dev mode, loopback only).")
        if ask:
            await _ask(bot_url, tenant, ask, console, locale)
            return 0
        say(f"\nTalk to it as {tenant.user_name} (VP of Sales) from another terminal:\n"
            "  rapport chat")
        for example in tenant.examples:
            # Replies follow the client's locale, as Teams sends it: a Chinese question gets a Chinese answer
            # from a zh-CN client.
            chinese = any("\u4e00" <= ch <= "\u9fff" for ch in example)
            say(f"      you> {example}" + ("   (Chinese replies: rapport chat --locale zh-CN)" if chinese else ""))
        say(f"or ask once: rapport demo --ask \"{tenant.examples[0]}\"\n"
            f"Inspect the data: RAPPORT_DATABASE_URL=sqlite:///{settings.data_dir / 'demo.db'} rapport health "
            f"\"{tenant.examples[0].removeprefix('health of ')}\" --as-of {tenant.reference_now.date()}\n"
            "Ctrl-C stops the bot and the emulator.")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        say("demo stopped")
        return 0
    finally:
        await runner.cleanup()


async def _ask(bot_url: str, tenant: DemoTenant, questions: list[str], console: Console,
               locale: str = "en-US") -> None:
    connector = LocalConnector()
    await connector.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            # The locale Teams would send: a zh-CN client gets Chinese replies (and, once stored, Chinese digests)
            client = BotClient(bot_url, Identity(tenant.tenant_id, tenant.user_id, tenant.user_name, locale),
                               connector, session)
            for question in questions:
                console.print(f"you> {question}", markup=False, highlight=False)
                rendered, _ = render_replies(await client.say(question))
                console.print(rendered, markup=False, highlight=False)
    finally:
        await connector.close()


def demo(
    ctx: typer.Context,
    size: str = typer.Option("demo", "--size", help="Tenant size: demo (48 users, ≈215 k messages) or small."),
    ask: list[str] = typer.Option([], "--ask", help="Ask the bot this (repeatable), print the answer, exit."),
    port: int = typer.Option(3978, "--port", help="Bot port on 127.0.0.1 (0: any free port)."),
    locale: str = typer.Option("en-US", "--locale", help="Locale of the --ask questions (zh-CN for Chinese replies)."),
) -> None:
    """First run: synthetic tenant → Graph emulator → sync → analytics → scoring → the bot in dev mode."""
    if size not in ("small", "demo"):
        raise typer.BadParameter("small or demo", param_hint="--size")
    context = cli_context(ctx)
    for noisy in ("httpx", "graph_sync.worker", "graph_sync.progress", "aiohttp.access"):
        # the demo shows progress bars and a summary; per-request and per-lease lines would bury them
        logging.getLogger(noisy).setLevel(logging.WARNING)
    code = asyncio.run(run_demo(context.settings, context.console, context.err, size=size, ask=ask, port=port,
                                locale=locale))
    raise typer.Exit(code)

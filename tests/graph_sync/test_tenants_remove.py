"""``rapport tenants remove``: two tenants filled through the real code (sync against the emulator, CRM import,
full and incremental analytics refreshes with their stored views, model training and scoring, a Teams
conversation, a consent), then one of them erased; the other must be left exactly as it was."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from analytics import health_views
from analytics.errors import SchemaNotCurrent
from analytics.refresh import full_refresh, incremental_refresh
from analytics.scoring import service
from analytics.scoring.errors import ScoringError
from analytics.scoring.providers import default_providers
from analytics.scoring.training import TrainingConfig
from analytics.store import models
from analytics.store.engine import make_engine
from analytics.store.schema import head_revision, upgrade
from analytics.store.tenant_data import tenant_tables
from bot.admin.grant import AppIdentity
from bot.admin.records import record_consent
from bot.cli import build_app
from bot.conversation.model import ConversationRecord
from bot.storage import StoreConversations
from graph_sync import cli as sync_cli
from graph_sync.emulator import EmulatorState
from graph_sync.emulator.generator import generate_tenant
from graph_sync.leases import claim
from graph_sync.tenants import add_tenant, list_tenants
from graph_sync.worker import PassReport, build_worker
from tests.graph_sync.support import (
    CLIENT_ID,
    CLIENT_SECRET,
    NOW,
    SETTINGS,
    Sleeps,
    emulator,
    register,
    run_pass,
)


@pytest.fixture(scope="session")
def other_tenant(tmp_path_factory: pytest.TempPathFactory, trimmed_tenant: Path) -> Path:
    """A second synthetic tenant (another seed: another tenant id, users and mail), trimmed like the first."""
    out = tmp_path_factory.mktemp("other-tenant")
    generate_tenant(out, seed=8, size="small")
    kept = {p.name for p in (trimmed_tenant / "mail").glob("*.jsonl") if p.stat().st_size > 0}
    keep = sorted(p.name for p in (out / "mail").glob("*.jsonl") if p.stat().st_size > 0)[:len(kept)]
    for sub in ("mail", "events"):
        for p in (out / sub).glob("*.jsonl"):
            if p.name not in keep:
                p.write_text("", encoding="utf-8")
    return out


class _ByHost(httpx.AsyncBaseTransport):
    """Each tenant's emulator behind its own hosts, so that one sync pass serves both tenants."""

    def __init__(self, routes: dict[str, httpx.AsyncBaseTransport]) -> None:
        self.routes = routes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.routes[request.url.host].handle_async_request(request)


@dataclass
class _Tenant:
    state: EmulatorState
    directory: Path
    label: str

    @property
    def tenant_id(self) -> str:
        return self.state.tenant_id

    @property
    def graph(self) -> str:
        return f"https://graph.{self.label}.test/v1.0"

    @property
    def authority(self) -> str:
        return f"https://login.{self.label}.test"


def _pass(engine: Engine, tenants: list[_Tenant], at: datetime) -> PassReport:
    routes: dict[str, httpx.AsyncBaseTransport] = {}
    for t in tenants:
        transport = t.state.mock_transport()
        routes.update({f"graph.{t.label}.test": transport, f"login.{t.label}.test": transport})

    async def go() -> PassReport:
        async with build_worker(SETTINGS, engine=engine, transport=_ByHost(routes), clock=lambda: at,
                                sleep=Sleeps(), owner="test-worker") as worker:
            return await worker.run_once()
    report = asyncio.run(go())
    assert not report.errors and not report.mailboxes_failed, report
    return report


def _new_mail(t: _Tenant, n: int, at: datetime) -> None:
    """A reply in an existing thread of a synced mailbox, as if it had just arrived."""
    path = next(p for p in sorted((t.directory / "mail").glob("*.jsonl")) if p.stat().st_size > 0)
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    message = {k: v for k, v in first.items() if k not in ("id", "changeKey")}
    message.update(internetMessageId=f"<new-{n}-{t.label}@example.test>", sentDateTime=stamp,
                   receivedDateTime=stamp, createdDateTime=stamp, lastModifiedDateTime=stamp)
    t.state.add_message(path.stem, message)


def _analytics_and_scoring(engine: Engine, t: _Tenant) -> None:
    crm = t.directory / "crm"
    for record_type, name in (("lead", "leads"), ("opportunity", "opportunities")):
        service.import_crm_file(engine, t.tenant_id, record_type, crm / f"{name}.csv",  # type: ignore[arg-type]
                                crm / f"{name}.mapping.toml", NOW)
    result = full_refresh(engine, t.tenant_id, SETTINGS, now=NOW)
    health_views.update_after_refresh(engine, t.tenant_id, SETTINGS, result, previous=None, now=NOW)
    config = TrainingConfig(window_days=SETTINGS.scoring_window_days, auc_bar=SETTINGS.scoring_auc_bar)
    providers = default_providers(engine, SETTINGS)
    for record_type in ("lead", "opportunity"):
        try:  # a model below the AUC bar is stored but not published: nothing to score with then
            service.train_and_publish(engine, t.tenant_id, record_type, NOW, config, providers)  # type: ignore[arg-type]
            service.score_records(engine, t.tenant_id, record_type, NOW, providers)  # type: ignore[arg-type]
        except ScoringError:
            pass


def _bot_rows(engine: Engine, t: _Tenant) -> None:
    StoreConversations(engine).save(ConversationRecord(
        tenant_id=t.tenant_id, conversation_id=f"a:conversation-{t.label}", service_url="https://smba.example.test/",
        user_aad_id=f"user-{t.label}", reference={"bot": {"id": "rapport"}}), at=NOW)
    # Consent again, with the tenant's own endpoints, so its sync configuration is unchanged.
    record_consent(engine, tenant_id=t.tenant_id, nonce=f"nonce-{t.label}", scopes=["User.Read.All"],
                   app=AppIdentity(client_id=CLIENT_ID, authority=t.authority, graph_base_url=t.graph,
                                   client_secret=CLIENT_SECRET), subject_policy="hash", now=NOW)
    with engine.begin() as conn:  # nothing writes opt-outs yet (they are read by the who-knows answers)
        conn.execute(models.table_of(models.UserOptOut).insert().values(
            tenant_id=t.tenant_id, user_id=f"user-{t.label}", scope="who_knows", opted_out_at=NOW))


def _populate(engine: Engine, tenants: list[_Tenant]) -> None:
    for t in tenants:
        add_tenant(engine, tenant_id=t.tenant_id, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, now=NOW,
                   graph_base_url=t.graph, authority=t.authority, emulator=True, subject_policy="hash",
                   display_name=f"Tenant {t.label}")
    _pass(engine, tenants, NOW)
    if engine.dialect.name == "postgresql":
        # Planner statistics for the freshly synced tables, as autovacuum gathers them a minute after a bulk sync.
        # The suite's earlier tests leave statistics of other data behind (the tables are truncated, not
        # re-analysed), and with them PostgreSQL planned the scoring's activity reads as nested loops over whole
        # tables: the fixture took minutes instead of seconds, depending on test order.
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    for t in tenants:
        _analytics_and_scoring(engine, t)
    # New mail, synced and folded in by an incremental refresh (health score changes) ...
    later = NOW + timedelta(hours=1)
    for t in tenants:
        _new_mail(t, 1, later - timedelta(minutes=5))
    _pass(engine, tenants, later)
    for t in tenants:
        previous = health_views.latest_refresh(engine, t.tenant_id)
        result = incremental_refresh(engine, t.tenant_id, SETTINGS, now=later)
        health_views.update_after_refresh(engine, t.tenant_id, SETTINGS, result, previous=previous, now=later)
    # ... and more, synced but not refreshed yet (pending rollup changes).
    for t in tenants:
        _new_mail(t, 2, later + timedelta(minutes=30))
    _pass(engine, tenants, later + timedelta(hours=1))
    for t in tenants:
        _bot_rows(engine, t)


def _rows(engine: Engine, tenant_id: str) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t).where(t.c.tenant_id == tenant_id)))
                for t in tenant_tables()}


def _counts(engine: Engine, tenant_id: str) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t).where(t.c.tenant_id == tenant_id))
                            .scalar_one()) for t in tenant_tables()}


@pytest.fixture
def two_tenants(engine: Engine, trimmed_tenant: Path, other_tenant: Path) -> tuple[str, str]:
    """(removed, kept): both with rows in every table of the store, written by the code that writes them."""
    tenants = [_Tenant(emulator(trimmed_tenant), trimmed_tenant, "a"), _Tenant(emulator(other_tenant), other_tenant, "b")]
    assert tenants[0].tenant_id != tenants[1].tenant_id
    _populate(engine, tenants)
    for t in tenants:
        empty = [name for name, n in _counts(engine, t.tenant_id).items() if not n]
        assert not empty, f"tables the fixture leaves empty for tenant {t.label}: {empty} (fill them here)"
    return tenants[0].tenant_id, tenants[1].tenant_id


def _remove(db_url: str, monkeypatch: pytest.MonkeyPatch, *args: str, input: str | None = None) -> Any:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", db_url)
    return CliRunner().invoke(build_app(), ["tenants", "remove", *args], input=input)


def test_ctrl_c_leaves_the_tenant_whole_and_then_remove_erases_all_its_rows_and_nothing_of_another(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, two_tenants: tuple[str, str]) -> None:
    gone, kept = two_tenants
    before = {tid: _rows(engine, tid) for tid in two_tenants}
    deletes: list[str] = []

    def interrupt(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(statement)
            if statement.split()[2] == "activity":  # after the participants, sightings, rollups, views, …
                raise KeyboardInterrupt

    event.listen(Engine, "before_cursor_execute", interrupt)  # the command's own engine
    try:
        interrupted = _remove(db_url, monkeypatch, gone, "--yes")
    finally:
        event.remove(Engine, "before_cursor_execute", interrupt)
    assert interrupted.exit_code == 130, interrupted.output
    assert "Interrupted: nothing was removed" in interrupted.output
    assert len(deletes) > 10  # well into the removal
    assert {tid: _rows(engine, tid) for tid in two_tenants} == before

    counts = _counts(engine, gone)
    result = _remove(db_url, monkeypatch, gone.upper(), "--yes")  # the id as an admin may paste it
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"Removed tenant {gone} (Tenant a): {sum(counts.values()):,} rows from {len(counts)} tables." in said
    assert "Enterprise applications → Rapport (application id rapport-test-app)" in said
    assert "lead-default-v1" in said  # where the model charts would be, on disk
    assert set(_counts(engine, gone).values()) == {0}
    assert _rows(engine, kept) == before[kept]
    again = _remove(db_url, monkeypatch, gone, "--yes")
    assert again.exit_code == 1 and f"no tenant {gone}" in again.output


@pytest.fixture
def synced(engine: Engine, trimmed_tenant: Path) -> str:
    state = emulator(trimmed_tenant)
    register(engine, state)
    assert not run_pass(engine, state).errors
    return state.tenant_id


def _a_mailbox(engine: Engine, tenant_id: str) -> str:
    state = models.table_of(models.SyncState)
    with engine.connect() as conn:
        return str(conn.execute(select(state.c.mailbox_id).where(state.c.tenant_id == tenant_id).limit(1))
                   .scalar_one())


def test_a_sync_holding_leases_on_the_tenant_stops_the_removal_unless_forced(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, synced: str) -> None:
    assert claim(engine, synced, _a_mailbox(engine, synced), "sync-host:4242", datetime.now(UTC), 300)
    before = _rows(engine, synced)
    refused = _remove(db_url, monkeypatch, synced, "--yes")
    assert refused.exit_code == 1
    message = " ".join(refused.output.split())
    assert "sync-host:4242" in message and "Stop the sync first" in message and "--force" in message
    assert _rows(engine, synced) == before
    forced = _remove(db_url, monkeypatch, synced, "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert "A sync held leases on 1 mailbox:" in " ".join(forced.output.split())
    assert set(_counts(engine, synced).values()) == {0}


def test_a_sync_that_starts_after_the_check_still_stops_the_removal(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, synced: str) -> None:
    before = _rows(engine, synced)
    mailbox = _a_mailbox(engine, synced)

    def check_then_sync_starts(conn: Any, tenant_id: str, now: datetime) -> list[Any]:
        assert claim(engine, tenant_id, mailbox, "sync-host:4242", now, 300)  # between the check and the removal
        return []

    monkeypatch.setattr(sync_cli, "held_leases", check_then_sync_starts)
    result = _remove(db_url, monkeypatch, synced, "--yes")
    assert result.exit_code == 1 and "Stop the sync first" in " ".join(result.output.split())
    after = _rows(engine, synced)
    assert {k: v for k, v in after.items() if k != "sync_state"} == {k: v for k, v in before.items()
                                                                     if k != "sync_state"}
    assert len(after["sync_state"]) == len(before["sync_state"])  # only the new lease changed them


def test_an_expired_lease_of_a_killed_sync_does_not_stop_the_removal(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, synced: str) -> None:
    assert claim(engine, synced, _a_mailbox(engine, synced), "killed", datetime.now(UTC) - timedelta(hours=1), 300)
    result = _remove(db_url, monkeypatch, synced, "--yes")
    assert result.exit_code == 0, result.output
    assert set(_counts(engine, synced).values()) == {0}


def test_without_yes_the_admin_types_the_tenant_id_and_a_wrong_one_removes_nothing(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, tenant_id: str) -> None:
    monkeypatch.setattr(sync_cli, "_can_prompt", lambda: True)
    wrong = _remove(db_url, monkeypatch, tenant_id, input="11111111-2222-3333-4444-000000000000\n")
    assert wrong.exit_code == 1 and "nothing was removed" in wrong.output
    assert _counts(engine, tenant_id)["tenant"] == 1
    right = _remove(db_url, monkeypatch, tenant_id, input=f"{tenant_id.upper()}\n")
    assert right.exit_code == 0, right.output
    assert "Type the tenant id to confirm" in right.output and "Removed tenant" in right.output
    assert set(_counts(engine, tenant_id).values()) == {0}


def test_without_yes_and_without_a_terminal_it_is_a_usage_error(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, tenant_id: str) -> None:
    result = _remove(db_url, monkeypatch, tenant_id)  # CliRunner's stdin is no terminal
    assert result.exit_code == 2
    assert "--yes" in result.output
    assert _counts(engine, tenant_id)["tenant"] == 1


def test_an_unknown_tenant_is_an_error_and_changes_nothing(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, tenant_id: str) -> None:
    result = _remove(db_url, monkeypatch, "99999999-2222-3333-4444-555555555555", "--yes")
    assert result.exit_code == 1
    assert "no tenant 99999999-2222-3333-4444-555555555555" in result.output
    assert _counts(engine, tenant_id)["tenant"] == 1


def test_a_certificate_file_is_left_in_place_and_named(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pem = tmp_path / "rapport.pem"
    pem.write_text("not a real key", encoding="utf-8")
    tenant_id = "22222222-2222-4222-8222-222222222222"
    add_tenant(engine, tenant_id=tenant_id, client_id="app", certificate_path=str(pem), now=NOW)
    result = _remove(db_url, monkeypatch, tenant_id, "--yes")
    assert result.exit_code == 0, result.output
    assert str(pem) in "".join(result.output.split()) and pem.exists()


def test_the_tenants_charts_folder_goes_with_it_and_no_other(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`rapport scoring report` writes into a folder per tenant (models of two tenants share ids)."""
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path / "data"))
    gone, kept = "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"
    for t in (gone, kept):
        add_tenant(engine, tenant_id=t, client_id="app", client_secret="s", now=NOW)
        folder = tmp_path / "data" / "charts" / t
        folder.mkdir(parents=True)
        (folder / "lead-default-v1-roc.png").write_bytes(b"\x89PNG")
    result = _remove(db_url, monkeypatch, gone, "--yes")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "data" / "charts" / gone).exists()
    assert (tmp_path / "data" / "charts" / kept / "lead-default-v1-roc.png").exists()
    assert "Removed its charts folder" in " ".join(result.output.split())


def test_on_a_schema_behind_the_code_nothing_is_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine, f"{int(head_revision()) - 1:04d}")
        tenant_id = "33333333-3333-4333-8333-333333333333"
        add_tenant(engine, tenant_id=tenant_id, client_id="app", client_secret="s", now=NOW)
        result = _remove(url, monkeypatch, tenant_id, "--yes")
        assert isinstance(result.exception, SchemaNotCurrent)  # `rapport` prints it: run `rapport db upgrade`
        assert [t.tenant_id for t in list_tenants(engine)] == [tenant_id]
    finally:
        engine.dispose()

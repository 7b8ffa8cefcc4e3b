"""What an admin meets first: ``rapport tenants add`` refusing bad input, ``rapport sync`` without a secret key,
and a one-shot sync interrupted mid-pass."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from analytics.store import models
from bot.cli import build_app
from graph_sync.emulator import EmulatorState
from graph_sync.tenants import list_tenants
from graph_sync.worker import build_worker
from tests.graph_sync.support import (
    NOW,
    SETTINGS,
    Sleeps,
    assert_exact,
    emulator,
    expected,
    register,
    run_pass,
    synced_users,
)

TENANT = "7c1b672c-5086-43a6-8738-88bfeb28720a"


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


@pytest.mark.parametrize("args, complaint", [
    (["not-a-tenant", "--client-secret", "s"], "GUID"),
    ([TENANT, "--client-secret", "s", "--graph-base-url", "ftp://nope"], "--graph-base-url"),
    ([TENANT, "--client-secret", "s", "--authority", "notaurl"], "--authority"),
    ([TENANT, "--client-secret", "s", "--graph-base-url", "http://graph.example.com/v1.0"], "https is required"),
    ([TENANT, "--client-secret", "s", "--authority", "http://login.example.com"], "https is required"),
    ([TENANT], "--client-secret"),
])
def test_tenants_add_refuses_bad_input_and_stores_nothing(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, args: list[str], complaint: str) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", db_url)
    result = CliRunner().invoke(build_app(), ["tenants", "add", *args, "--client-id", "app"])
    assert result.exit_code == 2, result.output
    assert complaint in result.output
    assert list_tenants(engine) == []


def test_tenants_add_stores_a_valid_tenant_under_its_lower_case_id(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", db_url)
    result = CliRunner().invoke(build_app(), ["tenants", "add", TENANT.upper(), "--client-id", "app",
                                              "--client-secret", "s", "--authority", "http://127.0.0.1:9/"])
    assert result.exit_code == 0, result.output
    assert [t.tenant_id for t in list_tenants(engine)] == [TENANT]


def test_without_a_secret_key_a_hashing_tenant_is_not_synced_and_nothing_is_skipped_for_later(
        engine: Engine, trimmed_tenant: Path) -> None:
    state: EmulatorState = emulator(trimmed_tenant)
    register(engine, state)  # subject policy "hash"
    report = run_pass(engine, state, dataclasses.replace(SETTINGS, secret_key=""))
    assert report.errors and "RAPPORT_SECRET_KEY" in report.errors[0]
    # No delta link was saved past mail that was never stored ...
    assert _count(engine, "SELECT COUNT(*) FROM sync_state WHERE delta_link IS NOT NULL") == 0
    assert _count(engine, "SELECT COUNT(*) FROM activity") == 0
    # ... so once the key is set, the next pass stores everything.
    assert not run_pass(engine, state).errors
    assert_exact(engine, state.tenant_id, expected(trimmed_tenant, synced_users(trimmed_tenant)))


def test_sync_command_says_why_a_tenant_was_not_synced_and_fails(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", db_url)
    monkeypatch.delenv("RAPPORT_SECRET_KEY", raising=False)
    added = CliRunner().invoke(build_app(), ["tenants", "add", TENANT, "--client-id", "app", "--client-secret",
                                             "s", "--authority", "http://127.0.0.1:9", "--subject-policy", "hash"])
    assert added.exit_code == 0, added.output
    result = CliRunner().invoke(build_app(), ["sync"])
    assert result.exit_code == 1, result.output
    assert "RAPPORT_SECRET_KEY" in result.output


def test_an_interrupted_pass_leaves_no_mailbox_running_and_the_next_pass_completes_it(
        engine: Engine, trimmed_tenant: Path) -> None:
    state: EmulatorState = emulator(trimmed_tenant, latency_s=0.002)
    register(engine, state)
    orphans: list[asyncio.Task[object]] = []

    async def interrupted() -> None:
        async with build_worker(SETTINGS, engine=engine, transport=state.mock_transport(), clock=lambda: NOW,
                                sleep=Sleeps(), owner="first") as worker:
            task = asyncio.ensure_future(worker.run_once())
            while _count(engine, "SELECT COUNT(*) FROM activity_source") == 0:
                await asyncio.sleep(0.005)
            task.cancel()  # what Ctrl-C does to a one-shot `rapport sync`
            with pytest.raises(asyncio.CancelledError):
                await task
            orphans.extend(t for t in asyncio.all_tasks() if t is not asyncio.current_task())

    asyncio.run(interrupted())
    assert orphans == []
    run_pass(engine, state, owner="second")
    assert_exact(engine, state.tenant_id, expected(trimmed_tenant, synced_users(trimmed_tenant)))


def test_tenants_list_shows_whole_ids_even_when_piped(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Admins copy the id into `tenants remove` and consent URLs: a piped 80-column table cut it to "7c1b672c-50…"."""
    monkeypatch.setenv("RAPPORT_DATABASE_URL", db_url)
    assert CliRunner().invoke(build_app(), ["tenants", "add", TENANT, "--client-id", "app", "--client-secret", "s",
                                            "--name", "A tenant with a rather long display name"]).exit_code == 0
    result = CliRunner().invoke(build_app(), ["tenants", "list"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert TENANT in result.output


def test_sync_status_keeps_its_columns_readable_when_piped(
        db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped, Rich took 80 columns for ten: the mailbox id and the error were cut to a few characters."""
    monkeypatch.setenv("RAPPORT_DATABASE_URL", db_url)
    assert CliRunner().invoke(build_app(), ["tenants", "add", TENANT, "--client-id", "app", "--client-secret",
                                            "s"]).exit_code == 0
    mailbox = "0d1c6e5f-2b1a-4c3d-9e8f-7a6b5c4d3e2f"
    error = "Throttled: HTTP 429 ApplicationThrottled"
    with engine.begin() as conn:
        conn.execute(models.table_of(models.SyncState).insert().values(
            tenant_id=TENANT, mailbox_id=mailbox, resource="messages:inbox", last_error=error,
            last_error_at=datetime.now(UTC), items_synced=12))
    result = CliRunner().invoke(build_app(), ["sync", "status"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert mailbox in result.output and error in result.output

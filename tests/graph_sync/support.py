"""Helpers for sync tests: tenant directories, running a worker against the emulator, checking exactness."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from analytics.settings import Settings
from graph_sync.emulator import EmulatorConfig, EmulatorState
from graph_sync.tenants import add_tenant
from graph_sync.worker import PassReport, build_worker

NOW = datetime(2026, 11, 1, tzinfo=UTC)  # the generator's reference_now
CLIENT_ID, CLIENT_SECRET = "rapport-test-app", "rapport-test-secret"
SETTINGS = Settings(secret_key="test-key", sync_calendar_past_days=3650, sync_calendar_future_days=3650)


class Sleeps:
    """An injected sleep that returns at once and remembers what was asked."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


def emulator(tenant_dir: Path, **config: Any) -> EmulatorState:
    state = EmulatorState.from_directory(tenant_dir, EmulatorConfig(**config))
    state.register_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    return state


def register(engine: Engine, state: EmulatorState, *, graph: str = "https://graph.microsoft.com/v1.0",
             authority: str = "https://login.microsoftonline.com") -> None:
    add_tenant(engine, tenant_id=state.tenant_id, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, now=NOW,
               graph_base_url=graph, authority=authority, emulator=True, subject_policy="hash")


def run_pass(engine: Engine, state: EmulatorState, settings: Settings = SETTINGS, *,
             sleeps: Sleeps | None = None, owner: str = "test-worker") -> PassReport:
    async def go() -> PassReport:
        async with build_worker(settings, engine=engine, transport=state.mock_transport(), clock=lambda: NOW,
                                sleep=sleeps or Sleeps(), owner=owner) as worker:
            return await worker.run_once()
    return asyncio.run(go())


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class Expected:
    message_ids: frozenset[str]
    mail_lines: int
    ical_uids: frozenset[str]
    event_lines: int


def synced_users(tenant_dir: Path, settings: Settings = SETTINGS) -> list[str]:
    out = []
    for u in _jsonl(tenant_dir / "users.jsonl"):
        purpose = (u.get("mailboxSettings") or {}).get("userPurpose", "user")
        if settings.sync_skip_disabled and not u.get("accountEnabled", True):
            continue
        if settings.sync_skip_shared and purpose == "shared":
            continue
        if settings.sync_skip_rooms and purpose in ("room", "equipment"):
            continue
        out.append(u["id"])
    return out


def expected(tenant_dir: Path, users: Iterable[str]) -> Expected:
    mids: set[str] = set()
    icals: set[str] = set()
    mail = events = 0
    for uid in users:
        for m in _jsonl(tenant_dir / "mail" / f"{uid}.jsonl"):
            mids.add(m["internetMessageId"])
            mail += 1
        for e in _jsonl(tenant_dir / "events" / f"{uid}.jsonl"):
            icals.add(e["iCalUId"])
            events += 1
    return Expected(frozenset(mids), mail, frozenset(icals), events)


def assert_exact(engine: Engine, tenant_id: str, exp: Expected) -> None:
    """Every expected message and event is in the store exactly once, with one sighting per mailbox copy."""
    with engine.connect() as conn:
        mids = conn.execute(text("SELECT internet_message_id FROM activity WHERE tenant_id=:t AND kind='email'"),
                            {"t": tenant_id}).scalars().all()
        icals = conn.execute(text("SELECT ical_uid FROM activity WHERE tenant_id=:t AND kind='meeting'"),
                             {"t": tenant_id}).scalars().all()
        sources = dict(conn.execute(text(
            "SELECT resource, count(*) FROM activity_source WHERE tenant_id=:t GROUP BY resource"),
            {"t": tenant_id}).all())
    assert len(mids) == len(set(mids)), "a message stored twice"
    assert len(icals) == len(set(icals)), "an event stored twice"
    assert set(mids) == set(exp.message_ids), (len(mids), len(exp.message_ids))
    assert set(icals) == set(exp.ical_uids), (len(icals), len(exp.ical_uids))
    assert sources.get("messages", 0) == exp.mail_lines
    assert sources.get("events", 0) == exp.event_lines


def rollup_totals(engine: Engine, tenant_id: str) -> tuple[int, int, float]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT coalesce(sum(from_us),0), coalesce(sum(from_them),0), "
                                "coalesce(sum(minutes_us),0) FROM interaction_rollup WHERE tenant_id=:t"),
                           {"t": tenant_id}).one()
    return int(row[0]), int(row[1]), round(float(row[2]), 3)

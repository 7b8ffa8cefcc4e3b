"""``rapport sync --watch`` keeps each tenant's health aggregates in memory between rounds: its incremental refresh
after a round reads no stored aggregate (``analytics.refresh.HealthRefresher``)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from analytics.refresh import full_refresh
from analytics.store import models
from analytics.store import queries_relationships as q
from graph_sync.worker import build_worker
from tests.graph_sync.support import NOW, SETTINGS, emulator, register, synced_users
from tests.graph_sync.test_watch_health import NEW_CONTACT, _health, _refresh_row


def test_the_second_rounds_refresh_comes_from_the_first_rounds_memory(
    engine: Engine, trimmed_tenant: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = emulator(trimmed_tenant)
    register(engine, state)
    tid = state.tenant_id
    me = next(u for u in synced_users(trimmed_tenant) if (trimmed_tenant / "mail" / f"{u}.jsonl").stat().st_size)
    clock = {"now": NOW}
    rounds: list[tuple[datetime, datetime | None]] = []
    stop = asyncio.Event()

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the watching sync read stored aggregates although it holds them")

    async def sleep(_seconds: float) -> None:
        rounds.append(_refresh_row(engine, tid))
        if len(rounds) == 2:
            stop.set()
            return
        monkeypatch.setattr(q, "health_states", refuse)  # from round 2 on
        with engine.connect() as conn:
            users = models.InternalUser.__table__
            address = conn.execute(select(users.c.email).where(users.c.tenant_id == tid,
                                                               users.c.user_id == me)).scalar_one()
        clock["now"] = NOW + timedelta(hours=1)
        sent = (NOW - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        state.add_message(me, {
            "internetMessageId": "<memory-1@fabrikam-watch.example>", "conversationId": "c-memory-1",
            "sentDateTime": sent, "receivedDateTime": sent, "parentFolderId": "inbox", "subject": "hello",
            "from": {"emailAddress": {"name": "New Pal", "address": NEW_CONTACT}},
            "toRecipients": [{"emailAddress": {"name": "", "address": address}}]})

    async def go() -> None:
        async with build_worker(SETTINGS, engine=engine, transport=state.mock_transport(),
                                clock=lambda: clock["now"], sleep=sleep, owner="watch") as worker:
            await worker.run_watch(stop, interval=0)

    asyncio.run(go())
    (_full_1, incremental_1), (_full_2, incremental_2) = rounds
    assert incremental_1 is None and incremental_2 is not None  # round 2's incremental refresh succeeded
    monkeypatch.undo()
    watched = _health(engine, tid)
    full_refresh(engine, tid, SETTINGS, now=NOW + timedelta(hours=1))
    assert watched[NEW_CONTACT] == _health(engine, tid)[NEW_CONTACT]

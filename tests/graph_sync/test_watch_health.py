"""``rapport sync --watch``: after each round that ingested something, each changed tenant's stored health
scores follow the new mail through an incremental refresh; the first round of each UTC day runs a full one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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

NEW_CONTACT = "new.pal@fabrikam-watch.example"


def _health(engine: Engine, tenant_id: str) -> dict[str, tuple[object, ...]]:
    """The contacts' current health scores as the store's readers give them (incremental changes included)."""
    with engine.connect() as conn:
        details = {i: d for (t, i), d in q.stored_health_details(conn, tenant_id).items() if t == "contact"}
        return {i: (s.value, s.label, s.trend, details[i], s.computed_at)
                for i, s in q.stored_health(conn, tenant_id, "contact", list(details)).items()}


def _refresh_row(engine: Engine, tenant_id: str) -> tuple[datetime, datetime | None]:
    t = models.HealthRefresh.__table__
    with engine.connect() as conn:
        row = conn.execute(select(t.c.full_at, t.c.incremental_at).where(t.c.tenant_id == tenant_id)).one()
    return row.full_at, row.incremental_at


def _two_watched_rounds(engine: Engine, trimmed_tenant: Path, between: Callable[[], None] | None = None
                        ) -> tuple[str, list[tuple[datetime, datetime | None]]]:
    """Two rounds of ``rapport sync --watch`` with three new mails an hour later in between (``between`` runs
    there too); the tenant and its ``health_refresh`` row after each round."""
    state = emulator(trimmed_tenant)
    register(engine, state)
    tid = state.tenant_id
    me = next(u for u in synced_users(trimmed_tenant) if (trimmed_tenant / "mail" / f"{u}.jsonl").stat().st_size)
    clock = {"now": NOW}
    rounds: list[tuple[datetime, datetime | None]] = []
    stop = asyncio.Event()

    async def sleep(_seconds: float) -> None:
        """Between rounds: check what the round stored, then deliver three new mails an hour later."""
        rounds.append(_refresh_row(engine, tid))
        if len(rounds) == 2:
            stop.set()
            return
        if between is not None:
            between()
        with engine.connect() as conn:
            users = models.InternalUser.__table__
            address = conn.execute(select(users.c.email).where(users.c.tenant_id == tid,
                                                               users.c.user_id == me)).scalar_one()
        clock["now"] = NOW + timedelta(hours=1)
        for n in range(3):
            sent = (NOW - timedelta(hours=n, minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
            state.add_message(me, {
                "internetMessageId": f"<watch-{n}@fabrikam-watch.example>", "conversationId": f"c-watch-{n}",
                "sentDateTime": sent, "receivedDateTime": sent, "parentFolderId": "inbox", "subject": "hello",
                "from": {"emailAddress": {"name": "New Pal", "address": NEW_CONTACT}},
                "toRecipients": [{"emailAddress": {"name": "", "address": address}}]})

    async def go() -> None:
        async with build_worker(SETTINGS, engine=engine, transport=state.mock_transport(),
                                clock=lambda: clock["now"], sleep=sleep, owner="watch") as worker:
            await worker.run_watch(stop, interval=0)

    asyncio.run(go())
    return tid, rounds


def test_watch_round_refreshes_health_incrementally(engine: Engine, trimmed_tenant: Path) -> None:
    tid, rounds = _two_watched_rounds(engine, trimmed_tenant)
    # Round 1 stored the first health scores (no aggregates yet: a full refresh); round 2 was incremental.
    (full_1, incremental_1), (full_2, incremental_2) = rounds
    assert incremental_1 is None and full_2 == full_1
    assert incremental_2 is not None and incremental_2.replace(tzinfo=None) == (NOW + timedelta(hours=1)).replace(
        tzinfo=None)
    watched = _health(engine, tid)
    assert NEW_CONTACT in watched and watched[NEW_CONTACT][1] != "Not computed"
    full_refresh(engine, tid, SETTINGS, now=NOW + timedelta(hours=1))
    assert watched[NEW_CONTACT] == _health(engine, tid)[NEW_CONTACT]


def test_the_second_rounds_refresh_comes_from_the_first_rounds_memory(
    engine: Engine, trimmed_tenant: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watching sync keeps each tenant's health aggregates in memory between rounds
    (``analytics.refresh.HealthRefresher``): round 2's incremental refresh reads no stored aggregate."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the watching sync read stored aggregates although it holds them")

    tid, rounds = _two_watched_rounds(engine, trimmed_tenant,
                                      between=lambda: monkeypatch.setattr(q, "health_states", refuse))
    (_full_1, incremental_1), (_full_2, incremental_2) = rounds
    assert incremental_1 is None and incremental_2 is not None  # round 2's incremental refresh succeeded
    monkeypatch.undo()
    watched = _health(engine, tid)
    full_refresh(engine, tid, SETTINGS, now=NOW + timedelta(hours=1))
    assert watched[NEW_CONTACT] == _health(engine, tid)[NEW_CONTACT]


def test_watch_rescores_every_record_once_per_utc_day_without_new_mail(engine: Engine,
                                                                       trimmed_tenant: Path) -> None:
    """A round with nothing new refreshes nothing on the same day; the first round of the next UTC day runs a
    full refresh, so scores of records nobody touched follow the day (recency decay, trends)."""
    state = emulator(trimmed_tenant)
    register(engine, state)
    tid = state.tenant_id
    times = [NOW, NOW + timedelta(minutes=1), NOW + timedelta(days=1)]
    clock = {"now": times[0]}
    rounds: list[tuple[datetime, datetime | None]] = []
    stop = asyncio.Event()

    async def sleep(_seconds: float) -> None:
        rounds.append(_refresh_row(engine, tid))
        if len(rounds) == len(times):
            stop.set()
            return
        clock["now"] = times[len(rounds)]

    async def go() -> None:
        async with build_worker(SETTINGS, engine=engine, transport=state.mock_transport(),
                                clock=lambda: clock["now"], sleep=sleep, owner="watch") as worker:
            await worker.run_watch(stop, interval=0)

    asyncio.run(go())
    naive = [(full.replace(tzinfo=None), inc) for full, inc in rounds]
    assert naive[0] == (NOW.replace(tzinfo=None), None)  # the first round: a full refresh
    assert naive[1] == naive[0]  # nothing new, same day: no refresh
    assert naive[2] == ((NOW + timedelta(days=1)).replace(tzinfo=None), None)  # a new day: full
    before = _health(engine, tid)
    full_refresh(engine, tid, SETTINGS, now=NOW + timedelta(days=1))
    assert _health(engine, tid) == before


def test_watch_refreshes_a_tenant_whose_mail_another_process_synced(engine: Engine, trimmed_tenant: Path) -> None:
    """The admin-consent flow (or a one-shot `rapport sync`) synced the tenant without refreshing it: the watching
    sync's rounds found nothing new and never scored it, so every card read "Not computed" until new mail came."""
    state = emulator(trimmed_tenant)
    register(engine, state)
    tid = state.tenant_id
    stop = asyncio.Event()

    async def first_sync() -> None:
        async with build_worker(SETTINGS, engine=engine, transport=state.mock_transport(), clock=lambda: NOW,
                                owner="consent") as worker:
            assert (await worker.run_once()).upserted
    asyncio.run(first_sync())
    with engine.connect() as conn:
        assert q.health_refresh_since(conn, tid) is None

    async def sleep(_seconds: float) -> None:
        stop.set()

    async def watch() -> None:
        async with build_worker(SETTINGS, engine=engine, transport=state.mock_transport(),
                                clock=lambda: NOW + timedelta(minutes=5), sleep=sleep, owner="watch") as worker:
            await worker.run_watch(stop, interval=0)
    asyncio.run(watch())
    assert _refresh_row(engine, tid)[0].replace(tzinfo=None) == (NOW + timedelta(minutes=5)).replace(tzinfo=None)
    assert _health(engine, tid)

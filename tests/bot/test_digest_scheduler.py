"""The resident digest scheduler: due slots per manager zone, once per week across restarts, crash safety."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise

import pytest
from sqlalchemy.engine import Engine

from analytics.errors import ConfigError
from analytics.settings import Settings
from analytics.store import models
from analytics.views import MyRecordsView
from bot.conversation.model import ConversationRecord, Reply
from bot.digest.queue import SendFailed, SendQueue
from bot.digest.scheduler import MAX_TRIES, DigestLedger, DigestScheduler, Slot
from bot.storage import StoreConversations, StoreDirectory
from tests.bot.conftest import MANAGER
from tests.bot.fakes import FakeRelationships, principal
from tests.bot.test_digest import FakePredictions

SUNDAY_NIGHT = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
MONDAY_8 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Crash(BaseException):
    """The process dies (not an Exception: nothing catches it)."""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


class Connector:
    """Records sends; can fail (status) or crash the process mid-send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Reply]] = []
        self.fail_with: int | None = None
        self.crash = False

    async def send(self, record: ConversationRecord, reply: Reply) -> None:
        if self.crash:
            raise Crash
        if self.fail_with is not None:
            raise SendFailed(self.fail_with)
        self.sent.append((record.conversation_id, reply))


@pytest.fixture
def reachable(engine: Engine, tenant_id: str, users: dict[str, str], now: datetime) -> StoreConversations:
    with engine.begin() as conn:
        conn.execute(models.table_of(models.Tenant).update().values(status="active"))
    conversations = StoreConversations(engine)
    conversations.save(ConversationRecord(tenant_id, "a:mia", "https://smba.example", user_aad_id=MANAGER,
                                          locale="en-US"), at=now)
    return conversations


def _scheduler(engine: Engine, conversations: StoreConversations, clock: Clock, connector: Connector,
               slot: Slot = Slot(0, time(8, 0), "UTC")) -> DigestScheduler:
    queue = SendQueue(send=connector.send, clock=lambda: clock.now.timestamp(), sleep=clock.sleep,
                      random=lambda: 0.0, wall_clock=lambda: clock.now.timestamp())
    return DigestScheduler(slot, DigestLedger(engine), StoreDirectory(engine), conversations, FakeRelationships(),
                           FakePredictions(), None, queue, clock, clock.sleep)


def test_slots_follow_each_managers_zone_and_keep_wall_time_across_dst() -> None:
    slot = Slot.from_settings(Settings().with_overrides(digest_weekday="monday", digest_time="08:00"))
    assert slot.latest(MONDAY_8, "UTC") == MONDAY_8
    assert slot.latest(MONDAY_8 - timedelta(seconds=1), "UTC") == MONDAY_8 - timedelta(days=7)
    assert slot.following(MONDAY_8, "UTC") == MONDAY_8 + timedelta(days=7)
    assert slot.latest(MONDAY_8, "Asia/Shanghai") == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    # Berlin leaves summer time on 25 Oct 2026: the Monday slot moves from 06:00 to 07:00 UTC.
    assert slot.latest(datetime(2026, 10, 27, tzinfo=UTC), "Europe/Berlin") == datetime(2026, 10, 26, 7, 0,
                                                                                          tzinfo=UTC)
    assert slot.latest(datetime(2026, 10, 26, 6, 30, tzinfo=UTC), "Europe/Berlin") == datetime(
        2026, 10, 19, 6, 0, tzinfo=UTC)
    with pytest.raises(ConfigError, match="RAPPORT_DIGEST_TIME"):
        Slot.from_settings(Settings().with_overrides(digest_time="8 am"))


def test_a_managers_windows_zone_places_the_slot_and_an_unknown_one_is_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    slot = Slot(0, time(8, 0), "Europe/Berlin")
    mia = principal(MANAGER, "Mia", ["rep"])
    assert slot.zone(replace(mia, time_zone="China Standard Time")) == "Asia/Shanghai"
    assert slot.zone(replace(mia, time_zone=None)) == "Europe/Berlin"
    with caplog.at_level(logging.INFO, logger="graph_sync.timezones"):
        zones = {slot.zone(replace(mia, time_zone="Martian Standard Time")) for _ in range(3)}
    assert zones == {"Europe/Berlin"}
    assert [r.getMessage() for r in caplog.records].count(
        "unknown time zone 'Martian Standard Time' (neither IANA nor Windows): using Europe/Berlin") == 1


def test_one_digest_per_manager_and_week_even_across_restarts(
        engine: Engine, tenant_id: str, reachable: StoreConversations) -> None:
    clock, connector = Clock(SUNDAY_NIGHT), Connector()
    scheduler = _scheduler(engine, reachable, clock, connector)
    upcoming = asyncio.run(scheduler.tick())
    assert connector.sent == [] and upcoming == SUNDAY_NIGHT + timedelta(minutes=15)  # polls meanwhile
    clock.now = MONDAY_8 - timedelta(minutes=10)
    assert asyncio.run(scheduler.tick()) == MONDAY_8 and connector.sent == []  # wakes exactly at the slot
    clock.now = MONDAY_8 + timedelta(seconds=30)
    asyncio.run(scheduler.tick())
    asyncio.run(scheduler.tick())
    assert [c for c, _ in connector.sent] == ["a:mia"]
    assert "Weekly digest" in str(connector.sent[0][1].card)
    assert DigestLedger(engine).status(tenant_id, MANAGER, "2026-11-30") == "sent"
    clock.now = MONDAY_8 + timedelta(hours=1)  # the process restarts: a new scheduler, the same store
    asyncio.run(_scheduler(engine, reachable, clock, connector).tick())
    assert len(connector.sent) == 1
    clock.now = MONDAY_8 + timedelta(days=7, minutes=5)  # next week
    asyncio.run(_scheduler(engine, reachable, clock, connector).tick())
    assert len(connector.sent) == 2


def test_a_crash_mid_send_duplicates_nothing(engine: Engine, tenant_id: str, reachable: StoreConversations) -> None:
    clock, connector = Clock(MONDAY_8), Connector()
    connector.crash = True
    with pytest.raises(Crash):
        asyncio.run(_scheduler(engine, reachable, clock, connector).tick())
    assert DigestLedger(engine).status(tenant_id, MANAGER, "2026-11-30") == "sending"
    connector.crash = False
    clock.now += timedelta(minutes=1)
    asyncio.run(_scheduler(engine, reachable, clock, connector).tick())  # restarted: whether it arrived is unknown
    assert connector.sent == []


def test_definite_failures_are_retried_on_later_ticks_a_few_times(
        engine: Engine, tenant_id: str, reachable: StoreConversations) -> None:
    clock, connector = Clock(MONDAY_8), Connector()
    connector.fail_with = 403  # not retryable by the queue: one attempt per tick
    scheduler = _scheduler(engine, reachable, clock, connector)
    for _ in range(MAX_TRIES + 2):
        asyncio.run(scheduler.tick())
        clock.now += timedelta(minutes=15)
    assert [o.delivered for *_, o in scheduler.sent] == [False] * MAX_TRIES
    assert DigestLedger(engine).status(tenant_id, MANAGER, "2026-11-30") == "failed"


def test_a_server_down_at_the_slot_catches_up_the_same_day_only(
        engine: Engine, reachable: StoreConversations) -> None:
    clock, connector = Clock(MONDAY_8 + timedelta(hours=13)), Connector()
    asyncio.run(_scheduler(engine, reachable, clock, connector).tick())
    assert connector.sent == []  # too late for this week's digest
    clock.now = MONDAY_8 + timedelta(hours=5)
    asyncio.run(_scheduler(engine, reachable, clock, connector).tick())
    assert len(connector.sent) == 1


def test_run_sleeps_until_the_slot_and_sends_once(engine: Engine, tenant_id: str, users: dict[str, str],
                                                  reachable: StoreConversations) -> None:
    with engine.begin() as conn:
        conn.execute(models.table_of(models.InternalUser).update().where(
            models.table_of(models.InternalUser).c.user_id == MANAGER).values(time_zone="Asia/Shanghai"))
    clock, connector = Clock(datetime(2026, 11, 29, 23, 20, tzinfo=UTC)), Connector()
    scheduler = _scheduler(engine, reachable, clock, connector)
    wakes: list[datetime] = []

    async def sleep(seconds: float) -> None:
        await clock.sleep(seconds)
        wakes.append(clock.now)
        if len(wakes) >= 4:
            raise Crash  # stop the endless loop

    scheduler.sleep = sleep
    with pytest.raises(Crash):
        asyncio.run(scheduler.run())
    midnight_utc = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # Monday 08:00 in Shanghai
    assert midnight_utc in wakes and len(connector.sent) == 1
    assert all(b - a <= timedelta(minutes=15) for a, b in pairwise(wakes))


def test_serve_runs_the_scheduler_for_the_apps_lifetime_unless_switched_off(engine: Engine, settings: Settings
                                                                           ) -> None:
    from aiohttp import web

    from bot.digest.scheduler import attach_scheduler

    off = web.Application()
    attach_scheduler(off, settings.with_overrides(digest_schedule=False), engine)
    on = web.Application()
    attach_scheduler(on, settings, engine)
    assert len(on.cleanup_ctx) == len(off.cleanup_ctx) + 1

    async def lifetime() -> bool:
        runner = web.AppRunner(on)
        await runner.setup()  # starts the scheduler task
        running = any(t.get_name() == "rapport-digest-scheduler" for t in asyncio.all_tasks())
        await runner.cleanup()  # cancels it
        return running and not any(t.get_name() == "rapport-digest-scheduler" and not t.done()
                                   for t in asyncio.all_tasks())
    assert asyncio.run(lifetime())


def test_a_digest_that_cannot_be_built_is_not_claimed_and_is_tried_again(
        engine: Engine, tenant_id: str, reachable: StoreConversations) -> None:
    clock, connector = Clock(MONDAY_8), Connector()
    scheduler = _scheduler(engine, reachable, clock, connector)

    class Broken(FakeRelationships):
        def my_accounts(self, tenant_id: str, user_id: str, now: datetime) -> MyRecordsView:
            raise RuntimeError("store down")
    good = scheduler.relationships
    scheduler.relationships = Broken()
    with pytest.raises(RuntimeError):
        asyncio.run(scheduler.tick())
    assert DigestLedger(engine).status(tenant_id, MANAGER, "2026-11-30") is None
    scheduler.relationships = good
    clock.now += timedelta(minutes=15)
    asyncio.run(scheduler.tick())
    assert len(connector.sent) == 1

"""The resident weekly digest: ``rapport serve`` sends each manager their digest at their weekly slot.

Every tick (at the earliest next slot, and at least every ``poll`` seconds, so new managers and installs are
seen) the scheduler looks at each manager of each tenant with a stored personal conversation: their latest slot
(:func:`bot.digest.schedule.next_run` one week back: weekday and wall time in the manager's zone, else the default
zone) is due when it has passed and is no older than ``catch_up`` (a server that was down on Monday morning still
sends on Monday afternoon, not the Friday after).

Exactly once per manager and week, across restarts and processes, by a ledger in the ``audit_event`` table (no
new table): the row ``digest:{manager}:{slot date}`` is **inserted before the send** (the primary key makes the
claim atomic: a second process or a restarted one cannot claim it again) and updated to ``sent`` or ``failed``
after. A crash between claim and outcome leaves ``sending``: whether Teams got the card is unknown, so it is not
sent again (at most once; duplicating nothing) and is logged. A definite failure (the queue gave up) may be
claimed again on a later tick, up to :data:`MAX_TRIES` times in that week.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from analytics.errors import ConfigError
from analytics.settings import Settings
from analytics.store import models
from bot.conversation.model import ConversationRecord, Principal, Reply
from bot.digest.queue import Outcome, SendQueue
from bot.digest.schedule import next_run
from bot.digest.send import ManagerDirectory, plan_digests
from bot.ports import ConversationStore, Predictions, Relationships
from bot.web.chart_links import ChartLinks
from graph_sync.timezones import zone_or_default

log = logging.getLogger(__name__)

AUDIT = models.table_of(models.AuditEvent)
ACTION = "digest.send"
MAX_TRIES = 3  # definite failures retried on later ticks of the same week
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Slot:
    """When the weekly digest goes out: weekday (0 = Monday) at a wall time, in each manager's zone."""

    weekday: int
    at: time
    default_tz: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Slot:
        try:
            hours, minutes = (int(x) for x in settings.digest_time.split(":"))
            at = time(hours, minutes)
        except ValueError as err:
            raise ConfigError("RAPPORT_DIGEST_TIME", "a time HH:MM, e.g. 08:00", settings.digest_time) from err
        return cls(WEEKDAYS.index(settings.digest_weekday), at, settings.default_timezone)

    def zone(self, manager: Principal) -> str:
        """The manager's IANA zone (their mailbox may name a Windows zone), else the default zone."""
        return zone_or_default(manager.time_zone, self.default_tz)

    def latest(self, now: datetime, tz: str) -> datetime:
        """The most recent slot at or before ``now`` (UTC; slots keep their wall time across DST)."""
        slot = next_run(now - timedelta(days=8), weekday=self.weekday, at=self.at, tz=tz)
        while (later := next_run(slot, weekday=self.weekday, at=self.at, tz=tz)) <= now:
            slot = later
        return slot

    def following(self, now: datetime, tz: str) -> datetime:
        return next_run(now, weekday=self.weekday, at=self.at, tz=tz)


def _event_id(manager_id: str, week: str, attempt: int) -> str:
    raw = f"digest:{manager_id}:{week}#{attempt}"
    if len(raw) <= 64:
        return raw
    return f"digest:{hashlib.sha256(manager_id.encode()).hexdigest()[:32]}:{week}#{attempt}"


class DigestLedger:
    """Claims and outcomes of weekly digests in ``audit_event``: one row per manager, week and try.

    A claim is an insert of the next try's row, so the primary key decides races between processes; a row is
    ``sending`` until :meth:`finish` makes it ``sent`` or ``failed``.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _rows(self, tenant_id: str, manager_id: str, week: str) -> list[dict[str, Any]]:
        ids = [_event_id(manager_id, week, n) for n in range(1, MAX_TRIES + 1)]
        with self._engine.connect() as conn:
            rows = conn.execute(select(AUDIT.c.event_id, AUDIT.c.details).where(
                and_(AUDIT.c.tenant_id == tenant_id, AUDIT.c.event_id.in_(ids)))).all()
        order = {event_id: n for n, event_id in enumerate(ids)}
        return [dict(r.details or {}) for r in sorted(rows, key=lambda r: order[r.event_id])]

    def claim(self, tenant_id: str, manager_id: str, week: str, now: datetime) -> bool:
        """True if this caller may send the digest now (the first try, or a retry after definite failures)."""
        rows = self._rows(tenant_id, manager_id, week)
        if any(r.get("status") == "sent" for r in rows):
            return False
        if any(r.get("status") == "sending" for r in rows):
            log.warning("digest for %s/%s (week %s) was being sent when a process stopped: not sent again",
                        tenant_id, manager_id, week)
            return False
        if len(rows) >= MAX_TRIES:
            return False
        attempt = len(rows) + 1
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(AUDIT).values(
                    tenant_id=tenant_id, event_id=_event_id(manager_id, week, attempt), at=now, actor="rapport",
                    action=ACTION, target=manager_id, details={"week": week, "try": attempt, "status": "sending"}))
        except IntegrityError:
            return False  # another process claimed this try first
        return True

    def finish(self, tenant_id: str, manager_id: str, week: str, outcome: Outcome, now: datetime) -> None:
        """Record what the send did (on the latest try's row)."""
        attempt = len(self._rows(tenant_id, manager_id, week))
        details = {"week": week, "try": attempt, "status": "sent" if outcome.delivered else "failed",
                   "attempts": outcome.attempts, "last_status": outcome.last_status,
                   "conversation_id": outcome.conversation_id}
        with self._engine.begin() as conn:
            conn.execute(update(AUDIT).where(and_(
                AUDIT.c.tenant_id == tenant_id, AUDIT.c.event_id == _event_id(manager_id, week, attempt)
            )).values(details=details, at=now))

    def tries(self, tenant_id: str, manager_id: str, week: str) -> int:
        """How many tries of this week were claimed (by the scheduler or ``rapport digest send``)."""
        return len(self._rows(tenant_id, manager_id, week))

    def status(self, tenant_id: str, manager_id: str, week: str) -> str | None:
        """The latest try's ``sending``, ``sent`` or ``failed``; None if never claimed."""
        rows = self._rows(tenant_id, manager_id, week)
        return str(rows[-1].get("status")) if rows else None


class _Due:
    """A :class:`ManagerDirectory` view limited to the managers chosen for this tick."""

    def __init__(self, directory: ManagerDirectory, chosen: dict[str, list[str]]) -> None:
        self._directory = directory
        self._chosen = chosen

    def managers(self, tenant_id: str) -> list[str]:
        return self._chosen.get(tenant_id, [])

    def principal(self, tenant_id: str, aad_object_id: str) -> Principal | None:
        return self._directory.principal(tenant_id, aad_object_id)


class SchedulerDirectory(ManagerDirectory, Protocol):
    """What the scheduler needs from the directory (:class:`bot.storage.StoreDirectory` provides it)."""

    def tenant_is_active(self, tenant_id: str) -> bool:
        """True if the tenant consented and is not disabled."""
        ...


@dataclass
class DigestScheduler:
    """Sends due weekly digests; :meth:`tick` once, :meth:`run` forever (clock and sleep injected)."""

    slot: Slot
    ledger: DigestLedger
    directory: SchedulerDirectory
    conversations: ConversationStore
    relationships: Relationships
    predictions: Predictions
    charts: ChartLinks | None
    queue: SendQueue
    clock: Callable[[], datetime]
    sleep: Callable[[float], Awaitable[None]]
    catch_up: timedelta = timedelta(hours=12)
    poll: timedelta = timedelta(minutes=15)
    sent: list[tuple[str, str, str, Outcome]] = field(default_factory=list)  # (tenant, manager, week, outcome)

    def _tenants(self) -> list[str]:
        return sorted({r.tenant_id for r in self.conversations.all_personal()
                       if self.directory.tenant_is_active(r.tenant_id)})

    async def tick(self) -> datetime:
        """Send every digest due now; return when the next slot of any manager comes."""
        now = self.clock()
        upcoming = now + self.poll
        for tenant in await asyncio.to_thread(self._tenants):
            for manager_id in await asyncio.to_thread(self.directory.managers, tenant):
                manager = await asyncio.to_thread(self.directory.principal, tenant, manager_id)
                if manager is None:
                    continue
                tz = self.slot.zone(manager)
                upcoming = min(upcoming, self.slot.following(now, tz))
                latest = self.slot.latest(now, tz)
                if now - latest > self.catch_up:
                    continue
                week = latest.astimezone(ZoneInfo(tz)).date().isoformat()
                await self._send_one(tenant, manager_id, week, now)
        return upcoming

    async def _send_one(self, tenant: str, manager_id: str, week: str, now: datetime) -> None:
        if not await asyncio.to_thread(self.conversations.personal_for, tenant, [manager_id]):
            return  # not reachable (yet): looked at again on later ticks of the window
        if await asyncio.to_thread(self.ledger.status, tenant, manager_id, week) in ("sent", "sending"):
            return
        # Build the card before claiming: a failure here sends nothing and leaves the week unclaimed.
        plan = await asyncio.to_thread(
            plan_digests, [tenant], directory=_Due(self.directory, {tenant: [manager_id]}),
            conversations=self.conversations, relationships=self.relationships, predictions=self.predictions,
            charts=self.charts, now=now)
        jobs: Sequence[tuple[ConversationRecord, Reply]] = [(record, reply) for record, reply, _ in plan.jobs]
        if not jobs or not await asyncio.to_thread(self.ledger.claim, tenant, manager_id, week, now):
            return
        [outcome] = await self.queue.run(jobs[:1])
        await asyncio.to_thread(self.ledger.finish, tenant, manager_id, week, outcome, self.clock())
        self.sent.append((tenant, manager_id, week, outcome))
        log.info("weekly digest for %s/%s (week %s): %s after %d attempt(s)", tenant, manager_id, week,
                 "sent" if outcome.delivered else "failed", outcome.attempts)

    async def run(self) -> None:
        """Tick, sleep until the next slot (or the poll interval), forever. Errors are logged, never fatal."""
        log.info("weekly digests: %s %s in each manager's zone (default %s)", WEEKDAYS[self.slot.weekday],
                 self.slot.at.strftime("%H:%M"), self.slot.default_tz)
        while True:
            try:
                upcoming = await self.tick()
            except Exception:  # the scheduler must outlive a bad tick (store down, a bug in one digest)
                log.exception("digest scheduler tick failed")
                upcoming = self.clock() + self.poll
            await self.sleep(max(1.0, (upcoming - self.clock()).total_seconds()))


def scheduler_for(settings: Settings, engine: Engine, *, clock: Callable[[], datetime] | None = None
                  ) -> DigestScheduler:
    """The production scheduler: store-backed ports, the bot's messenger, the paced queue."""
    import random
    import time as _time

    from analytics.query import RelationshipQueries
    from bot.storage import StoreConversations, StoreDirectory, StorePredictions
    from bot.teams_sdk.runtime import build_messenger

    conversations = StoreConversations(engine)
    secret = settings.secret_key.encode("utf-8")
    charts = ChartLinks(secret, settings.bot_public_url) if settings.bot_public_url and secret else None
    messenger = build_messenger(settings, conversations)
    queue = SendQueue(send=messenger.send, clock=_time.monotonic, sleep=asyncio.sleep, random=random.random,
                      wall_clock=_time.time)
    return DigestScheduler(Slot.from_settings(settings), DigestLedger(engine), StoreDirectory(engine), conversations,
                           RelationshipQueries(engine, settings), StorePredictions(engine), charts, queue,
                           clock or (lambda: datetime.now(UTC)), asyncio.sleep)


def attach_scheduler(app: Any, settings: Settings, engine: Engine) -> None:
    """Run the scheduler inside an aiohttp application's lifetime (``rapport serve``), if the settings say so."""
    if not settings.digest_schedule:
        return
    scheduler = scheduler_for(settings, engine)

    async def lifetime(_app: Any) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(scheduler.run(), name="rapport-digest-scheduler")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(lifetime)

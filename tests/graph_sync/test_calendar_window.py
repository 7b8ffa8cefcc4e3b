"""The calendar's moving window (graph_sync.calendar_window), with an injected clock against the emulator:
meetings planned beyond the first window's end are seen once the window moves, history that fell off its past
side stays, what vanished inside it goes, and a re-baseline interrupted half-way resumes without loss or
duplicates. Default window (−365 … +90 days, re-baseline when the end lags by 30 days)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from analytics.settings import Settings
from graph_sync.calendar_window import rebaseline_due
from graph_sync.emulator import EmulatorState
from graph_sync.emulator.tenant import event_span
from graph_sync.tenants import add_tenant
from graph_sync.worker import PassReport, build_worker
from tests.graph_sync.support import CLIENT_ID, CLIENT_SECRET, NOW, Sleeps, emulator, register, synced_users

WINDOW = Settings(secret_key="test-key")  # past 365, future 90, re-baseline 30: the defaults
LATER = NOW + timedelta(days=50)  # the old window ends at NOW+90 < LATER+90-30: due


def _pass(engine: Engine, state: EmulatorState, now: datetime, settings: Settings = WINDOW,
          transport: httpx.AsyncBaseTransport | None = None) -> PassReport:
    async def go() -> PassReport:
        async with build_worker(settings, engine=engine, transport=transport or state.mock_transport(),
                                clock=lambda: now, sleep=Sleeps(), owner="test-worker") as worker:
            return await worker.run_once()
    return asyncio.run(go())


def _event(state: EmulatorState, user: str, template: dict[str, Any], tag: str, start: datetime) -> str:
    end = start + timedelta(hours=1)
    fmt = "%Y-%m-%dT%H:%M:%S.0000000"
    return state.add_event(user, {**{k: v for k, v in template.items() if k != "id"},
                                  "iCalUId": f"window-test-{tag}", "type": "singleInstance",
                                  "start": {"dateTime": start.strftime(fmt), "timeZone": "UTC"},
                                  "end": {"dateTime": end.strftime(fmt), "timeZone": "UTC"}})


def _stored_icals(engine: Engine, users: Iterable[str]) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT a.ical_uid, s.mailbox_id FROM activity_source s JOIN activity a ON a.tenant_id = s.tenant_id "
            "AND a.activity_id = s.activity_id WHERE s.resource = 'events'")).all()
    wanted = set(users)
    return sorted(f"{m}/{i}" for i, m in rows if m in wanted)


def _expected(state: EmulatorState, users: Iterable[str], start: datetime, end: datetime) -> list[str]:
    """Every event the emulator holds that overlaps [start, end) (the union of the windows synced)."""
    lo, hi = start.timestamp(), end.timestamp()
    out = []
    for uid in users:
        for item in state.mailboxes[uid].events.items.values():
            s, e = event_span(item.data)
            if s < hi and e > lo and item.data.get("type") != "seriesMaster":
                out.append(f"{uid}/{item.data['iCalUId']}")
    return sorted(out)


def _window(engine: Engine, user: str) -> tuple[datetime, datetime]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT window_start, window_end FROM sync_state WHERE mailbox_id=:m AND "
                                "resource='events'"), {"m": user}).one()
    return _utc(row[0]), _utc(row[1])


def _utc(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=NOW.tzinfo)


class _Setup:
    """A mailbox with planted meetings: history that will fall off the past side, one deleted there and one
    deleted inside the window between the passes, and one planned beyond the first window's end."""

    def __init__(self, state: EmulatorState, tenant_dir: Path) -> None:
        self.users = synced_users(tenant_dir)
        self.me = next(u for u in self.users if state.mailboxes[u].events.items)
        template = json.loads((tenant_dir / "events" / f"{self.me}.jsonl").read_text().splitlines()[0])
        self.history = _event(state, self.me, template, "history", NOW - timedelta(days=340))
        self.old_gone = _event(state, self.me, template, "old-gone", NOW - timedelta(days=345))
        self.soon_gone = _event(state, self.me, template, "soon-gone", NOW + timedelta(days=10))
        self.state, self.template = state, template

    def between_passes(self) -> None:
        self.state.delete_event(self.me, self.old_gone)
        self.state.delete_event(self.me, self.soon_gone)
        _event(self.state, self.me, self.template, "far", NOW + timedelta(days=120))


def test_rebaseline_due_follows_the_threshold() -> None:
    end = NOW + timedelta(days=90)
    assert not rebaseline_due(WINDOW, end, NOW + timedelta(days=29))
    assert rebaseline_due(WINDOW, end, NOW + timedelta(days=31))
    assert not rebaseline_due(WINDOW, None, NOW)
    short = WINDOW.with_overrides(sync_calendar_future_days=10)  # the threshold is capped at half the future
    assert rebaseline_due(short, NOW + timedelta(days=10), NOW + timedelta(days=6))


def test_window_moves_keeps_history_and_sees_new_meetings(engine: Engine, trimmed_tenant: Path) -> None:
    state = emulator(trimmed_tenant)
    register(engine, state)
    setup = _Setup(state, trimmed_tenant)
    assert _pass(engine, state, NOW).mailboxes_failed == 0
    first = _window(engine, setup.me)
    assert first == (NOW - timedelta(days=365), NOW + timedelta(days=90))
    setup.between_passes()
    assert "window-test-far" not in " ".join(_stored_icals(engine, setup.users))

    report = _pass(engine, state, LATER)
    assert report.mailboxes_failed == 0
    assert _window(engine, setup.me) == (LATER - timedelta(days=365), LATER + timedelta(days=90))
    stored = _stored_icals(engine, setup.users)
    assert len(stored) == len(set(stored))
    assert stored == _expected(state, setup.users, first[0], LATER + timedelta(days=90))
    assert f"{setup.me}/window-test-far" in stored  # beyond the first window's end
    assert f"{setup.me}/window-test-history" in stored  # fell off the past side: kept
    assert f"{setup.me}/window-test-old-gone" not in stored and f"{setup.me}/window-test-soon-gone" not in stored

    # Not due again: the next pass replays each new delta link, one page per calendar, no new enumeration.
    state.log.clear()
    assert _pass(engine, state, LATER + timedelta(days=1)).upserted == 0
    calendar = [r.path for r in state.log if "calendarView/delta" in r.path]
    assert len(calendar) == len(setup.users)

    # An expired token later: the resync's sweep keeps the history outside the window too.
    state.expire_sync_state(setup.me)
    assert _pass(engine, state, LATER + timedelta(days=2)).resyncs >= 1
    assert _stored_icals(engine, setup.users) == stored


class _FailOnce(httpx.AsyncBaseTransport):
    """The emulator's transport, answering 400 to the second page of the first calendar round over the window
    that starts on ``start``: the re-baseline stops half-way, as a crash would leave it (pages committed so far,
    nothing after)."""

    def __init__(self, state: EmulatorState, user: str, start: datetime) -> None:
        self._inner = state.mock_transport()
        self._user, self._start = user, start.strftime("%Y-%m-%dT%H:%M:%S")
        self._armed = False
        self.failed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if not self.failed and f"/users/{self._user}/calendarView/delta" in url:
            if self._start in request.url.params.get("startDateTime", ""):
                self._armed = True
            elif self._armed and "skiptoken" in url:
                self.failed = True
                return httpx.Response(400, json={"error": {"code": "BadRequest", "message": "injected"}})
        return await self._inner.handle_async_request(request)


def test_interrupted_rebaseline_resumes_without_loss_or_duplicates(engine: Engine, trimmed_tenant: Path) -> None:
    state = emulator(trimmed_tenant)
    register(engine, state)
    setup = _Setup(state, trimmed_tenant)
    settings = WINDOW.with_overrides(sync_page_size=5)
    assert _pass(engine, state, NOW, settings).mailboxes_failed == 0
    first = _window(engine, setup.me)
    setup.between_passes()

    new_start = LATER - timedelta(days=365)
    failing = _FailOnce(state, setup.me, new_start)
    report = _pass(engine, state, LATER, settings, failing)
    assert failing.failed and report.mailboxes_failed == 1
    with engine.connect() as conn:  # the new window's round is half done: a next link, no delta link
        next_link, delta_link = conn.execute(text(
            "SELECT next_link, delta_link FROM sync_state WHERE mailbox_id=:m AND resource='events'"),
            {"m": setup.me}).one()
    assert next_link and delta_link is None
    assert _window(engine, setup.me)[0] == new_start
    # Meanwhile a meeting inside the new window vanishes.
    victim = next(i for i in state.mailboxes[setup.me].events.items.values()
                  if not i.data["iCalUId"].startswith("window-test-") and event_span(i.data)[0] > new_start.timestamp())
    state.delete_event(setup.me, victim.id)

    state.log.clear()
    assert _pass(engine, state, LATER, settings).mailboxes_failed == 0
    calendar = [r.path for r in state.log if f"/users/{setup.me}/calendarView/delta" in r.path]
    assert calendar, "the calendar was synced again"
    stored = _stored_icals(engine, setup.users)
    assert len(stored) == len(set(stored))
    assert stored == _expected(state, setup.users, first[0], LATER + timedelta(days=90))
    assert f"{setup.me}/window-test-history" in stored and f"{setup.me}/window-test-far" in stored
    assert f"{setup.me}/{victim.data['iCalUId']}" not in stored


def test_range_polling_moves_its_window_too(engine: Engine, trimmed_tenant: Path) -> None:
    state = emulator(trimmed_tenant)
    add_tenant(engine, tenant_id=state.tenant_id, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, now=NOW,
               graph_base_url="https://graph.microsoft.com/v1.0", authority="https://login.microsoftonline.com",
               emulator=True, subject_policy="hash", granted_scopes=["Mail.ReadBasic.All", "Calendars.ReadBasic.All"])
    setup = _Setup(state, trimmed_tenant)
    assert _pass(engine, state, NOW).mailboxes_failed == 0
    assert not any("calendarView/delta" in r.path for r in state.log)  # polling, not delta
    first = _window(engine, setup.me)
    setup.between_passes()
    assert _pass(engine, state, LATER).mailboxes_failed == 0
    assert _window(engine, setup.me) == (LATER - timedelta(days=365), LATER + timedelta(days=90))
    stored = _stored_icals(engine, setup.users)
    assert len(stored) == len(set(stored))
    # The old window is listed one last time before the new one, so old-gone's deletion is seen too.
    assert stored == _expected(state, setup.users, first[0], LATER + timedelta(days=90))
    assert f"{setup.me}/window-test-far" in stored and f"{setup.me}/window-test-history" in stored
    assert f"{setup.me}/window-test-old-gone" not in stored and f"{setup.me}/window-test-soon-gone" not in stored

"""The calendar's moving window.

A ``calendarView/delta`` round is bound to the window its first request named (``startDateTime`` …
``endDateTime``); its delta links keep that window forever. The window is stored with the resource
(``sync_state.window_start/end``). Left alone, a window fixed at the first sync would, months later, end in the
past, and meetings planned beyond its end would never be seen.

So once the stored window's end falls more than ``sync_calendar_rebaseline_days`` behind ``now +
sync_calendar_future_days`` (capped at half of ``future_days``, so the window always reaches at least half of it
ahead), the calendar is **re-baselined**: after the current round completes on the old window (so changes up to
now are applied), a new delta round enumerates the new window ``now − past_days … now + future_days`` as a
full enumeration. Its pages are committed like any other (each with its link and the new window, in one
transaction); at its delta link, the events of this mailbox **inside the new window** that it did not report
are removed. Events outside the new window are never swept: the ones that fell off the past side are history
the analytics use, and a resync's sweep (after an expired token) keeps them too.

Crash safety: the new window is stored with the first page of the new round; a crash mid-round leaves a row
with a next link, no delta link and a past success, which the next run restarts as a full enumeration of the
stored (new) window from its initial URL (the in-memory set of seen ids is gone, so resuming could not sweep).
Range polling (``calendarView`` without ``Calendars.Read``) enumerates the whole window every round anyway: it
simply switches to the new window once the old one is due.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, or_, select

from analytics.settings import Settings
from analytics.store import models

SRC = models.table_of(models.ActivitySource)
ACT = models.table_of(models.Activity)


def desired_window(settings: Settings, now: datetime) -> tuple[datetime, datetime]:
    """The window a calendar synced for the first time at ``now`` gets."""
    return (now - timedelta(days=settings.sync_calendar_past_days),
            now + timedelta(days=settings.sync_calendar_future_days))


def rebaseline_due(settings: Settings, window_end: datetime | None, now: datetime) -> bool:
    """Whether a calendar whose stored window ends at ``window_end`` should move to a new window."""
    if window_end is None:
        return False  # never synced: the first round takes the desired window anyway
    future = settings.sync_calendar_future_days
    slack = min(settings.sync_calendar_rebaseline_days, max(1, future // 2))
    return window_end < now + timedelta(days=future - slack)


def outside_window(conn: Connection, tenant_id: str, mailbox_id: str, window: tuple[datetime, datetime]) -> set[str]:
    """Source ids of the mailbox's event sightings whose meeting lies wholly outside ``window`` (a calendar
    enumeration of that window cannot report them, so a sweep must keep them)."""
    start, end = window
    ends = func.coalesce(ACT.c.end_at, ACT.c.start_at)
    q = (select(SRC.c.source_id)
         .join(ACT, and_(ACT.c.tenant_id == SRC.c.tenant_id, ACT.c.activity_id == SRC.c.activity_id))
         .where(SRC.c.tenant_id == tenant_id, SRC.c.mailbox_id == mailbox_id, SRC.c.resource == "events",
                or_(ACT.c.start_at >= end, ends <= start)))
    return set(conn.execute(q).scalars())

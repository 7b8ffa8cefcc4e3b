"""When the weekly digest goes out: a pure next-run function (table-tested; the caller passes the time)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DIGEST_WEEKDAY = 0  # Monday
DIGEST_TIME = time(8, 0)


def next_run(after: datetime, *, weekday: int = DIGEST_WEEKDAY, at: time = DIGEST_TIME, tz: str = "UTC") -> datetime:
    """The first instant strictly after ``after`` (aware) that is ``weekday`` at wall time ``at`` in ``tz``, in UTC.

    Wall time is kept across daylight-saving changes (08:00 stays 08:00 local). A wall time that does not exist
    on that day (inside a spring-forward gap) is read with ``fold=0``, i.e. shifted forward by the gap.
    """
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    zone = ZoneInfo(tz)
    local = after.astimezone(zone)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    for _ in range(3):
        candidate = datetime.combine(day, at, tzinfo=zone)
        # Normalise through UTC so a time inside a DST gap becomes a real instant.
        instant = candidate.astimezone(UTC)
        if instant > after.astimezone(UTC):
            return instant
        day += timedelta(days=7)
    raise AssertionError("unreachable: a later week always qualifies")

"""The weekly digest's next run: a pure function, table-tested (time zones, DST, boundaries)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot.digest.schedule import next_run

CASES = [
    # after (UTC)                          tz                 expected (UTC)                        why
    (datetime(2026, 11, 2, 7, 59, tzinfo=UTC), "UTC", datetime(2026, 11, 2, 8, 0, tzinfo=UTC)),   # same Monday
    (datetime(2026, 11, 2, 8, 0, tzinfo=UTC), "UTC", datetime(2026, 11, 9, 8, 0, tzinfo=UTC)),    # strictly after
    (datetime(2026, 11, 4, 12, 0, tzinfo=UTC), "UTC", datetime(2026, 11, 9, 8, 0, tzinfo=UTC)),   # mid-week
    (datetime(2026, 11, 8, 23, 30, tzinfo=UTC), "Asia/Shanghai", datetime(2026, 11, 9, 0, 0, tzinfo=UTC)),
    (datetime(2026, 11, 9, 0, 0, tzinfo=UTC), "Asia/Shanghai", datetime(2026, 11, 16, 0, 0, tzinfo=UTC)),
    (datetime(2026, 11, 1, 12, 0, tzinfo=UTC), "America/New_York", datetime(2026, 11, 2, 13, 0, tzinfo=UTC)),  # EST
    (datetime(2026, 3, 5, 12, 0, tzinfo=UTC), "America/New_York", datetime(2026, 3, 9, 12, 0, tzinfo=UTC)),  # EDT
    (datetime(2026, 3, 27, 12, 0, tzinfo=UTC), "Europe/Berlin", datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),  # CEST
    (datetime(2026, 10, 21, 12, 0, tzinfo=UTC), "Europe/Berlin", datetime(2026, 10, 26, 7, 0, tzinfo=UTC)),  # CET
]


@pytest.mark.parametrize("after,tz,expected", CASES)
def test_next_run_is_the_next_monday_8am_local(after: datetime, tz: str, expected: datetime) -> None:
    assert next_run(after, tz=tz) == expected


def test_a_wall_time_inside_the_spring_forward_gap_moves_forward() -> None:
    # 2026-03-08 02:30 does not exist in New York (clocks jump 02:00 → 03:00): it becomes 03:30 EDT.
    got = next_run(datetime(2026, 3, 7, 0, 0, tzinfo=UTC), weekday=6, at=time(2, 30), tz="America/New_York")
    assert got == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        next_run(datetime(2026, 11, 2, 8, 0))

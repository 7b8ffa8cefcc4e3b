"""Turn a :class:`TimeSpec` into datetimes for a reference instant and an IANA zone (pure, never raising).

Conventions (documented in ``docs/notes.md``):

* a date without a year is the next such date on or after today; a bare weekday is the coming one (today
  counts); "next Tuesday" is Tuesday of next week (weeks start on Monday), "this Tuesday" of this week;
* a clock time without a date is today; an hour without am/pm from 1 to 7 is afternoon (business hours);
* parts of the day start at morning 08:00, noon 12:00, afternoon 12:00, evening 16:00, night 20:00; EOD is
  17:00 (close of business);
* periods resolve to their first day ("next week" → Monday), "end of" a period to its last day (end of the
  week → Friday), "Q3" to 1 July of the coming Q3;
* offsets in minutes/hours are added to now; in days or more they give a date.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from analytics.nlp.timespec import TimeSpec

POD_HOURS: dict[str, tuple[int, int]] = {
    "morning": (8, 12), "noon": (12, 13), "afternoon": (12, 16), "evening": (16, 20), "night": (20, 23),
    "eod": (17, 17),
}


@dataclass(frozen=True)
class Resolved:
    """Where an expression lands: start (aware, in the note's zone), optional end and duration, and grain.

    ``grain`` is ``"minute"`` when a clock time is known, ``"part"`` for a part of the day, ``"day"`` when
    only the date is known, and ``"duration"`` for a bare duration (then ``start`` is None).
    """

    start: datetime | None
    end: datetime | None
    duration: timedelta | None
    grain: str


def _add_months(d: date, months: int) -> date:
    idx = d.year * 12 + d.month - 1 + months
    y, m = divmod(idx, 12)
    y = min(max(y, 1), 9998)
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def _safe_date(y: int, m: int, d: int) -> date | None:
    if not (1 <= y <= 9998 and 1 <= m <= 12):
        return None
    if not 1 <= d <= calendar.monthrange(y, m)[1]:
        return None
    return date(y, m, d)


def _period_date(spec: TimeSpec, today: date) -> date | None:
    shift = spec.period_shift or 0
    edge = spec.period_edge
    monday = today - timedelta(days=today.weekday())
    if spec.period == "quarter" or spec.quarter is not None:
        cur_q = (today.month - 1) // 3 + 1
        if spec.quarter is not None:
            q, y = spec.quarter, spec.year or today.year
            if spec.year is None and spec.period_shift is None and q < cur_q:
                y += 1
            y += shift if spec.period_shift else 0
        else:
            q, y = cur_q + shift, today.year
            y, q = y + (q - 1) // 4, (q - 1) % 4 + 1
        first = date(y, 3 * q - 2, 1)
        return _add_months(first, 3) - timedelta(days=1) if edge == "end" else first
    if spec.period in ("week", "weekend"):
        start = monday + timedelta(weeks=shift)
        if spec.weekday is not None:
            return start + timedelta(days=spec.weekday)
        if spec.period == "weekend":
            return start + timedelta(days=5)
        return start + timedelta(days=4) if edge == "end" else start + timedelta(days=2) if edge == "mid" else start
    if spec.period == "month":
        first = _add_months(today.replace(day=1), shift)
        if edge == "end":
            return _add_months(first, 1) - timedelta(days=1)
        return first.replace(day=15) if edge == "mid" else first
    if spec.period == "year":
        y = today.year + shift
        return date(y, 12, 31) if edge == "end" else date(y, 7, 1) if edge == "mid" else date(y, 1, 1)
    return None


def _date_of(spec: TimeSpec, now: datetime) -> date | None:
    today = now.date()
    if spec.month is not None and spec.day is None:
        y = spec.year or today.year
        if spec.year is None and spec.month < today.month:
            y += 1
        first = _safe_date(y, spec.month, 1)
        if first is None:
            return None
        if spec.period_edge == "end":
            return _add_months(first, 1) - timedelta(days=1)
        return first.replace(day=15) if spec.period_edge == "mid" else first
    if spec.day is not None:
        if spec.month is None:
            d = _safe_date(today.year, today.month, spec.day)
            if d is None or d < today:
                nxt = _add_months(today.replace(day=1), 1)
                d = _safe_date(nxt.year, nxt.month, spec.day)
            return d
        if spec.year is not None:
            return _safe_date(spec.year, spec.month, spec.day)
        d = _safe_date(today.year, spec.month, spec.day)
        if d is None or d < today:
            d = _safe_date(today.year + 1, spec.month, spec.day) or d
        return d
    if spec.day_offset is not None:
        return today + timedelta(days=spec.day_offset)
    if spec.period is not None or spec.quarter is not None:
        return _period_date(spec, today)
    if spec.weekday is not None:
        if spec.offset_unit in ("day", "week") and spec.offset_amount is not None:
            # "in two weeks on Wednesday": that weekday in the week the offset lands in.
            landed = _offset(now, spec.offset_amount, spec.offset_unit).date()
            return landed - timedelta(days=landed.weekday() - spec.weekday)
        if spec.week_shift is None:
            return today + timedelta(days=(spec.weekday - today.weekday()) % 7)
        monday = today - timedelta(days=today.weekday())
        return monday + timedelta(weeks=spec.week_shift, days=spec.weekday)
    if spec.offset_unit is not None and spec.offset_amount is not None:
        return _offset(now, spec.offset_amount, spec.offset_unit).date()
    return None


def _offset(now: datetime, amount: float, unit: str) -> datetime:
    if unit == "month":
        return datetime.combine(_add_months(now.date(), round(amount)), now.time(), now.tzinfo)
    if unit == "year":
        return datetime.combine(_add_months(now.date(), 12 * round(amount)), now.time(), now.tzinfo)
    per = {"minute": 1, "hour": 60, "day": 1440, "week": 10080}[unit]
    return now + timedelta(minutes=amount * per)


def _hour24(spec: TimeSpec) -> int | None:
    if spec.hour is None:
        return None
    h = spec.hour
    if spec.meridiem == "pm" and h < 12:
        return h + 12
    if spec.meridiem == "am" and h == 12:
        return 0
    if spec.meridiem is None and h < 12:
        pod = spec.part_of_day
        if pod in ("afternoon", "evening", "night") or (pod is None and 1 <= h <= 7):
            return h + 12
    return h


def resolve(spec: TimeSpec, now: datetime, tz: str | ZoneInfo, base: date | None = None) -> Resolved:
    """Resolve ``spec`` against ``now`` in zone ``tz``; ``base`` is the date of a range's start, for its end."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    local_now = now.astimezone(zone)
    duration = timedelta(minutes=spec.duration_minutes) if spec.duration_minutes else None
    try:
        if (spec.offset_unit in ("minute", "hour") and spec.offset_amount is not None
                and spec.hour is None and spec.day is None):
            start = _offset(local_now, spec.offset_amount, spec.offset_unit).replace(second=0, microsecond=0)
            return Resolved(start, start + duration if duration else None, duration, "minute")
        day = _date_of(spec, local_now)
        h24 = _hour24(spec)
        if day is None and (h24 is not None or spec.part_of_day is not None):
            day = base or local_now.date()
        if day is None:
            return Resolved(None, None, duration, "duration" if duration else "none")
        if h24 is not None:
            if h24 == 24:
                start = datetime.combine(day + timedelta(days=1), time(0, spec.minute or 0), zone)
            else:
                start = datetime.combine(day, time(h24, spec.minute or 0), zone)
            grain = "minute"
        elif spec.part_of_day is not None:
            start = datetime.combine(day, time(POD_HOURS[spec.part_of_day][0]), zone)
            grain = "part" if spec.part_of_day != "eod" else "minute"
        else:
            start = datetime.combine(day, time(0), zone)
            grain = "day"
        end: datetime | None = None
        if spec.end is not None:
            end_spec = replace(spec.end)
            if end_spec.part_of_day is None and end_spec.meridiem is None and spec.part_of_day != "eod":
                # "下午2点到3点", "8 to 10 in the evening": the end shares the start's part of the day.
                end_spec.part_of_day = spec.part_of_day
            end = resolve(end_spec, now, zone, base=day).start
            if end is not None and end <= start and spec.end.hour is not None and not spec.end.has_date():
                end = None
        if end is None and duration is not None:
            end = start + duration
        elif end is not None and duration is None and grain == "minute":
            duration = end - start
        return Resolved(start, end, duration, grain)
    except (ValueError, OverflowError, KeyError):
        # Out-of-range years and impossible dates resolve to nothing rather than failing the note.
        return Resolved(None, None, duration, "none")

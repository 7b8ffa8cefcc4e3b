"""The unresolved meaning of a date/time expression, as extracted from text before a clock is consulted.

Extractors (``datetime_en``, ``datetime_zh``) fill a :class:`TimeSpec` from what the words say; the pure
function :func:`analytics.nlp.resolve.resolve` turns it into datetimes for a reference time and zone. Keeping
the two apart lets one spaCy pipeline serve every request whatever its clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

# Period units a spec can name ("next week", "end of the month", "Q3").
PERIODS = ("week", "weekend", "month", "quarter", "year")


@dataclass
class TimeSpec:
    """What an expression says about a point (or range) in time; every field is optional."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    day_offset: int | None = None  # today = 0, tomorrow = 1
    weekday: int | None = None  # Monday = 0
    week_shift: int | None = None  # None: the coming one; 0 this week, 1 next week, -1 last week
    hour: int | None = None
    minute: int | None = None
    meridiem: str | None = None  # "am" | "pm"
    part_of_day: str | None = None  # morning, noon, afternoon, evening, night, eod
    period: str | None = None  # one of PERIODS
    period_shift: int | None = None
    period_edge: str | None = None  # "start" | "mid" | "end"
    quarter: int | None = None
    offset_amount: float | None = None  # "in two weeks" -> 2 weeks; "three days ago" -> -3 days
    offset_unit: str | None = None  # minute, hour, day, week, month, year
    duration_minutes: int | None = None
    end: TimeSpec | None = field(default=None, repr=False)

    def has_time(self) -> bool:
        """Whether a clock time or a part of the day is named."""
        return self.hour is not None or self.part_of_day is not None

    def has_date(self) -> bool:
        """Whether anything names a day, a period or an offset from now."""
        return any(
            v is not None
            for v in (self.year, self.month, self.day, self.day_offset, self.weekday, self.period,
                      self.quarter, self.offset_unit)
        )

    def is_empty(self) -> bool:
        """True when the spec names neither a time, a date nor a duration."""
        return not (self.has_time() or self.has_date() or self.duration_minutes is not None)

    def absorb(self, other: TimeSpec) -> None:
        """Fill this spec's unset fields from ``other`` (used to merge adjacent pieces of one expression)."""
        for f in fields(self):
            if f.name == "end":
                continue
            if getattr(self, f.name) is None and getattr(other, f.name) is not None:
                setattr(self, f.name, getattr(other, f.name))
        if self.end is None and other.end is not None:
            self.end = other.end


@dataclass(frozen=True)
class RawTime:
    """One date/time expression found in text: character offsets, the text and its unresolved spec."""

    start: int
    end: int
    text: str
    spec: TimeSpec

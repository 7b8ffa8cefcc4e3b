"""English date/time expressions: regex atoms read into :class:`TimeSpec`, joined by ``timegroup``.

Covers the forms sales notes use: ISO and US numeric dates, month-name dates, weekdays with this/next/last,
today/tomorrow, clock times (4pm, 16:00, 4:30 p.m., noon, "at 4"), parts of the day, EOD/EOW/EOM, periods
(next week, end of the month, Q3), offsets (in two weeks, 3 days from now), time ranges (2-3pm) and
durations (for 30 minutes, a 45-minute call).
"""

from __future__ import annotations

import re

from analytics.nlp.numbers import EN_NUMBER_RE, en_number
from analytics.nlp.timegroup import AtomRule, find_atoms, group_atoms
from analytics.nlp.timespec import RawTime, TimeSpec

_I = re.IGNORECASE
MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
          "oct": 10, "nov": 11, "dec": 12}
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_MON = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
        r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_WD = r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)"
_MER = r"(?:a\.?m\.?|p\.?m\.?)(?![a-z])"
_HOURWORDS = {w: n for w, n in (("one", 1), ("two", 2), ("three", 3), ("four", 4), ("five", 5), ("six", 6),
                                ("seven", 7), ("eight", 8), ("nine", 9), ("ten", 10), ("eleven", 11),
                                ("twelve", 12))}
_HW = "|".join(_HOURWORDS)
_UNIT = r"(?:min(?:ute)?s?|hours?|hrs?|days?|weeks?|wks?|months?|years?)"
_NUM = rf"(?:\d+(?:\.\d+)?|{EN_NUMBER_RE})"
# Lower-case abbreviations that are also ordinary words are accepted only when capitalised.
_AMBIGUOUS_LOWER = {"may", "mar", "march", "sat", "sun", "wed", "mon", "thu", "jan", "jun"}


def _month(word: str) -> int | None:
    return MONTHS.get(word.lower().rstrip(".")[:3])


def _weekday(word: str) -> int | None:
    return WEEKDAYS.get(word.lower().rstrip(".")[:3])


def _year(raw: str | None) -> int | None:
    if not raw:
        return None
    y = int(raw)
    return y + 2000 if y < 100 else y


def _meridiem(raw: str | None) -> str | None:
    if not raw:
        return None
    return "am" if raw.lower().startswith("a") else "pm"


def _valid_hm(h: int, mi: int) -> bool:
    return 0 <= h <= 24 and 0 <= mi < 60


def _iso(m: re.Match[str]) -> TimeSpec | None:
    mo, d = int(m["m"]), int(m["d"])
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    spec = TimeSpec(year=int(m["y"]), month=mo, day=d)
    if m["h"] is not None:
        h, mi = int(m["h"]), int(m["mi"])
        if not _valid_hm(h, mi):
            return None
        spec.hour, spec.minute = h, mi
    return spec


def _numdate(m: re.Match[str]) -> TimeSpec | None:
    a, b = int(m["a"]), int(m["b"])
    # US order by default; a first number over 12 can only be a day.
    mo, d = (a, b) if a <= 12 else (b, a)
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return TimeSpec(year=_year(m["y"]), month=mo, day=d)


def _month_day(m: re.Match[str]) -> TimeSpec | None:
    mon = m["mon"]
    if mon.lower().rstrip(".") in _AMBIGUOUS_LOWER and mon[0].islower() and m["wd"] is None:
        return None
    mo, d = _month(mon), int(m["d"])
    if mo is None or not 1 <= d <= 31:
        return None
    return TimeSpec(year=_year(m["y"]), month=mo, day=d)


def _month_only(m: re.Match[str]) -> TimeSpec | None:
    mon = m["mon"]
    if mon[0].islower() or len(mon.rstrip(".")) < 3:
        return None
    edge = (m["edge"] or "").lower()
    spec = TimeSpec(year=_year(m["y"]), month=_month(mon))
    if "end" in edge or "late" in edge:
        spec.period_edge = "end"
    elif "mid" in edge:
        spec.period_edge = "mid"
    return spec


def _ordinal_day(m: re.Match[str]) -> TimeSpec | None:
    d = int(m["d"])
    return TimeSpec(day=d) if 1 <= d <= 31 else None


def _weekday_rule(m: re.Match[str]) -> TimeSpec | None:
    word = m["wd"]
    if word.lower().rstrip(".") in _AMBIGUOUS_LOWER and word[0].islower():
        return None
    mod = (m["mod"] or "").lower().split()
    shift = None
    if mod:
        shift = {"this": 0, "next": 1, "last": -1, "coming": None, "following": 1}.get(mod[-1])
    return TimeSpec(weekday=_weekday(word), week_shift=shift)


def _relday(m: re.Match[str]) -> TimeSpec | None:
    w = " ".join(m.group(0).lower().split())
    if "after" in w:
        return TimeSpec(day_offset=2)
    if "before" in w:
        return TimeSpec(day_offset=-2)
    if w.startswith("tonight"):
        return TimeSpec(day_offset=0, part_of_day="night")
    if w.startswith("yest"):
        return TimeSpec(day_offset=-1)
    if w.startswith("tod"):
        return TimeSpec(day_offset=0)
    return TimeSpec(day_offset=1)


def _clock(m: re.Match[str]) -> TimeSpec | None:
    g = m.groupdict()
    h = int(g["h"]) if g.get("h") else _HOURWORDS.get((g.get("hw") or "").lower())
    if h is None:
        return None
    mi = int(g["mi"]) if g.get("mi") else 0
    if g.get("mw"):
        mi = {"fifteen": 15, "thirty": 30, "forty-five": 45}.get(g["mw"].lower(), 0)
    mer = _meridiem(g.get("mer"))
    if not _valid_hm(h, mi) or (mer and not 1 <= h <= 12):
        return None
    return TimeSpec(hour=h, minute=mi, meridiem=mer)


def _past_to(m: re.Match[str]) -> TimeSpec | None:
    h = int(m["h"]) if m["h"] else _HOURWORDS.get((m["hw"] or "").lower())
    if h is None or not 1 <= h <= 12:
        return None
    kind = m["kind"].lower()
    if "to" in kind.split():
        return TimeSpec(hour=h - 1 if h > 1 else 12, minute=45, meridiem=_meridiem(m["mer"]))
    return TimeSpec(hour=h, minute=30 if "half" in kind else 15, meridiem=_meridiem(m["mer"]))


def _named_time(m: re.Match[str]) -> TimeSpec | None:
    w = m.group(0).lower()
    if "midnight" in w:
        return TimeSpec(hour=0, minute=0)
    return TimeSpec(hour=12, minute=0)


def _time_range(m: re.Match[str]) -> TimeSpec | None:
    h1, h2 = int(m["h1"]), int(m["h2"])
    m1, m2 = int(m["m1"] or 0), int(m["m2"] or 0)
    mer1, mer2 = _meridiem(m["mer1"]), _meridiem(m["mer2"])
    colon = m["m1"] is not None and m["m2"] is not None
    if not (mer1 or mer2 or colon) or not (_valid_hm(h1, m1) and _valid_hm(h2, m2)):
        return None
    if mer2 and not mer1 and h1 <= 12:
        # "11 to 1pm" crosses noon; "2 to 3pm" stays in the afternoon.
        mer1 = "am" if mer2 == "pm" and h1 > h2 and h1 != 12 else mer2
    end = TimeSpec(hour=h2, minute=m2, meridiem=mer2 or mer1)
    return TimeSpec(hour=h1, minute=m1, meridiem=mer1, end=end)


_POD = {"morning": "morning", "afternoon": "afternoon", "evening": "evening", "night": "night",
        "lunch": "noon", "lunchtime": "noon", "noon": "noon", "midday": "noon", "eod": "eod", "cob": "eod",
        "eob": "eod", "first": "morning"}


def _part_of_day(m: re.Match[str]) -> TimeSpec | None:
    w = m.group("pod").lower()
    if "end" in w or "close" in w:
        return TimeSpec(part_of_day="eod")
    key = w.split()[0]
    pod = _POD.get(key)
    return TimeSpec(part_of_day=pod) if pod else None


def _period(m: re.Match[str]) -> TimeSpec | None:
    edge_raw = (m["edge"] or "").lower()
    mod = " ".join((m["mod"] or "").lower().split())
    if not edge_raw and not mod and m["unit"].lower() != "weekend":
        return None
    shift = {"": 0, "this": 0, "current": 0, "next": 1, "last": -1, "the following": 1, "following": 1,
             "coming": 1, "the next": 1}.get(mod, 0)
    edge = None
    if edge_raw:
        edge = "end" if "end" in edge_raw else "mid" if "middle" in edge_raw else "start"
    return TimeSpec(period=m["unit"].lower(), period_shift=shift, period_edge=edge)


def _abbrev_period(m: re.Match[str]) -> TimeSpec | None:
    unit = {"eow": "week", "eom": "month", "eoq": "quarter", "eoy": "year"}[m.group(0).lower()]
    return TimeSpec(period=unit, period_shift=0, period_edge="end")


def _quarter(m: re.Match[str]) -> TimeSpec | None:
    q = int(m["q"]) if m["q"] else {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3,
                                    "fourth": 4, "4th": 4}[m["qw"].lower()]
    shift = {"next": 1, "last": -1, "this": 0}.get((m["mod"] or "").lower())
    return TimeSpec(quarter=q, year=_year(m["y"] or m["y2"]), period="quarter", period_shift=shift,
                    period_edge="end" if m["qedge"] else None)


def _unit(raw: str) -> str:
    r = raw.lower()
    if r.startswith("mi"):
        return "minute"
    if r.startswith("h"):
        return "hour"
    if r.startswith("d"):
        return "day"
    if r.startswith("w"):
        return "week"
    return "month" if r.startswith("mo") else "year"


def _offset(m: re.Match[str]) -> TimeSpec | None:
    if m["half"]:
        return TimeSpec(offset_amount=30, offset_unit="minute")
    n = en_number(m["n"])
    if n is None or n > 1000:
        return None
    sign = -1 if (m["ago"] or "").lower() == "ago" else 1
    return TimeSpec(offset_amount=sign * n, offset_unit=_unit(m["unit"]))


def _duration(m: re.Match[str]) -> TimeSpec | None:
    w = m.group(0).lower()
    if "half an hour" in w or "half-hour" in w or "half hour" in w:
        return TimeSpec(duration_minutes=30)
    n = en_number(m["n"]) if m["n"] else None
    if n is None or n > 1000:
        return None
    if "and a half" in w:
        n += 0.5
    minutes = n * 60 if _unit(m["unit"]) == "hour" else n
    return TimeSpec(duration_minutes=round(minutes))


RULES: tuple[AtomRule, ...] = (
    AtomRule("iso", re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ](?P<h>\d{1,2}):(?P<mi>\d{2}))?\b"), _iso),
    AtomRule("numdate", re.compile(r"(?<![\d/.])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?(?![\d/])"), _numdate),
    AtomRule("month_day", re.compile(
        rf"\b(?:(?P<wd>{_WD}),?\s+)?(?P<mon>{_MON})\s*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?", _I), _month_day),
    AtomRule("day_month", re.compile(
        rf"\b(?:(?P<wd>{_WD}),?\s+)?(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MON})(?![a-z])(?:,?\s+(?P<y>\d{{4}})\b)?", _I), _month_day),
    AtomRule("month_only", re.compile(
        rf"\b(?:(?P<edge>early|mid|late|(?:the\s+)?(?:end|beginning|start|middle)\s+of)[\s-]+)?(?P<mon>{_MON})(?![a-z])(?:\s+(?P<y>\d{{4}})\b)?", _I), _month_only),
    AtomRule("ordinal_day", re.compile(r"\bthe\s+(?P<d>\d{1,2})(?:st|nd|rd|th)\b", _I), _ordinal_day),
    AtomRule("weekday", re.compile(
        rf"\b(?:(?P<mod>this(?:\s+coming)?|next|last|coming|following)\s+)?(?P<wd>{_WD})\b\.?", _I), _weekday_rule),
    AtomRule("relday", re.compile(
        r"\b(?:(?:the\s+)?day\s+after\s+tomorrow|(?:the\s+)?day\s+before\s+yesterday|today|tonight|tomorrow|tmrw|tmr|tomorow|yesterday)\b", _I), _relday),
    AtomRule("clock_mer", re.compile(rf"\b(?P<h>\d{{1,2}})(?:[:.](?P<mi>\d{{2}}))?\s*(?P<mer>{_MER})", _I), _clock),
    AtomRule("clock_colon", re.compile(r"(?<![\d:])(?P<h>\d{1,2}):(?P<mi>\d{2})(?![\d:])(?!\s*%)"), _clock),
    AtomRule("clock_at", re.compile(
        rf"\b(?:at|@|around|@ )\s*(?:(?P<h>\d{{1,2}})|(?P<hw>{_HW}))(?:\s+(?P<mw>fifteen|thirty|forty-five))?(?:\s*(?P<mer>{_MER}))?(?![\d:./-]?\d|\s*(?:%|percent|people|persons|users|seats|licen[cs]es|units|reps|of|x|k|m)\b)", _I), _clock),
    AtomRule("clock_word", re.compile(
        rf"\b(?:(?P<h>\d{{1,2}})|(?P<hw>{_HW}))(?:\s+(?P<mw>fifteen|thirty|forty-five))?\s*(?:(?P<mer>{_MER})|o'?clock)", _I), _clock),
    AtomRule("past_to", re.compile(
        rf"\b(?P<kind>half\s+past|quarter\s+past|quarter\s+to)\s+(?:(?P<h>\d{{1,2}})|(?P<hw>{_HW}))(?:\s*(?P<mer>{_MER}))?", _I), _past_to),
    AtomRule("named_time", re.compile(r"\b(?:at\s+)?(?:noon|midday|midnight)\b", _I), _named_time),
    AtomRule("time_range", re.compile(
        rf"\b(?:from\s+|between\s+)?(?P<h1>\d{{1,2}})(?:[:.](?P<m1>\d{{2}}))?\s*(?P<mer1>{_MER})?\s*(?:-|–|—|to|until|till|and)\s*(?P<h2>\d{{1,2}})(?:[:.](?P<m2>\d{{2}}))?\s*(?P<mer2>{_MER})?", _I), _time_range),
    AtomRule("part_of_day", re.compile(
        r"\b(?:(?:in|during)\s+the\s+|this\s+|over\s+)?(?P<pod>morning|afternoon|evening|night|lunch(?:time)?|end\s+of\s+(?:the\s+)?(?:business\s+)?day|eod|cob|eob|close\s+of\s+business|first\s+thing)\b", _I), _part_of_day),
    AtomRule("period", re.compile(
        r"\b(?P<edge>(?:by\s+)?(?:the\s+)?(?:end|beginning|start|middle)\s+of\s+(?:the\s+)?)?(?P<mod>this|next|last|(?:the\s+)?following|coming|current|the\s+next)?\s*(?P<unit>week|weekend|month|quarter|year)\b", _I), _period),
    AtomRule("abbrev_period", re.compile(r"\b(?:eow|eom|eoq|eoy)\b", _I), _abbrev_period),
    AtomRule("quarter", re.compile(
        r"\b(?P<qedge>(?:the\s+)?end\s+of\s+(?:the\s+)?)?(?:(?P<mod>next|this|last)\s+)?(?:Q(?P<q>[1-4])|(?P<qw>first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter)(?:\s+(?:of\s+)?(?P<y>\d{4})|\s*'?(?P<y2>\d{2})\b)?", _I), _quarter),
    AtomRule("offset", re.compile(
        rf"\b(?:(?:in|within)\s+(?:(?P<half>half\s+an\s+hour)|(?:the\s+next\s+)?(?P<n>{_NUM})\s+(?P<unit>{_UNIT})\b)"
        rf"|(?P<n2>{_NUM})\s+(?P<unit2>{_UNIT})\s+(?P<ago>from\s+now|from\s+today|later|ago))", _I), lambda m: _offset_any(m)),
    AtomRule("duration", re.compile(
        rf"\b(?:for\s+)?(?:half\s+an\s+hour|half[- ]hour|(?P<n>{_NUM})(?:\s+and\s+a\s+half)?\s*-?\s*(?P<unit>minutes?|mins?|hours?|hrs?|h)\b(?:\s+and\s+a\s+half)?)", _I), _duration),
)


def _offset_any(m: re.Match[str]) -> TimeSpec | None:
    if m["n2"] is not None:
        n = en_number(m["n2"])
        if n is None or n > 1000:
            return None
        sign = -1 if m["ago"].lower() == "ago" else 1
        return TimeSpec(offset_amount=sign * n, offset_unit=_unit(m["unit2"]))
    return _offset(m)


_JOINER = re.compile(
    r"(?:[\s,]|\b(?:at|on|@|by|around|about|from|in|the|this|of|starting|between|before|after|to|until|till|through|thru)\b|[-–—])*",
    _I)
_RANGER = re.compile(r"(?:\b(?:to|until|till|through|thru)\b|[-–—])", _I)


def extract_en(text: str) -> list[RawTime]:
    """Every English date/time expression in ``text``, left to right, with its unresolved spec."""
    return group_atoms(text, find_atoms(text, RULES), _JOINER, _RANGER)

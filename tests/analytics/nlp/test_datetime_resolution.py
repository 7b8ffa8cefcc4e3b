"""Date/time extraction and resolution, table-tested against a fixed reference (Thu 2026-11-26 09:00)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from analytics.nlp.datetime_en import extract_en
from analytics.nlp.datetime_zh import extract_zh
from analytics.nlp.resolve import resolve
from tests.analytics.nlp.conftest import REF

LONDON = ZoneInfo("Europe/London")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _resolve_first(text: str, lang: str) -> tuple[str, str | None, str | None]:
    zone = SHANGHAI if lang == "zh" else LONDON
    raws = (extract_zh if lang == "zh" else extract_en)(text)
    assert raws, f"nothing found in {text!r}"
    raw = max(raws, key=lambda r: r.end - r.start)
    res = resolve(raw.spec, REF.replace(tzinfo=zone), zone)
    fmt = "%Y-%m-%dT%H:%M"
    return (raw.text, res.start.strftime(fmt) if res.start else None, res.end.strftime(fmt) if res.end else None)


@pytest.mark.parametrize(("text", "start", "end"), [
    ("Meet the customer on May 4 at 4:00 PM", "2027-05-04T16:00", None),
    ("next Tuesday from 2 to 3pm", "2026-12-01T14:00", "2026-12-01T15:00"),
    ("in two weeks", "2026-12-10T00:00", None),
    ("by the end of the month", "2026-11-30T00:00", None),
    ("tomorrow afternoon", "2026-11-27T12:00", None),
    ("send it by EOD", "2026-11-26T17:00", None),
    ("close in Q3", "2027-07-01T00:00", None),
    ("on 12/3 at noon for an hour", "2026-12-03T12:00", "2026-12-03T13:00"),
    ("call at 3 tomorrow", "2026-11-27T15:00", None),
    ("Jan 15th, 2027", "2027-01-15T00:00", None),
    ("2026-12-01T14:30", "2026-12-01T14:30", None),
    ("in 2 hours", "2026-11-26T11:00", None),
    ("this Friday", "2026-11-27T00:00", None),
    ("next Friday", "2026-12-04T00:00", None),
    ("at half past 9 tomorrow", "2026-11-27T09:30", None),
    ("Tuesday at 10 for 30 minutes", "2026-12-01T10:00", "2026-12-01T10:30"),
])
def test_english_expressions_resolve_against_the_reference(text: str, start: str, end: str | None) -> None:
    _, got_start, got_end = _resolve_first(text, "en")
    assert (got_start, got_end) == (start, end)


@pytest.mark.parametrize(("text", "start", "end"), [
    ("5月4日下午4:00", "2027-05-04T16:00", None),
    ("5 月 4 日下午 4:00", "2027-05-04T16:00", None),
    ("５月４日下午４：００", "2027-05-04T16:00", None),
    ("下周二下午三点给王总打电话", "2026-12-01T15:00", None),
    ("月底前提交", "2026-11-30T00:00", None),
    ("明天上午十点", "2026-11-27T10:00", None),
    ("三点半", "2026-11-26T15:30", None),
    ("下午2点到3点", "2026-11-26T14:00", "2026-11-26T15:00"),
    ("两周后", "2026-12-10T00:00", None),
    ("第三季度", "2027-07-01T00:00", None),
    ("今晚8点", "2026-11-26T20:00", None),
    ("二〇二七年一月八日", "2027-01-08T00:00", None),
])
def test_chinese_expressions_resolve_against_the_reference(text: str, start: str, end: str | None) -> None:
    _, got_start, got_end = _resolve_first(text, "zh")
    assert (got_start, got_end) == (start, end)


def test_durations_are_read_in_minutes() -> None:
    assert extract_zh("开两个小时的会")[0].spec.duration_minutes == 120
    assert extract_zh("一个半小时")[0].spec.duration_minutes == 90
    assert extract_en("a 45-minute call")[0].spec.duration_minutes == 45


@pytest.mark.parametrize("text", ["快一点", "we may meet", "sat down with Joe", "3 people joined"])
def test_ordinary_words_are_not_times(text: str) -> None:
    raws = extract_zh(text) if not text.isascii() else extract_en(text)
    assert [r for r in raws if r.spec.has_time() or r.spec.has_date()] == []


def test_resolution_is_in_the_notes_zone() -> None:
    raw = extract_en("tomorrow at 9am")[0]
    res = resolve(raw.spec, datetime(2026, 11, 26, 23, 30, tzinfo=ZoneInfo("UTC")), "Asia/Tokyo")
    # 23:30 UTC is already 27 Nov in Tokyo, so "tomorrow" is the 28th there.
    assert res.start == datetime(2026, 11, 28, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))

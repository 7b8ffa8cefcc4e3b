"""Meetings and calls whose clause names nobody get the note's person; past events are not suggested; English
sentences with a Chinese name; bare Chinese names after a follow-up verb (user reports, 2026-11)."""

from __future__ import annotations

from datetime import datetime

import pytest

from analytics.nlp.analyzer import NoteAnalyzer
from analytics.nlp.suggestions import NoteAnalysis, Suggestion

LA = "America/Los_Angeles"
SHANGHAI = "Asia/Shanghai"
EVENING = datetime(2026, 10, 31, 17, 30)  # Saturday, after lunch and after the afternoon
MORNING = datetime(2026, 10, 29, 9, 0)  # Thursday


@pytest.fixture(scope="module")
def analyzer() -> NoteAnalyzer:
    return NoteAnalyzer()


def _events(result: NoteAnalysis) -> list[Suggestion]:
    return [s for s in result.suggestions if s.kind in ("meeting", "call")]


def test_a_call_about_him_is_with_the_one_person_the_note_named(analyzer: NoteAnalyzer) -> None:
    note = ("Met Kwame Baker (kwame.baker@falconrobotics-00063.com) today. "
            "Call him next Tuesday at 3pm about pricing.")
    [call] = _events(analyzer.analyze(note, now=EVENING, tz=LA))
    assert call.kind == "call" and call.start is not None and call.start.strftime("%m-%d %H:%M") == "11-03 15:00"
    assert call.attendees == ("Kwame Baker",)
    assert call.attendee_emails == ("kwame.baker@falconrobotics-00063.com",)
    assert call.attendees_inferred
    assert any(sp.text == "Kwame Baker" for sp in call.spans)  # highlighted where the note named him


def test_an_address_alone_is_the_person_and_a_clause_naming_someone_keeps_its_own(analyzer: NoteAnalyzer) -> None:
    [call] = _events(analyzer.analyze("Quote sent to anna@fabrikam.example. Call her on Monday at 10.",
                                      now=MORNING, tz=LA))
    assert call.attendees == ("anna@fabrikam.example",) and call.attendee_emails == ("anna@fabrikam.example",)
    [meeting] = _events(analyzer.analyze("Met Kwame Baker today. Lunch with Anna on Friday.", now=MORNING, tz=LA))
    assert meeting.attendees == ("Anna",) and not meeting.attendees_inferred


def test_him_among_several_people_is_not_guessed_but_them_is_everyone(analyzer: NoteAnalyzer) -> None:
    two = "Spoke with Maria Garcia and John Smith today; "
    [call] = _events(analyzer.analyze(two + "call him next Thursday at 10am", now=EVENING, tz=LA))
    assert call.attendees == () and not call.attendees_inferred
    [meeting] = _events(analyzer.analyze(two + "schedule a follow-up meeting with them next Thursday at 10am",
                                         now=EVENING, tz=LA))
    assert meeting.attendees == ("Maria Garcia", "John Smith") and meeting.attendees_inferred


def test_confidence_grows_only_when_a_pronoun_points_back(analyzer: NoteAnalyzer) -> None:
    pronoun = _events(analyzer.analyze("Met Kwame Baker today. Call him on Monday at 10.", now=MORNING, tz=LA))[0]
    none = _events(analyzer.analyze("Met Kwame Baker today. Demo on Monday at 10.", now=MORNING, tz=LA))[0]
    assert pronoun.attendees == none.attendees == ("Kwame Baker",)
    assert pronoun.confidence > none.confidence
    others = _events(analyzer.analyze("Met Kwame Baker today. Lunch with the team on Monday.", now=MORNING,
                                      tz=LA))[0]
    assert others.attendees == () and not others.attendees_inferred  # "with the team" says who it is with


def test_chinese_pronoun_and_bare_name_after_a_follow_up_verb(analyzer: NoteAnalyzer) -> None:
    result = analyzer.analyze("拜访了李总，他希望下周一前收到方案，周四给他打电话", now=EVENING, tz=SHANGHAI)
    [call] = _events(result)
    assert call.kind == "call" and call.attendees == ("李总",) and call.attendees_inferred
    [meeting] = _events(analyzer.analyze("跟进王伟，下周三上午十点开会", now=EVENING, tz=SHANGHAI))
    assert meeting.attendees == ("王伟",)
    assert meeting.start is not None and meeting.start.strftime("%m-%d %H:%M") == "11-04 10:00"
    [call] = _events(analyzer.analyze("给王伟打电话确认报价", now=EVENING, tz=SHANGHAI))
    assert call.attendees == ("王伟",)
    assert not [e for e in analyzer.analyze("请提供您的联系方式。", now=EVENING, tz=SHANGHAI).entities
                if e.label == "PERSON"]  # 方式 is no name


def test_an_english_sentence_with_a_chinese_name_is_read_as_english(analyzer: NoteAnalyzer) -> None:
    result = analyzer.analyze("Met 李经理 at the expo, call her next week", now=EVENING, tz=LA)
    [call] = _events(result)
    assert call.kind == "call" and call.attendees == ("李经理",)
    assert call.start is not None and call.start.strftime("%m-%d") == "11-02"


@pytest.mark.parametrize("note, tz", [
    ("lunch with kwame.lewis@crescenthealth-00164.com, he wants a quote by Friday", LA),
    ("Had a call with Raj Patel this morning", LA),
    ("Coffee with Ben Carter this morning, great chat.", LA),
    ("Meeting with Kwame went well", LA),
    ("Quick sync with Dan at 4", LA),
    ("今天和王总吃了午饭，他想要一份报价，周五前发给他", SHANGHAI),
    ("拜访了李总", SHANGHAI),
])
def test_what_already_happened_is_not_a_meeting_or_call_suggestion(analyzer: NoteAnalyzer, note: str,
                                                                     tz: str) -> None:
    result = analyzer.analyze(note, now=EVENING, tz=tz)
    assert _events(result) == []
    assert all(s.start is None or s.start >= EVENING.replace(tzinfo=s.start.tzinfo) for s in result.suggestions)


def test_what_is_still_to_come_is_suggested(analyzer: NoteAnalyzer) -> None:
    [lunch] = _events(analyzer.analyze("lunch with Anna on Friday", now=EVENING, tz=LA))
    assert lunch.start is not None and lunch.start.strftime("%a %m-%d %H:%M") == "Fri 11-06 12:00"
    [lunch] = _events(analyzer.analyze("lunch with kwame.lewis@crescenthealth-00164.com", now=MORNING, tz=LA))
    assert lunch.start is not None and lunch.start.strftime("%m-%d %H:%M") == "10-29 12:00"  # before lunch
    [demo] = _events(analyzer.analyze("Had a call with Raj Patel this morning, he wants a demo next week",
                                      now=EVENING, tz=LA))
    assert demo.kind == "meeting" and demo.start is not None and demo.start.strftime("%m-%d") == "11-02"
    [call] = _events(analyzer.analyze("Spoke with Raj, he wants a call", now=EVENING, tz=LA))
    assert call.kind == "call"  # the past tense is the conversation's, not the call's
    [call] = _events(analyzer.analyze("Call Anna this afternoon", now=MORNING.replace(hour=14), tz=LA))
    assert call.start is None  # the afternoon is under way: 12:00 is past, the time is the user's to pick
    [meeting] = _events(analyzer.analyze("刚和张总开完会，下周二下午三点再约他见面", now=EVENING, tz=SHANGHAI))
    assert meeting.start is not None and meeting.start.strftime("%m-%d %H:%M") == "11-03 15:00"


def test_a_period_under_way_is_not_booked_on_its_past_first_day(analyzer: NoteAnalyzer) -> None:
    [demo] = _events(analyzer.analyze("demo this week with Raj", now=MORNING, tz=LA))
    assert demo.start is None and demo.attendees == ("Raj",)
    [day] = _events(analyzer.analyze("meet Raj on Thursday", now=MORNING, tz=LA))
    assert day.start is not None and day.start.strftime("%m-%d") == "10-29"  # today is not past

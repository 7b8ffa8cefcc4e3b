"""End-to-end suggestions from notes, robustness properties and the evaluation set's integrity."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.nlp.analyzer import NoteAnalyzer
from analytics.nlp.errors import InvalidLanguage, InvalidTimeZone
from analytics.nlp.evaluation import KINDS, KindReport, load_items, predicted_kinds
from analytics.nlp.suggestions import SuggestionKind, analysis_to_dict
from tests.analytics.nlp.conftest import REF

DATA = Path(__file__).resolve().parents[3] / "benchmarks" / "data"


def test_issue_example_gives_task_content_and_issue(analyzer: NoteAnalyzer) -> None:
    text = "I'll send Priya the pricing deck by Friday; she says the export keeps crashing"
    result = analyzer.analyze(text, now=REF, tz="Europe/London")
    kinds = [s.kind for s in result.suggestions]
    assert kinds == [SuggestionKind.TASK, SuggestionKind.CONTENT_REQUEST, SuggestionKind.ISSUE]
    task = result.suggestions[0]
    assert task.owner == "me"
    assert task.due is not None and task.due.date().isoformat() == "2026-11-27"
    issue = result.suggestions[2]
    assert text[issue.spans[0].start:issue.spans[0].end].startswith("she says")


def test_several_actions_in_one_sentence_are_suggested_each_with_its_own_time(analyzer: NoteAnalyzer) -> None:
    text = ("call with kwame.king@pioneeranalytics.de, send the proposal by Friday and meet again next Tuesday "
            "at 10:00")
    result = analyzer.analyze(text, now=REF, tz="Europe/London")  # REF: Thursday 2026-11-26
    by_kind = {s.kind: s for s in result.suggestions}
    assert set(by_kind) == {SuggestionKind.CALL, SuggestionKind.CONTACT, SuggestionKind.TASK,
                            SuggestionKind.CONTENT_REQUEST, SuggestionKind.MEETING}
    assert by_kind[SuggestionKind.CALL].start is None  # the Tuesday belongs to the meeting
    task = by_kind[SuggestionKind.TASK]
    assert task.title == "send the proposal by Friday"
    assert task.due is not None and task.due.date().isoformat() == "2026-11-27"
    meeting = by_kind[SuggestionKind.MEETING]
    assert meeting.start is not None and meeting.start.isoformat() == "2026-12-01T10:00:00+00:00"


@pytest.mark.parametrize(("text", "kinds"), [
    ("Call and email Raj on Monday.", [SuggestionKind.CALL]),  # one action on one object
    ("Meet Raj between 2 and 3pm, then call Ana.", [SuggestionKind.MEETING, SuggestionKind.CALL]),
])
def test_a_sentence_is_split_only_between_two_actions(analyzer: NoteAnalyzer, text: str,
                                                      kinds: list[SuggestionKind]) -> None:
    result = analyzer.analyze(text, now=REF, tz="Europe/London")
    assert [s.kind for s in result.suggestions] == kinds
    first = result.suggestions[0]
    assert first.start is not None  # Monday / 2 pm stay with the first action
    if len(kinds) == 2:
        assert first.end is not None and first.end.hour == 15


def test_chinese_comma_between_two_actions_splits_them(analyzer: NoteAnalyzer) -> None:
    result = analyzer.analyze("周二下午三点和王总开会，周五前把报价单发给他", now=REF, tz="Asia/Shanghai")
    kinds = [s.kind for s in result.suggestions]
    assert kinds == [SuggestionKind.MEETING, SuggestionKind.TASK, SuggestionKind.CONTENT_REQUEST]
    meeting, task = result.suggestions[0], result.suggestions[1]
    assert meeting.start is not None and meeting.start.isoformat() == "2026-12-01T15:00:00+08:00"
    assert task.due is not None and task.due.date().isoformat() == "2026-11-27"


def test_chinese_call_has_time_and_attendee(analyzer: NoteAnalyzer) -> None:
    result = analyzer.analyze("下周二下午三点给王总打电话确认报价", now=REF, tz="Asia/Shanghai")
    call = result.suggestions[0]
    assert call.kind is SuggestionKind.CALL
    assert call.start is not None and call.start.isoformat() == "2026-12-01T15:00:00+08:00"
    assert call.attendees == ("王总",)


def test_dots_of_an_address_in_a_chinese_note_do_not_end_its_sentence(analyzer: NoteAnalyzer) -> None:
    # The Chinese pipeline tokenises by character: each "." of the address used to end a sentence (and a
    # language run), leaving a meeting "de 开会" without its time.
    text = "下周二下午三点和 kwame.king@pioneeranalytics.de 开会，周五前发送报价单"
    result = analyzer.analyze(text, now=REF, tz="Asia/Shanghai")
    assert result.lang == "zh"
    meeting = next(s for s in result.suggestions if s.kind is SuggestionKind.MEETING)
    assert meeting.title == "下周二下午三点和 kwame.king@pioneeranalytics.de 开会"
    assert meeting.start is not None and meeting.start.isoformat() == "2026-12-01T15:00:00+08:00"
    contact = next(s for s in result.suggestions if s.kind is SuggestionKind.CONTACT)
    assert contact.contact is not None and contact.contact.email == "kwame.king@pioneeranalytics.de"


def test_a_dot_before_chinese_still_ends_a_sentence(analyzer: NoteAnalyzer) -> None:
    result = analyzer.analyze("Call Raj tomorrow at 3pm.下周二上午十点和李经理开会。", now=REF, tz="Asia/Shanghai")
    assert result.lang == "mixed"
    assert [s.kind for s in result.suggestions] == [SuggestionKind.CALL, SuggestionKind.MEETING]


def test_new_contact_fields_are_filled(analyzer: NoteAnalyzer) -> None:
    text = "Met Sarah Chen, VP of Sales at Acme Corp; her email is sarah.chen@acme.com, cell +1 415-555-0134."
    contacts = [s for s in analyzer.analyze(text, now=REF, tz="UTC").suggestions
                if s.kind is SuggestionKind.CONTACT]
    assert contacts[0].contact is not None
    assert (contacts[0].contact.name, contacts[0].contact.title) == ("Sarah Chen", "VP of Sales")
    assert contacts[1].contact is not None
    assert contacts[1].contact.email == "sarah.chen@acme.com"
    assert contacts[1].contact.phone == "+1 415-555-0134"


def test_meeting_gets_end_from_duration(analyzer: NoteAnalyzer) -> None:
    result = analyzer.analyze("Lunch with Tom tomorrow at noon for an hour.", now=REF, tz="Europe/London")
    meeting = result.suggestions[0]
    assert meeting.kind is SuggestionKind.MEETING
    assert meeting.start is not None and meeting.end is not None
    assert (meeting.start.hour, meeting.end.hour, meeting.start.day) == (12, 13, 27)


def test_mixed_language_note_uses_both_pipelines(analyzer: NoteAnalyzer) -> None:
    text = "Call Raj tomorrow at 3pm.\n下周二上午十点和李经理开会。"
    result = analyzer.analyze(text, now=REF, tz="Asia/Shanghai")
    assert result.lang == "mixed"
    assert [s.kind for s in result.suggestions] == [SuggestionKind.CALL, SuggestionKind.MEETING]
    for s in result.suggestions:
        for span in s.spans:
            assert text[span.start:span.end] == span.text


def test_bad_arguments_raise_typed_errors(analyzer: NoteAnalyzer) -> None:
    with pytest.raises(InvalidTimeZone):
        analyzer.analyze("hi", now=REF, tz="Mars/Olympus")
    with pytest.raises(InvalidLanguage):
        analyzer.analyze("hi", now=REF, tz="UTC", lang="fr")


def test_empty_note_has_no_suggestions(analyzer: NoteAnalyzer) -> None:
    assert analyzer.analyze("", now=REF, tz="UTC").suggestions == ()
    assert analysis_to_dict(analyzer.analyze("   \n", now=REF, tz="UTC"))["suggestions"] == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300), lang=st.sampled_from(["auto", "en", "zh"]),
       now=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2999, 12, 31)))
def test_any_text_is_analysed_without_error_and_spans_are_valid(
        analyzer: NoteAnalyzer, text: str, lang: str, now: datetime) -> None:
    result = analyzer.analyze(text, now=now, tz="America/New_York", lang=lang)
    for s in result.suggestions:
        assert 0.0 < s.confidence <= 1.0
        for span in s.spans:
            assert 0 <= span.start <= span.end <= len(text)
    analysis_to_dict(result)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from([
    "Meet", "call", "Friday", "at", "3pm", "下周二", "三点半", "月底", "5 月 4 日", "下午 4:00", "Q3", "EOD",
    "from", "to", "-", "for 30 minutes", "两个小时", "next", "tomorrow", "12/31", "2027-02-30", "99:99",
    "Feb 30", "第五季度", "三十二月", "a@b.co", "+1 555 0100 200", "Mr.", "王总", "。", ";", "\n", " "]),
    max_size=30))
def test_date_like_fragments_never_raise(analyzer: NoteAnalyzer, parts: list[str]) -> None:
    analyzer.analyze(" ".join(parts), now=REF, tz="Europe/London")


def test_evaluation_set_is_large_and_covers_every_kind() -> None:
    en = load_items(DATA / "notes_en.jsonl")
    zh = load_items(DATA / "notes_zh.jsonl")
    assert len(en) >= 200 and len(zh) >= 100
    for items in (en, zh):
        assert {k for it in items for k in it.kinds} == set(KINDS)
        assert sum(it.start is not None for it in items) >= len(items) // 2


def test_kind_scores_on_the_evaluation_set_stay_high(analyzer: NoteAnalyzer) -> None:
    # A regression floor, far below the benchmark's figures, so vocabulary edits cannot silently break it.
    items = load_items(DATA / "notes_en.jsonl")[::3] + load_items(DATA / "notes_zh.jsonl")[::3]
    report = KindReport()
    for it in items:
        report.add(it.kinds, predicted_kinds(analyzer.analyze(it.text, now=it.now, tz=it.tz, lang=it.lang)))
    micro = report.micro()
    assert micro.precision > 0.85 and micro.recall > 0.85

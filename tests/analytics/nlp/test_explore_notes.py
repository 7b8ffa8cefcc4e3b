"""Notes reps pasted in the demo: a request after a call is a clause of its own, and keeps its due date."""

from __future__ import annotations

from analytics.nlp.analyzer import NoteAnalyzer
from analytics.nlp.suggestions import SuggestionKind
from tests.analytics.nlp.conftest import REF


def test_chinese_send_after_a_call_is_its_own_request_with_its_due_date(analyzer: NoteAnalyzer) -> None:
    result = analyzer.analyze("下周二下午三点再电话沟通，周五前发报价", now=REF, tz="Asia/Shanghai")
    call = next(s for s in result.suggestions if s.kind is SuggestionKind.CALL)
    request = next(s for s in result.suggestions if s.kind is SuggestionKind.CONTENT_REQUEST)
    assert call.title == "下周二下午三点再电话沟通"  # not "…，周五前发报价" as well
    assert request.title == "周五前发报价" and request.subject == "报价"
    assert request.due is not None and request.due.date().isoformat() == "2026-11-27"  # Friday


def test_english_content_request_carries_its_due_date(analyzer: NoteAnalyzer) -> None:
    result = analyzer.analyze("Raj asked for pricing by Friday", now=REF, tz="Europe/London")
    request = next(s for s in result.suggestions if s.kind is SuggestionKind.CONTENT_REQUEST)
    assert request.due is not None and request.due.date().isoformat() == "2026-11-27"


def test_a_request_and_the_task_sending_it_stay_one_clause(analyzer: NoteAnalyzer) -> None:
    result = analyzer.analyze("客户想要一份报价，下周一前发给他", now=REF, tz="Asia/Shanghai")
    assert {s.title for s in result.suggestions} == {"客户想要一份报价，下周一前发给他"}


def test_a_meeting_after_a_request_is_its_own_clause(analyzer: NoteAnalyzer) -> None:
    result = analyzer.analyze("call Raj, he wants the deck and meet on Tuesday", now=REF, tz="Europe/London")
    titles = {s.kind: s.title for s in result.suggestions}
    assert titles[SuggestionKind.CALL] == "call Raj"
    assert titles[SuggestionKind.CONTENT_REQUEST] == "he wants the deck"
    assert titles[SuggestionKind.MEETING] == "meet on Tuesday"

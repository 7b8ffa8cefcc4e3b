"""The health factors' explanations: the English sentence as before, with its variant and numbers as data."""

from __future__ import annotations

import copy
import pickle
from datetime import date, timedelta

from analytics.relationships.config import HealthConfig
from analytics.relationships.explanations import EXPLANATION_ARGS, FactorExplanation, english_explanation
from analytics.relationships.health import DayCount, snapshot

AS_OF = date(2026, 11, 2)


def _ago(days: int, kind: str, us: int, them: int) -> DayCount:
    return DayCount(AS_OF - timedelta(days=days), kind, us, them)


def _explanations(days: list[DayCount]) -> dict[str, FactorExplanation]:
    out = {}
    for f in snapshot(days, AS_OF, HealthConfig(), "contact").factors:
        assert isinstance(f.explanation, FactorExplanation)
        out[f.name] = f.explanation
    return out


def test_each_explanation_quotes_its_numbers_as_data_and_keeps_its_english_sentence() -> None:
    # Meeting we organised 12 days ago (weight 3), an exchange of e-mails 20 days ago, our unanswered mail 50 days
    # ago and theirs 70 days ago: 5 weighted interactions in 30 days; us 5 and them 2 weighted in the window; of
    # our 3 outreach days (all older than 3 days) they answered the one of 20 days ago.
    notes = _explanations([_ago(12, "meeting", 1, 0), _ago(20, "email", 1, 1), _ago(50, "email", 1, 0),
                           _ago(70, "email", 0, 1)])
    assert {k: str(v) for k, v in notes.items()} == {
        "activity": "5 weighted interactions in the last 30 days (a healthy record has about 4)",
        "recency": "last interaction 12 days ago (expected at least every 8 days)",
        "reciprocity": "they initiated 29% of the weighted exchanges",
        "responsiveness": "they answered 1 of 3 outreach days within 3 days",
    }
    assert (notes["activity"].key, dict(notes["activity"].args)) == (
        "activity", {"recent": 5.0, "days": 30, "expected": 4.0})
    assert (notes["recency"].key, dict(notes["recency"].args)) == ("recency", {"gap": 12, "expected_gap": 7.5})
    assert notes["reciprocity"].key == "reciprocity"
    assert notes["reciprocity"].args["share"] == 100 * 2 / 7
    assert (notes["responsiveness"].key, dict(notes["responsiveness"].args)) == (
        "responsiveness", {"answered": 1, "asked": 3, "days": 3})


def test_the_variants_without_numbers_say_which_case_applies() -> None:
    nothing = _explanations([])
    assert [(n.key, str(n)) for n in nothing.values()] == [
        ("activity", "0 weighted interactions in the last 30 days (a healthy record has about 4)"),
        ("recency.none", "no interaction in the window"),
        ("reciprocity.none", "no exchanges"),
        ("responsiveness.none", "no outreach to answer"),
    ]
    only_them = _explanations([_ago(1, "email", 0, 2), _ago(40, "call", 0, 1)])
    assert str(only_them["recency"]) == "last interaction 1 day ago (expected at least every 8 days)"
    assert str(only_them["reciprocity"]) == "they initiated 100% of the weighted exchanges"
    assert (only_them["responsiveness"].key, str(only_them["responsiveness"])) == (
        "responsiveness.unprompted", "they reached out without being asked")


def test_an_explanation_is_its_sentence_wherever_a_string_is_expected_and_keeps_its_data_when_copied() -> None:
    note = FactorExplanation.of("recency", gap=3, expected_gap=7.5)
    assert note == "last interaction 3 days ago (expected at least every 8 days)" and isinstance(note, str)
    for again in (pickle.loads(pickle.dumps(note)), copy.deepcopy(note), copy.copy(note)):
        assert type(again) is FactorExplanation and again == note
        assert (again.key, dict(again.args)) == ("recency", {"gap": 3, "expected_gap": 7.5})


def test_every_variant_has_its_arguments_and_an_english_sentence() -> None:
    samples: dict[str, float | int] = {"recent": 2.0, "days": 30, "expected": 4.0, "gap": 2, "expected_gap": 7.5,
                                       "share": 50.0, "answered": 1, "asked": 2}
    for key, names in EXPLANATION_ARGS.items():
        text = english_explanation(key, {n: samples[n] for n in names})
        assert text and all(c.isascii() for c in text)

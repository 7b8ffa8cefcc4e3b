"""Health factor sentences agree in number with what they print (a demo card read "1 weighted interactions")."""

from __future__ import annotations

import pytest

from analytics.relationships.explanations import english_explanation


@pytest.mark.parametrize("key,args,sentence", [
    ("activity", {"recent": 1.2, "days": 30, "expected": 8},
     "1 weighted interaction in the last 30 days (a healthy record has about 8)"),
    ("activity", {"recent": 0.4, "days": 30, "expected": 8},
     "0 weighted interactions in the last 30 days (a healthy record has about 8)"),
    ("recency", {"gap": 1, "expected_gap": 1.3}, "last interaction 1 day ago (expected at least every 1 day)"),
    ("recency", {"gap": 2, "expected_gap": 7.5}, "last interaction 2 days ago (expected at least every 8 days)"),
    ("responsiveness", {"answered": 1, "asked": 1, "days": 3}, "they answered 1 of 1 outreach day within 3 days"),
    ("responsiveness", {"answered": 0, "asked": 2, "days": 1}, "they answered 0 of 2 outreach days within 1 day"),
])
def test_explanations_agree_in_number(key: str, args: dict[str, float], sentence: str) -> None:
    assert english_explanation(key, args) == sentence

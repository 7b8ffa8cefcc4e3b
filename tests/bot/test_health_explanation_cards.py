"""A health card says why each factor scored as it did in the asker's language, with the analytics' numbers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from analytics.query import health_view_of
from analytics.relationships.config import HealthConfig
from analytics.relationships.explanations import EXPLANATION_ARGS, FactorExplanation
from analytics.relationships.health import DayCount, evaluate
from analytics.stored_views import decode, encode
from analytics.views import HealthView
from bot.cards.relationships import render_health
from bot.conversation.i18n import EXPLANATIONS_ZH, explanation
from tests.bot.fakes import FABRIKAM, NOW, health, kpis

ENGLISH = ("weighted interactions", "last interaction", "they initiated", "they answered", "no interaction",
           "no exchanges", "without being asked", "no outreach", "days ago")


def _factor_lines(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in card["body"] if b.get("type") == "TextBlock" and " — " in b.get("text", "")]


def _view(days: list[tuple[int, str, int, int]], record_type: str = "contact") -> HealthView:
    today = NOW.date()
    counts = [DayCount(today - timedelta(days=d), kind, us, them) for d, kind, us, them in days]
    return health_view_of(FABRIKAM, evaluate(counts, today, HealthConfig(), record_type), kpis(), (), NOW)


# Our meeting 12 days ago (weight 3), an exchange of e-mails 20 days ago, our unanswered e-mail 50 days ago, theirs
# 70 and 100 days ago: 5 weighted interactions in 30 days; us 5 and them 2 weighted in the window; they answered
# one of our 3 outreach days.
MIXED = [(12, "meeting", 1, 0), (20, "email", 1, 1), (50, "email", 1, 0), (70, "email", 0, 1), (100, "email", 0, 1)]


def test_a_chinese_health_card_explains_the_factors_in_chinese_with_their_numbers() -> None:
    lines = _factor_lines(render_health(_view(MIXED), "zh"))
    text = "\n".join(lines)
    assert "最近 30 天加权互动 5 次（健康的记录约 4 次）" in text
    assert "上次互动在 12 天前（预期至少每 8 天一次）" in text
    assert "对方发起了 29% 的加权往来" in text
    assert "我们主动联系的 3 天里，对方有 1 天在 3 天内回复" in text
    assert len(lines) == 4 and not [w for w in ENGLISH if w in text]


def test_an_english_health_card_keeps_the_english_sentences() -> None:
    text = "\n".join(_factor_lines(render_health(_view(MIXED), "en")))
    for sentence in ("5 weighted interactions in the last 30 days (a healthy record has about 4)",
                     "last interaction 12 days ago (expected at least every 8 days)",
                     "they initiated 29% of the weighted exchanges",
                     "they answered 1 of 3 outreach days within 3 days"):
        assert f"— {sentence}" in text


def test_the_cases_without_numbers_read_in_chinese_too() -> None:
    # Only they wrote, 2 days ago and 40 days ago (too few for a score: the factors are still explained).
    lines = "\n".join(_factor_lines(render_health(_view([(2, "email", 0, 1), (40, "email", 0, 1)]), "zh")))
    assert "对方发起了 100% 的加权往来" in lines and EXPLANATIONS_ZH["responsiveness.unprompted"] in lines
    assert "上次互动在 2 天前（预期至少每 8 天一次）" in lines
    nothing = "\n".join(_factor_lines(render_health(_view([]), "zh")))
    for key in ("recency.none", "reciprocity.none", "responsiveness.none"):
        assert EXPLANATIONS_ZH[key] in nothing
    assert "最近 30 天加权互动 0 次（健康的记录约 4 次）" in nothing
    assert not [w for w in ENGLISH if w in lines + nothing]


def test_a_stored_view_gives_the_same_chinese_card_as_the_live_one() -> None:
    live = _view(MIXED, "account")
    stored = decode(encode(live, [1, 2]), FABRIKAM)
    assert stored is not None
    assert render_health(stored.view, "zh") == render_health(live, "zh")
    assert "健康的记录约 8 次" in "\n".join(_factor_lines(render_health(stored.view, "zh")))


def test_every_variant_the_analytics_give_has_a_chinese_sentence_using_its_numbers() -> None:
    assert set(EXPLANATIONS_ZH) == set(EXPLANATION_ARGS)
    samples: dict[str, float | int] = {"recent": 2.0, "days": 30, "expected": 4.0, "gap": 2, "expected_gap": 7.5,
                                       "share": 50.0, "answered": 1, "asked": 2}
    for key, names in EXPLANATION_ARGS.items():
        note = FactorExplanation.of(key, **{n: samples[n] for n in names})
        zh = explanation(note, "zh")
        assert zh != str(note) and not any(c.isascii() and c.isalpha() for c in zh)
        assert explanation(note, "en") == str(note)


def test_an_explanation_without_data_is_shown_as_it_is() -> None:
    text = "\n".join(_factor_lines(render_health(health(), "zh")))
    assert "last touch 2 days ago" in text and "they reply to half" in text

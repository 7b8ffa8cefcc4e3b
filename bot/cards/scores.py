"""The predictive score card: score, grade, trend, and the top five reasons each way (pure)."""

from __future__ import annotations

from typing import Any

from analytics.scoring.scores import ScoreCard
from analytics.views import TargetRef
from bot.cards.render import card, text_block
from bot.conversation.i18n import score_reason, stuck_reason, t, word
from bot.conversation.model import Lang


def render_score(target: TargetRef, score: ScoreCard, lang: Lang, chart_url: str | None = None) -> dict[str, Any]:
    """Score 0–100, grade, trend against the previous score, stuck flag, top 5 positive and negative reasons."""
    title = t("score_title_" + target.kind, lang, label=target.label)
    previous = (t("previous_none", lang) if score.previous is None
                else f"{t('previous', lang)} {score.previous:.0f}")
    body: list[dict[str, Any]] = [
        text_block(title, weight="Bolder", size="Medium"),
        {"type": "FactSet", "facts": [
            {"title": t("score", lang), "value": f"{score.value:.0f} / 100"},
            {"title": t("grade", lang), "value": score.grade},
            {"title": t("trend", lang), "value": t("aside", lang, value=word(score.trend, lang), detail=previous)},
        ]},
    ]
    if target.closed:  # its outcome is known: "likely to qualify: yes" of a disqualified lead would mislead
        body.append(text_block(t("score_closed", lang, name=t(f"kind_short_{target.kind}", lang)), isSubtle=True))
    else:
        said = t("yes" if score.likely else "no", lang)
        if score.cutoff is not None:  # the F1 cut-off is often far below 50: "yes" beside 31 / 100 needs it
            said = t("likely_cutoff", lang, answer=said, cutoff=f"{score.cutoff:.0f}")
        body[1]["facts"].append({"title": t("likely_" + target.kind, lang), "value": said})
    if score.stuck:
        body.append(text_block("⚠ " + t("stuck", lang, why=stuck_reason(score.stuck_reason or "", lang)), color="Warning"))
    positive, negative = score.explanation.card()
    for key, reasons, sign in (("reasons_up", positive, "▲"), ("reasons_down", negative, "▼")):
        if reasons:
            body.append(text_block(t(key, lang), weight="Bolder", spacing="Medium"))
            body += [text_block(f"{sign} {score_reason(r, lang)}", size="Small") for r in reasons]
    if chart_url:
        body.append({"type": "Image", "url": chart_url, "altText": title, "size": "Stretch"})
    return card(lang, title, body)

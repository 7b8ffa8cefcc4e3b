"""The manager's weekly digest card (pure)."""

from __future__ import annotations

from typing import Any

from bot.cards.render import card, distinct_labels, text_block
from bot.conversation.i18n import stuck_reason, t, word
from bot.conversation.model import Lang
from bot.digest.content import DigestItem, DigestView


def _section(title: str, items: tuple[DigestItem, ...], lang: Lang) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [text_block(title, weight="Bolder", spacing="Medium")]
    if not items:
        return [*out, text_block(t("digest_none", lang), isSubtle=True, size="Small")]
    labels = distinct_labels([(i.label, i.record_id) for i in items])
    facts = [{"title": label, "value": " · ".join(x for x in (
        "–" if i.score is None else f"{i.score:.0f}", t(f"kind_short_{i.kind}", lang), stuck_reason(word(i.detail, lang), lang)) if x)}
        for label, i in zip(labels, items, strict=True)]
    return [*out, {"type": "FactSet", "facts": facts}]


def render_digest(view: DigestView, lang: Lang, chart_url: str | None = None) -> dict[str, Any]:
    """Declining relationships, hot leads, stuck deals and the team's activity chart."""
    title = t("digest_title", lang, name=view.manager_name)
    body: list[dict[str, Any]] = [
        text_block(title, weight="Bolder", size="Medium"),
        text_block(t("digest_intro", lang, size=view.team_size, day=view.as_of.strftime("%Y-%m-%d")),
                   isSubtle=True),
    ]
    body += _section(t("digest_declining", lang), view.declining, lang)
    body += _section(t("digest_hot", lang), view.hot_leads, lang)
    body += _section(t("digest_stuck", lang), view.stuck_deals, lang)
    if chart_url:
        body += [text_block(t("digest_activity", lang), weight="Bolder", spacing="Medium"),
                 {"type": "Image", "url": chart_url, "altText": t("digest_activity", lang), "size": "Stretch"}]
    return card(lang, title, body)

"""Renderers for the bot's general cards (help, notices). Feature cards live beside them in ``bot/cards/``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.cards.templates import fill
from bot.conversation.i18n import t
from bot.conversation.model import Lang

AC_VERSION = "1.5"


def card(lang: Lang, fallback: str, body: list[dict[str, Any]], *, actions: list[dict[str, Any]] | None = None,
         refresh: dict[str, Any] | None = None) -> dict[str, Any]:
    """An Adaptive Card 1.5 with ``body`` (and optional actions, refresh) in ``lang``."""
    out: dict[str, Any] = fill("card", lang=lang, fallback=fallback, body=body)
    if actions:
        out["actions"] = actions
    if refresh:
        out["refresh"] = refresh
    return out


def text_block(text: str, **style: Any) -> dict[str, Any]:
    """A wrapping TextBlock."""
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def help_card(lang: Lang, lines: list[str]) -> dict[str, Any]:
    """What the bot can do: one line per available command (only commands whose feature is configured)."""
    items = [text_block("• " + line) for line in lines] or [text_block(t("help_none", lang), isSubtle=True)]
    body = fill("help", title=t("help_title", lang), intro=t("help_intro", lang), lines=items)
    return card(lang, t("help_title", lang), body)


def notice_card(message: str, lang: Lang = "en") -> dict[str, Any]:
    """A card carrying one sentence (used to replace an out-of-date card)."""
    return card(lang, message, [text_block(message)])


def distinct_labels(items: Sequence[tuple[str, str]]) -> list[str]:
    """Each ``(label, record id)``'s label, with the id added to the labels several items share: a CRM often
    names deals alike ("Fjord Media - Services" three times), and identical lines cannot be told apart."""
    counts = Counter(label for label, _ in items)
    return [f"{label} ({record_id})" if counts[label] > 1 and record_id != label else label
            for label, record_id in items]

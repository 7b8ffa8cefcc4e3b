"""Renderers for the bot's general cards (help, notices). Feature cards live beside them in ``bot/cards/``."""

from __future__ import annotations

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

"""Cleaning inbound text before it reaches the command table.

Teams sends HTML-ish text: ``<at>Rapport</at>`` mentions in channels, ``<p>`` from pasted notes. Control
characters and huge pastes must never reach a regular expression or a reply unbounded.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Longest text we interpret; a note longer than this is analysed up to here (Teams itself caps ~28 KB).
MAX_TEXT = 8000

_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]{0,200}>")
_SPACES = re.compile(r"[ \t\u3000]+")


def clean(raw: str | None, *, limit: int = MAX_TEXT) -> str:
    """Text without mentions, tags, control or format characters, with spaces collapsed, at most ``limit`` long."""
    if not raw:
        return ""
    text = raw[: limit * 4]  # bound the work below before anything else
    text = _MENTION.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    kept = []
    for ch in text:
        if ch in "\n\t":
            kept.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            kept.append(ch)
    text = "".join(kept)
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)[:limit]


def first_line(text: str) -> str:
    """The first line, lower-cased, for command matching."""
    return text.split("\n", 1)[0].strip().lower()


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for echoing user input back."""
    return text if len(text) <= limit else text[: limit - 1] + "…"

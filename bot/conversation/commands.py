"""The command table: natural phrasings (English and Chinese) mapped to handlers.

Each feature contributes :class:`Command` rows; the composition root includes a feature's rows only when its
backing port is configured, so help lists exactly what works. Patterns are matched in table order against the
first line of the cleaned message; named groups become the handler's arguments.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.conversation.model import Inbound, Lang, Principal, Reply


@dataclass(frozen=True, slots=True)
class CommandContext:
    """What a command handler receives."""

    principal: Principal
    lang: Lang
    args: dict[str, str]
    inbound: Inbound
    text: str  # the whole cleaned message (notes use more than the first line)
    now: datetime
    sign: Callable[[str, dict[str, Any]], dict[str, Any]]  # sign(verb, args) -> Action.Execute data


Handler = Callable[[CommandContext], Awaitable[Sequence[Reply]]]


@dataclass(frozen=True, slots=True)
class Command:
    """One command: its name, help lines per language, phrasings and handler."""

    name: str
    help: dict[str, str]  # lang -> "example phrasing — what it does"
    patterns: tuple[re.Pattern[str], ...]
    handler: Handler
    match_whole_text: bool = False  # notes: the pattern sees the whole message, not only the first line


def patterns(*regexes: str) -> tuple[re.Pattern[str], ...]:
    """Compile phrasings case-insensitively; each must match the whole line (trailing punctuation allowed)."""
    return tuple(re.compile(rf"(?:{r})\s*[?？.。!！]*", re.IGNORECASE | re.DOTALL) for r in regexes)


@dataclass
class CommandTable:
    """Commands in match order."""

    commands: list[Command] = field(default_factory=list)
    fallback: Command | None = None  # runs when nothing matches (pasted notes); empty replies → help

    def add(self, *commands: Command) -> None:
        self.commands.extend(commands)

    def match(self, text: str) -> tuple[Command, dict[str, str]] | None:
        """The first command whose phrasing matches, with its named groups (stripped)."""
        first = text.split("\n", 1)[0].strip()
        for command in self.commands:
            subject = text if command.match_whole_text else first
            for pattern in command.patterns:
                found = pattern.fullmatch(subject)
                if found:
                    args = {k: (v or "").strip(" ?？。.!！") for k, v in found.groupdict().items()}
                    return command, args
        return None

    def help_lines(self, lang: Lang) -> list[str]:
        return [c.help.get(lang, c.help["en"]) for c in self.commands if c.help]

"""The bot's command lists for the manifest, in English and Chinese, taken from the bot's own command table.

The table is the one :func:`bot.app.create_app` builds with the production features (``rapport serve``:
relationships, scores, notes), so the manifest lists what the deployed bot answers and nothing else. Each command's help line in
:mod:`bot.conversation.i18n` has the form ``**example phrasing** (details) — what it does``: the bold example
becomes the Teams command title (Teams puts it in the compose box, and the bot understands it as typed), the
text after the dash its description. ``help`` is added last: anything the table does not match gets the help
card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analytics.settings import Settings
from analytics.store.engine import make_engine
from bot.app import SERVICE_KEY, create_app
from bot.conversation.commands import CommandTable
from bot.conversation.i18n import t
from bot.conversation.model import Lang
from bot.wiring import production_features

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_DASH = re.compile(r"\s*—\s*")  # em dash, with or without spaces (Chinese lines have none)


@dataclass(frozen=True, slots=True)
class ManifestCommand:
    """One entry of a Teams bot command list."""

    name: str  # the bot's command name (not shown in Teams)
    title: str
    description: str


def bot_command_table() -> CommandTable:
    """The command table of ``rapport serve`` (its production features, built over an unused in-memory store).

    Not the store features alone: those lack the score and note commands, and a package built from them would
    hide from Teams users commands the deployed bot answers."""
    engine = make_engine("sqlite://")  # nothing is queried: the features only need their ports to exist
    try:
        settings = Settings(bot_host="127.0.0.1", secret_key="manifest-build")
        app = create_app(settings, engine, dev=True, features=production_features(settings, engine))
        return app[SERVICE_KEY].commands
    finally:
        engine.dispose()


def from_help_line(name: str, line: str) -> ManifestCommand:
    """Title and description of a command from its help line."""
    bold = _BOLD.search(line)
    parts = _DASH.split(line, maxsplit=1)
    title = bold.group(1).strip() if bold else parts[0].strip()
    description = parts[1].strip() if len(parts) == 2 else _BOLD.sub(r"\1", line).strip()
    return ManifestCommand(name, title, description)


def command_list(table: CommandTable, lang: Lang, *, limit: int) -> list[ManifestCommand]:
    """The first ``limit`` commands of ``table`` with help (table order: most useful first), then ``help``."""
    out = [from_help_line(c.name, c.help.get(lang, c.help["en"])) for c in table.commands if c.help]
    help_command = ManifestCommand("help", "help" if lang == "en" else "帮助", t("help_title", lang))
    return [*out[: max(0, limit - 1)], help_command]

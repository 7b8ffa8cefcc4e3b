"""Which features the bot offers: each one's commands and card actions, included only when its port is given.

A feature whose backing analytics has not been configured contributes nothing, so help never lists it.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.settings import Settings
from bot.conversation.commands import CommandTable
from bot.conversation.service import ActionHandler


@dataclass(frozen=True)
class Features:
    """The analytics ports available to this process (None = the feature is absent)."""


def wire(features: Features, *, settings: Settings, secret_key: bytes) -> tuple[CommandTable, dict[str, ActionHandler]]:
    """The command table and action handlers for the configured features."""
    table = CommandTable()
    actions: dict[str, ActionHandler] = {}
    return table, actions

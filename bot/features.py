"""Which features the bot offers: each one's commands and card actions, included only when its port is given.

A feature whose backing analytics is not configured contributes nothing, so help never lists it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversation.commands import CommandTable
from bot.conversation.notes import NoteAnalyzerPort, NotesFeature
from bot.conversation.privacy import OptOutPort, PrivacyFeature
from bot.conversation.relationships import RelationshipFeature
from bot.conversation.scores import ScoreFeature
from bot.conversation.service import ActionHandler
from bot.ports import Access, ConversationStore, GraphWrites, KnownPeople, Relationships, Scores, TeamActivity
from bot.web.chart_links import ChartLinks


@dataclass(frozen=True)
class Features:
    """The analytics ports available to this process (None = the feature is absent)."""

    relationships: Relationships | None = None
    access: Access | None = None
    notes: NoteAnalyzerPort | None = None
    graph_writes: GraphWrites | None = None  # without it, note suggestions have no create buttons
    sso_connection: str | None = None  # with delegated writes: ask Teams for the SSO token through this connection
    people: KnownPeople | None = None  # known contacts prefill note suggestions (names, companies, addresses)
    scores: Scores | None = None
    team: TeamActivity | None = None  # the digest's team activity chart
    privacy: OptOutPort | None = None  # users opt themselves out of who knows whom (``user_opt_out``)


def wire(features: Features, *, conversations: ConversationStore, secret_key: bytes,
         charts: ChartLinks | None = None) -> tuple[CommandTable, dict[str, ActionHandler]]:
    """The command table and action handlers for the configured features (cards embed ``charts`` if given)."""
    table = CommandTable()
    actions: dict[str, ActionHandler] = {}
    if features.relationships is not None and features.access is not None:
        feature = RelationshipFeature(features.relationships, features.access, conversations, secret_key,
                                      charts, privacy=features.privacy)
        table.add(*feature.commands())
        actions.update(feature.actions())
        if features.scores is not None:
            table.add(*ScoreFeature(features.relationships, features.access, features.scores, charts).commands())
    if features.privacy is not None:  # before notes: "opt out" is a command, never a note to analyse
        table.add(*PrivacyFeature(features.privacy).commands())
    if features.notes is not None:
        notes = NotesFeature(features.notes, features.graph_writes, features.sso_connection, people=features.people,
                             access=features.access)
        table.add(*notes.commands())
        table.fallback = notes.fallback()
        actions.update(notes.actions())
    return table, actions

"""The narrow ports the conversation logic needs, as Protocols.

The conversation logic depends only on these; the composition root (:mod:`bot.app`) plugs in the real
implementations (the store-backed directory and conversation references here in ``bot/``, and the analytics
query API when it is available). A feature whose port is not supplied is absent from the command table, never
faked. Tests use in-memory fakes of these ports, not of the analytics code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.conversation.model import ConversationRecord, Principal


class Directory(Protocol):
    """Who a Teams user is inside Rapport."""

    def tenant_is_active(self, tenant_id: str) -> bool:
        """True if the tenant consented and is not disabled."""
        ...

    def principal(self, tenant_id: str, aad_object_id: str) -> Principal | None:
        """The internal user with that Entra object id in that tenant, with their visibility, or None."""
        ...


class ConversationStore(Protocol):
    """Our own conversation references (table ``conversation_ref``)."""

    def save(self, record: ConversationRecord, *, at: datetime) -> None:
        """Insert or update the reference (installed_at is kept from the first save)."""
        ...

    def remove(self, tenant_id: str, conversation_id: str) -> None:
        """Forget a conversation (the app was uninstalled)."""
        ...

    def personal_for(self, tenant_id: str, user_aad_ids: Sequence[str]) -> list[ConversationRecord]:
        """Personal (1:1) conversations of these users."""
        ...

    def all_personal(self, tenant_id: str | None = None) -> list[ConversationRecord]:
        """Every personal conversation, optionally of one tenant."""
        ...

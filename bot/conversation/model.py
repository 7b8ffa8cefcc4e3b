"""Plain values that cross between the Teams SDK layer and the conversation logic (no SDK types here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Role = Literal["rep", "manager", "admin"]
Lang = Literal["en", "zh"]


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """Our own conversation reference: enough to message the conversation proactively with any bot SDK."""

    tenant_id: str
    conversation_id: str
    service_url: str
    conversation_type: str = "personal"
    user_aad_id: str | None = None
    channel_id: str = "msteams"
    bot_id: str = ""
    locale: str | None = None
    reference: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One inbound turn, reduced to what the conversation logic needs."""

    kind: Literal["message", "install", "uninstall", "action"]
    tenant_id: str | None
    user_aad_id: str | None
    user_name: str
    locale: str | None
    conversation: ConversationRecord | None
    received_at: datetime
    text: str = ""
    verb: str = ""  # Action.Execute verb
    data: dict[str, Any] = field(default_factory=dict)  # Action.Execute data merged with card inputs
    sso_token: str | None = None  # Action.Execute: the Teams SSO token (invoke value ``authentication.token``)


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot sends back: text, an Adaptive Card (dict), or both."""

    text: str = ""
    card: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The answer to an ``Action.Execute``: a card that replaces the one clicked, or an error message."""

    card: dict[str, Any] | None = None
    error: str | None = None
    status: int = 200
    followups: tuple[Proactive, ...] = ()
    login: tuple[str, str] | None = None  # (OAuth connection, prompt): ask Teams for the user's SSO token first


@dataclass(frozen=True, slots=True)
class Proactive:
    """A message to send to another user (e.g. the colleague asked for an introduction)."""

    tenant_id: str
    user_aad_id: str
    reply: Reply


@dataclass(frozen=True, slots=True)
class Principal:
    """The internal user behind a Teams user, and what they may see."""

    tenant_id: str
    user_id: str
    display_name: str
    email: str
    role: Role
    # Users whose relationships this principal may see: themselves plus, for a manager, their reporting chain.
    visible_user_ids: frozenset[str]
    time_zone: str | None = None

    @property
    def is_manager(self) -> bool:
        return len(self.visible_user_ids) > 1

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

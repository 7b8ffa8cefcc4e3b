"""Typed records that cross the store's boundary (in and out). Table models stay inside the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# Keys inside a lead's or opportunity's ``fields`` JSON that are not features: the scoring importer files
# post-outcome fields and free text under them so that the training never sees them, while they stay with the
# record for people to read (a record's free-text name labels it on cards).
POST_OUTCOME_KEY = "_post_outcome"
TEXT_KEY = "_text"

ActivityKind = Literal["email", "meeting", "call", "task"]
Direction = Literal["outbound", "inbound", "internal", "external"]
Side = Literal["internal", "external"]
InitiatorSide = Literal["us", "them"]
Role = Literal["from", "to", "cc", "bcc", "organizer", "attendee", "caller", "callee"]

SENDER_ROLES: frozenset[str] = frozenset({"from", "organizer", "caller"})
RECIPIENT_ROLES: frozenset[str] = frozenset({"to", "cc", "bcc", "attendee", "callee"})


@dataclass(frozen=True, slots=True)
class ParticipantIn:
    """A person on an activity as the sync saw it. ``user_id`` is set for internal people when known."""

    address: str
    role: Role
    side: Side
    display_name: str = ""
    user_id: str | None = None
    response_status: str | None = None


@dataclass(frozen=True, slots=True)
class ActivityIn:
    """One activity as seen in one mailbox (or one call record), ready for :func:`ingest_activities`.

    ``source_id`` is Graph's (immutable) id of this copy in ``mailbox_id``. ``internet_message_id`` (mail) or
    ``ical_uid`` (events) identify the same interaction across mailboxes.
    """

    mailbox_id: str
    resource: str
    source_id: str
    kind: ActivityKind
    start_at: datetime
    direction: Direction
    participants: tuple[ParticipantIn, ...]
    internet_message_id: str | None = None
    ical_uid: str | None = None
    conversation_id: str | None = None
    end_at: datetime | None = None
    duration_minutes: float = 0.0
    initiator_side: InitiatorSide | None = None
    is_reply: bool = False
    is_bulk: bool = False
    is_cancelled: bool = False
    subject: str | None = None  # raw subject; the store applies the tenant's policy
    folder_id: str | None = None
    attributes: dict[str, object] = field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        if self.kind == "email" and self.internet_message_id:
            return "m:" + self.internet_message_id.strip()
        if self.kind == "meeting" and self.ical_uid:
            return "e:" + self.ical_uid
        if self.kind == "call":
            return "c:" + self.source_id
        return f"s:{self.mailbox_id}:{self.source_id}"


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one ingest call changed."""

    activities_new: int = 0
    activities_merged: int = 0
    participants_added: int = 0
    sources_added: int = 0
    rollup_rows_touched: int = 0


@dataclass(frozen=True, slots=True)
class RemoveResult:
    sources_removed: int = 0
    activities_deleted: int = 0

"""Graph message and event JSON → :class:`~analytics.store.records.ActivityIn`, tolerant of bad input.

Page bodies are read as plain JSON (PLATFORM.md: kiota models cost ~4.6 ms per message) and become typed
records here, at the edge of ``graph_sync``. Every field is read defensively: a wrong type degrades to "unknown"
rather than stopping the sync; only an item with no usable id or time is rejected (:class:`ItemRejected`),
which the worker logs with the mailbox and id and skips.

What is derived (SPEC.md):

* **side** of each address: internal when its domain is one of the tenant's verified domains;
* **direction**: outbound (our sender, an external recipient), inbound (external sender, one of us receiving),
  internal (only us), external (only them, e.g. we were bcc'd);
* **is_reply**: a ``conversationIndex`` longer than the 22-byte thread header, else a reply prefix on the
  subject (Re:, AW:, SV:, 回复: …);
* **initiator_side** of a thread: the sender's side on a message that starts a thread, the organiser's side on a
  meeting; replies leave it unset, since one message cannot tell who opened its thread (the analytics derive it
  from the conversation's earliest message);
* **bulk / no-reply / distribution-list** senders: by the sender's local part, by a list ``sender`` that
  differs from ``from``, or by more recipients than a person writes to;
* meetings: organiser, attendees (rooms and equipment excluded), response status, duration, cancellation.

Subjects are passed raw; the store applies the tenant's subject policy.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from analytics.store.ids import domain_of, normalise_address
from analytics.store.records import ActivityIn, Direction, ParticipantIn, Role, Side
from graph_sync.errors import ItemRejected
from graph_sync.timezones import iana_zone

MAX_PARTICIPANTS = 500  # beyond this a message is a blast; keep the first ones and record the total
LIST_RECIPIENTS = 50
MAX_ADDRESS = 320  # RFC 5321's limit, and the store's column width
_PEOPLE_CACHE = 100_000  # participants remembered per directory snapshot

MESSAGE_SELECT = (
    "id", "internetMessageId", "conversationId", "conversationIndex", "subject", "from", "sender",
    "toRecipients", "ccRecipients", "bccRecipients", "sentDateTime", "receivedDateTime", "createdDateTime",
    "isDraft", "isRead", "importance", "inferenceClassification", "hasAttachments", "parentFolderId",
)

_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|antw|antwort|rif|r|réf|odp|回复|答复|回覆|返信)\s*[:：]", re.IGNORECASE)
_NOREPLY = re.compile(r"(^|[-_.])(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster)($|[-_.+])")
_BULK = re.compile(r"^(newsletters?|news|marketing|notifications?|notify|alerts?|bounces?|updates|digest|mailer)"
                   r"([-_.+].*)?$")
_LIST = re.compile(r"(^owner-|-owner$|-request$|^list[-_.]|[-_.]list$|-bounces?(\+.*)?$)")

@dataclass(frozen=True)
class Directory:
    """What normalisation needs to know about the tenant: its verified domains and its users' addresses."""

    tenant_id: str
    internal_domains: frozenset[str]
    users_by_address: Mapping[str, str] = field(default_factory=dict)  # lower-case address -> user id
    # Participants seen before, by (address, name, role, response): the same people recur on thousands of items,
    # and a participant is immutable, so one object serves them all (and its side and user are looked up once).
    _people: dict[tuple[str, str, str, str | None], ParticipantIn] = field(
        default_factory=dict, compare=False, repr=False, hash=False)

    def side(self, address: str) -> Side:
        return "internal" if domain_of(address) in self.internal_domains else "external"

    def user_id(self, address: str) -> str | None:
        return self.users_by_address.get(normalise_address(address))

    def person(self, address: str, name: str, role: Role, response: str | None = None) -> ParticipantIn:
        """The participant ``address`` (already stripped) in ``role``, with its side and user id."""
        key = (address, name, role, response)
        p = self._people.get(key)
        if p is None:
            if len(self._people) >= _PEOPLE_CACHE:
                self._people.clear()
            side = self.side(address)
            user_id = self.user_id(address) if side == "internal" else None
            p = self._people[key] = ParticipantIn(address, role, side, name, user_id=user_id,
                                                  response_status=response)
        return p


@dataclass(frozen=True)
class Mailbox:
    """The mailbox whose copy of an item is being read."""

    user_id: str
    address: str


# --- tolerant readers ------------------------------------------------------------------------------------------


def _str(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    # PostgreSQL text cannot hold NUL; nothing legitimate in Graph metadata contains it.
    return value.replace("\x00", "") if "\x00" in value else value


def _text(value: object, limit: int | None = None) -> str | None:
    text = _str(value)
    return text[:limit] if text is not None and limit is not None else text


def _bool(value: object) -> bool:
    """Graph booleans, also when a producer sent them as strings ("true") or numbers."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    if isinstance(value, int | float):
        return value != 0
    return False


def parse_instant(value: object) -> datetime | None:
    """An ISO 8601 instant (``...Z`` or with an offset); naive values are taken as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _zone(name: object) -> tzinfo:
    if not isinstance(name, str) or not name:
        return UTC
    # Windows zone names reach us when the mailbox's zone is not UTC (we ask for UTC; this is the fallback).
    iana = iana_zone(name)
    return UTC if iana is None else ZoneInfo(iana)


def parse_graph_datetime(value: object) -> datetime | None:
    """A Graph ``dateTimeTimeZone`` (``{"dateTime": ..., "timeZone": ...}``) as an aware UTC datetime."""
    if not isinstance(value, Mapping):
        return None
    text = value.get("dateTime")
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(value.get("timeZone")))
    return parsed.astimezone(UTC)


def _address(recipient: object) -> tuple[str, str] | None:
    """(address, display name) of a Graph ``recipient``, or None if it carries no address."""
    if not isinstance(recipient, dict) and not isinstance(recipient, Mapping):  # dict first: the common case
        return None
    email = recipient.get("emailAddress")
    if not isinstance(email, dict) and not isinstance(email, Mapping):
        return None
    address = email.get("address")
    if type(address) is not str:
        return None
    if "\x00" in address:
        address = address.replace("\x00", "")
    address = address.strip()
    if not address or len(address) > MAX_ADDRESS:
        return None
    name = email.get("name")
    if type(name) is not str:
        name = ""
    elif "\x00" in name:
        name = name.replace("\x00", "")
    return address, name


def _recipients(value: object) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return []
    out = []
    for r in value:
        a = _address(r)
        if a is not None:
            out.append(a)
    return out


def _person(directory: Directory, address: str, name: str, role: Role,
            response: str | None = None) -> ParticipantIn:
    return directory.person(address, name, role, response)


def _direction(sender_side: Side | None, others: list[ParticipantIn], folder: str | None) -> Direction:
    if sender_side is None:
        sender_side = "internal" if folder == "sentitems" else "external"
    other_side = "external" if sender_side == "internal" else "internal"
    crosses = False
    for p in others:
        if p.side == other_side:
            crosses = True
            break
    if sender_side == "internal":
        return "outbound" if crosses else "internal"
    return "inbound" if crosses else "external"


def is_reply_message(conversation_index: object, subject: str | None) -> bool:
    """A reply or forward: a conversationIndex longer than its 22-byte header, else a reply subject prefix."""
    if isinstance(conversation_index, str) and conversation_index:
        try:
            return len(base64.b64decode(conversation_index, validate=False)) > 22
        except (binascii.Error, ValueError):
            pass
    return bool(subject and _REPLY_PREFIX.match(subject))


_SENDER_CLASSES: dict[tuple[str | None, str | None], str] = {}


def sender_class(from_address: str | None, sender_address: str | None, recipient_count: int) -> str:
    """``person``, ``noreply``, ``bulk`` or ``list`` for a message's sender."""
    if recipient_count > LIST_RECIPIENTS:
        by_sender = _sender_class(from_address, sender_address)
        return "list" if by_sender == "person" else by_sender
    key = (from_address, sender_address)
    klass = _SENDER_CLASSES.get(key)
    if klass is None:  # the same senders recur: classify each pair once (bounded memo)
        if len(_SENDER_CLASSES) >= _PEOPLE_CACHE:
            _SENDER_CLASSES.clear()
        klass = _SENDER_CLASSES[key] = _sender_class(from_address, sender_address)
    return klass


def _sender_class(from_address: str | None, sender_address: str | None) -> str:
    if from_address:
        local = normalise_address(from_address).partition("@")[0]
        if _NOREPLY.search(local):
            return "noreply"
        if _BULK.match(local):
            return "bulk"
        if _LIST.search(local):
            return "list"
    if sender_address and from_address and normalise_address(sender_address) != normalise_address(from_address):
        local = normalise_address(sender_address).partition("@")[0]
        if _LIST.search(local) or _BULK.match(local) or _NOREPLY.search(local):
            return "list"
    return "person"


# --- messages --------------------------------------------------------------------------------------------------


def normalise_message(
    item: Mapping[str, Any], mailbox: Mailbox, directory: Directory, folder: str
) -> ActivityIn | None:
    """One Graph ``message`` of ``mailbox``'s ``folder``; ``None`` for drafts (not yet an interaction)."""
    source_id = _str(item.get("id"))
    if source_id is None:
        raise ItemRejected("?", "no id")
    if _bool(item.get("isDraft")):
        return None
    start = (parse_instant(item.get("sentDateTime")) or parse_instant(item.get("receivedDateTime"))
             or parse_instant(item.get("createdDateTime")))
    if start is None:
        raise ItemRejected(source_id, "no sent, received or created time")
    subject = _str(item.get("subject"))

    sender = _address(item.get("from")) or _address(item.get("sender"))
    if sender is None and folder == "sentitems":
        sender = (mailbox.address, "")  # our own sent copy without a from: it is the mailbox owner's
    list_sender = _address(item.get("sender"))
    to = _recipients(item.get("toRecipients"))
    cc = _recipients(item.get("ccRecipients"))
    bcc = _recipients(item.get("bccRecipients"))
    total = len(to) + len(cc) + len(bcc)

    participants: list[ParticipantIn] = []
    sender_side: Side | None = None
    if sender is not None:
        p = _person(directory, sender[0], sender[1], "from")
        sender_side = p.side
        participants.append(p)
    others: list[ParticipantIn] = []
    for role, group in (("to", to), ("cc", cc), ("bcc", bcc)):
        for address, name in group:
            if len(others) >= MAX_PARTICIPANTS:
                break
            others.append(_person(directory, address, name, role))  # type: ignore[arg-type]
    participants.extend(others)

    klass = sender_class(sender[0] if sender else None, list_sender[0] if list_sender else None, total)
    attributes: dict[str, object] = {}
    if klass != "person":
        attributes["sender_class"] = klass
    if total > len(others):
        attributes["recipients_total"] = total
    reply = is_reply_message(item.get("conversationIndex"), subject)
    return ActivityIn(
        mailbox_id=mailbox.user_id,
        resource="messages",
        source_id=source_id,
        kind="email",
        start_at=start,
        direction=_direction(sender_side, others, folder),
        participants=tuple(participants),
        internet_message_id=_str(item.get("internetMessageId")),
        conversation_id=_text(item.get("conversationId"), 512),
        initiator_side=None if reply or sender_side is None else ("us" if sender_side == "internal" else "them"),
        is_reply=reply,
        is_bulk=klass != "person",
        subject=subject,
        folder_id=folder,
        attributes=attributes,
    )


# --- events ----------------------------------------------------------------------------------------------------


def normalise_event(item: Mapping[str, Any], mailbox: Mailbox, directory: Directory) -> ActivityIn | None:
    """One Graph ``event`` of ``mailbox``'s calendar; ``None`` for series masters (occurrences are synced)."""
    source_id = _str(item.get("id"))
    if source_id is None:
        raise ItemRejected("?", "no id")
    if item.get("type") == "seriesMaster":
        return None
    start = parse_graph_datetime(item.get("start"))
    if start is None:
        raise ItemRejected(source_id, "no usable start time")
    end = parse_graph_datetime(item.get("end"))
    duration = max(0.0, (end - start).total_seconds() / 60.0) if end is not None else 0.0

    organizer = _address(item.get("organizer"))
    if organizer is None and _bool(item.get("isOrganizer")):
        organizer = (mailbox.address, "")
    participants: list[ParticipantIn] = []
    organizer_side: Side | None = None
    if organizer is not None:
        p = _person(directory, organizer[0], organizer[1], "organizer", "organizer")
        organizer_side = p.side
        participants.append(p)
    own_response = None
    rs = item.get("responseStatus")
    if isinstance(rs, Mapping):
        own_response = _text(rs.get("response"), 24)
    attendees: list[ParticipantIn] = []
    raw_attendees = item.get("attendees")
    for a in raw_attendees if isinstance(raw_attendees, list) else []:
        if not isinstance(a, Mapping) or a.get("type") == "resource":
            continue  # rooms and equipment are not people
        addr = _address(a)
        if addr is None:
            continue
        if organizer is not None and normalise_address(addr[0]) == normalise_address(organizer[0]):
            continue
        status = a.get("status")
        response = _text(status.get("response"), 24) if isinstance(status, Mapping) else None
        if normalise_address(addr[0]) == normalise_address(mailbox.address) and response in (None, "none"):
            response = own_response
        attendees.append(_person(directory, addr[0], addr[1], "attendee", response))
        if len(attendees) >= MAX_PARTICIPANTS:
            break
    participants.extend(attendees)

    attributes: dict[str, object] = {}
    if _bool(item.get("isAllDay")):
        attributes["all_day"] = True
    if _bool(item.get("isOnlineMeeting")):
        attributes["online"] = True
    show_as = _str(item.get("showAs"))
    if show_as and show_as != "busy":
        attributes["show_as"] = show_as
    return ActivityIn(
        mailbox_id=mailbox.user_id,
        resource="events",
        source_id=source_id,
        kind="meeting",
        start_at=start,
        end_at=end,
        duration_minutes=duration,
        direction=_direction(organizer_side, attendees, None),
        participants=tuple(participants),
        ical_uid=_str(item.get("iCalUId")),
        initiator_side=None if organizer_side is None else ("us" if organizer_side == "internal" else "them"),
        is_cancelled=_bool(item.get("isCancelled")),
        subject=_str(item.get("subject")),
        folder_id="calendar",
        attributes=attributes,
    )

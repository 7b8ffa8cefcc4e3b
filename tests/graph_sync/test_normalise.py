"""Graph JSON → activities: derived fields, and tolerance of bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from graph_sync.errors import ItemRejected
from graph_sync.normalise import (
    MAX_PARTICIPANTS,
    Directory,
    Mailbox,
    normalise_event,
    normalise_message,
    parse_graph_datetime,
    sender_class,
)

DIR = Directory("t1", frozenset({"contoso.com"}), {"alice@contoso.com": "u-alice", "bob@contoso.com": "u-bob"})
ALICE = Mailbox("u-alice", "alice@contoso.com")


def who(address: str, name: str = "") -> dict[str, Any]:
    return {"emailAddress": {"name": name, "address": address}}


def message(**over: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "id": "AAMk1", "internetMessageId": "<1@contoso.com>", "conversationId": "conv1", "subject": "Pricing",
        "from": who("alice@contoso.com", "Alice"), "toRecipients": [who("carol@fabrikam.com", "Carol")],
        "ccRecipients": [who("bob@contoso.com")], "sentDateTime": "2026-10-01T08:00:00Z", "isRead": True,
    }
    m.update(over)
    return m


def test_outbound_message_sides_users_and_initiator() -> None:
    a = normalise_message(message(), ALICE, DIR, "sentitems")
    assert a is not None
    assert (a.direction, a.initiator_side, a.is_reply, a.is_bulk) == ("outbound", "us", False, False)
    assert a.start_at == datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    assert [(p.role, p.side, p.user_id) for p in a.participants] == [
        ("from", "internal", "u-alice"), ("to", "external", None), ("cc", "internal", "u-bob")]
    assert a.dedup_key == "m:<1@contoso.com>"


def test_inbound_reply_leaves_thread_initiator_open() -> None:
    a = normalise_message(message(**{"from": who("carol@fabrikam.com"), "subject": "RE: Pricing",
                                     "toRecipients": [who("alice@contoso.com")], "ccRecipients": []}),
                          ALICE, DIR, "inbox")
    assert a is not None and (a.direction, a.is_reply, a.initiator_side) == ("inbound", True, None)


@pytest.mark.parametrize(("subject", "reply"), [("Re: x", True), ("AW: x", True), ("回复：报价", True),
                                                ("Fwd: x", False), ("Regarding x", False)])
def test_reply_prefixes(subject: str, reply: bool) -> None:
    a = normalise_message(message(subject=subject), ALICE, DIR, "sentitems")
    assert a is not None and a.is_reply is reply


def test_conversation_index_longer_than_header_is_a_reply() -> None:
    import base64
    a = normalise_message(message(conversationIndex=base64.b64encode(b"x" * 27).decode(), subject="Hello"),
                          ALICE, DIR, "sentitems")
    assert a is not None and a.is_reply


@pytest.mark.parametrize(("sender", "list_sender", "count", "klass"), [
    ("no-reply@microsoft.com", None, 1, "noreply"), ("noreply@36kr.com", None, 1, "noreply"),
    ("newsletter@techcrunch-daily.example", None, 1, "bulk"), ("messages-noreply@linkedin.com", None, 1, "noreply"),
    ("carol@fabrikam.com", "sales-list@fabrikam.com", 1, "list"), ("carol@fabrikam.com", None, 60, "list"),
    ("carol@fabrikam.com", "assistant@fabrikam.com", 1, "person"),
])
def test_sender_classes(sender: str, list_sender: str | None, count: int, klass: str) -> None:
    assert sender_class(sender, list_sender, count) == klass


def test_meeting_organiser_attendees_response_and_duration() -> None:
    event = {
        "id": "ev1", "iCalUId": "ical-1", "subject": "Demo", "isCancelled": False, "type": "singleInstance",
        "start": {"dateTime": "2026-05-04T16:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-05-04T16:45:00.0000000", "timeZone": "UTC"},
        "organizer": who("carol@fabrikam.com"), "responseStatus": {"response": "tentativelyAccepted"},
        "attendees": [
            {"type": "required", "status": {"response": "none"}, "emailAddress": {"address": "alice@contoso.com"}},
            {"type": "optional", "status": {"response": "accepted"}, "emailAddress": {"address": "bob@contoso.com"}},
            {"type": "resource", "status": {"response": "accepted"}, "emailAddress": {"address": "room1@contoso.com"}},
        ],
    }
    a = normalise_event(event, ALICE, DIR)
    assert a is not None
    assert (a.kind, a.direction, a.initiator_side, a.duration_minutes) == ("meeting", "inbound", "them", 45.0)
    assert [(p.address, p.role, p.response_status) for p in a.participants] == [
        ("carol@fabrikam.com", "organizer", "organizer"), ("alice@contoso.com", "attendee", "tentativelyAccepted"),
        ("bob@contoso.com", "attendee", "accepted")]


def test_event_times_in_a_windows_zone_become_utc() -> None:
    at = parse_graph_datetime({"dateTime": "2026-07-01T10:00:00.0000000", "timeZone": "W. Europe Standard Time"})
    assert at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


# --- bad input never raises anything but ItemRejected ----------------------------------------------------------


@pytest.mark.parametrize("over", [
    {"isRead": "true"}, {"isDraft": "false"}, {"unknownProperty": {"deep": [1, 2]}}, {"from": None},
    {"from": "alice@contoso.com"}, {"toRecipients": None}, {"toRecipients": [None, 3, {"emailAddress": None}]},
    {"ccRecipients": "bob"}, {"subject": 42}, {"internetMessageId": None}, {"conversationId": ["x"]},
    {"from": who("ℤ𝔬𝔢 \u202e 🦄 \x00 <x>", "名字 \x00")},
    {"toRecipients": [who("x" * 400 + "@example.com")]},
])
def test_odd_messages_are_normalised_not_fatal(over: dict[str, Any]) -> None:
    a = normalise_message(message(**over), ALICE, DIR, "inbox")
    assert a is not None and a.source_id == "AAMk1"
    assert all("\x00" not in p.display_name and len(p.address) <= 320 for p in a.participants)


def test_missing_from_in_sent_items_is_the_mailbox_owner() -> None:
    a = normalise_message(message(**{"from": None, "sender": None}), ALICE, DIR, "sentitems")
    assert a is not None and a.participants[0].address == "alice@contoso.com" and a.direction == "outbound"


def test_ten_thousand_recipients_are_capped_and_counted() -> None:
    many = [who(f"p{i}@fabrikam.com") for i in range(10_000)]
    a = normalise_message(message(toRecipients=many), ALICE, DIR, "sentitems")
    assert a is not None
    assert len(a.participants) == 1 + MAX_PARTICIPANTS
    assert a.attributes["recipients_total"] == 10_001 and a.is_bulk


@pytest.mark.parametrize("item", [
    {"id": "x"}, {"id": "x", "sentDateTime": "yesterday"}, {"id": 5, "sentDateTime": "2026-01-01T00:00:00Z"},
])
def test_unusable_messages_are_rejected_with_their_id(item: dict[str, Any]) -> None:
    with pytest.raises(ItemRejected):
        normalise_message(item, ALICE, DIR, "inbox")


def test_drafts_and_series_masters_are_skipped() -> None:
    assert normalise_message(message(isDraft="true"), ALICE, DIR, "inbox") is None
    assert normalise_event({"id": "m", "type": "seriesMaster"}, ALICE, DIR) is None

"""Small builders for activities in tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from analytics.store.records import ActivityIn, ParticipantIn

ALICE = ParticipantIn("alice@contoso.com", "from", "internal", "Alice", user_id="u-alice")
BOB_TO = ParticipantIn("bob@contoso.com", "to", "internal", "Bob", user_id="u-bob")
CAROL_TO = ParticipantIn("carol@fabrikam.com", "to", "external", "Carol")


def email(
    n: int,
    at: datetime,
    *,
    mailbox: str = "u-alice",
    participants: tuple[ParticipantIn, ...] = (ALICE, CAROL_TO),
    subject: str | None = "Pricing",
) -> ActivityIn:
    return ActivityIn(
        mailbox_id=mailbox,
        resource="messages",
        source_id=f"AAMk-{mailbox}-{n}",
        kind="email",
        start_at=at + timedelta(minutes=n),
        direction="outbound",
        participants=participants,
        internet_message_id=f"<msg-{n}@contoso.com>",
        conversation_id=f"conv-{n // 2}",
        initiator_side="us",
        subject=subject,
    )

"""Builders for relationship-analytics tests: emails, meetings and calls between our users and contacts."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Engine

from analytics.store import models
from analytics.store.ingest import ingest_activities
from analytics.store.records import ActivityIn, ParticipantIn

KEY = "test-secret"
_seq = itertools.count(1)


def user(name: str) -> ParticipantIn:
    """An internal participant ``name@contoso.com`` with user id ``u-name``."""
    return ParticipantIn(f"{name}@contoso.com", "from", "internal", name.title(), user_id=f"u-{name}")


def ext(address: str) -> ParticipantIn:
    return ParticipantIn(address, "from", "external", address.partition("@")[0].title())


def _as(p: ParticipantIn, role: str) -> ParticipantIn:
    return ParticipantIn(p.address, role, p.side, p.display_name, p.user_id)  # type: ignore[arg-type]


def mail(sender: ParticipantIn, to: Sequence[ParticipantIn], at: datetime, *, conversation: str | None = None,
         is_bulk: bool = False) -> ActivityIn:
    n = next(_seq)
    parts = (_as(sender, "from"), *(_as(p, "to") for p in to))
    mailbox = sender.user_id or next((p.user_id for p in to if p.user_id), "u-journal")
    return ActivityIn(
        mailbox_id=mailbox or "", resource="messages", source_id=f"msg-{n}", kind="email", start_at=at,
        direction="outbound" if sender.side == "internal" else "inbound", participants=parts,
        internet_message_id=f"<m{n}@test>", conversation_id=conversation or f"conv-{n}",
        initiator_side="us" if sender.side == "internal" else "them", is_bulk=is_bulk)


def meeting(organizer: ParticipantIn, attendees: Sequence[ParticipantIn], at: datetime,
            minutes: float = 30.0) -> ActivityIn:
    n = next(_seq)
    parts = (_as(organizer, "organizer"), *(_as(p, "attendee") for p in attendees))
    mailbox = organizer.user_id or next((p.user_id for p in attendees if p.user_id), "u-journal")
    return ActivityIn(
        mailbox_id=mailbox or "", resource="events", source_id=f"ev-{n}", kind="meeting", start_at=at,
        direction="outbound" if organizer.side == "internal" else "inbound", participants=parts,
        ical_uid=f"ical-{n}", duration_minutes=minutes,
        initiator_side="us" if organizer.side == "internal" else "them")


def ingest(engine: Engine, tenant_id: str, batch: Sequence[ActivityIn], now: datetime) -> None:
    with engine.begin() as conn:
        ingest_activities(conn, tenant_id, list(batch), now=now, subject_key=KEY)


def add_users(engine: Engine, tenant_id: str, *names: str) -> None:
    with engine.begin() as conn:
        for name in names:
            conn.execute(models.InternalUser.__table__.insert().values(
                tenant_id=tenant_id, user_id=f"u-{name}", email=f"{name}@contoso.com", display_name=name.title()))


def add_account(engine: Engine, tenant_id: str, account_id: str, name: str, *domains: str,
                owner_id: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(models.Account.__table__.insert().values(
            tenant_id=tenant_id, account_id=account_id, name=name, source="crm", owner_id=owner_id, fields={}))
        for d in domains:
            conn.execute(models.AccountDomain.__table__.insert().values(
                tenant_id=tenant_id, domain=d, account_id=account_id))

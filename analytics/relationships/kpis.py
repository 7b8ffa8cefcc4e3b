"""Relationship KPIs of one record from its activities, sans IO.

A record is a set of customer people (``contact_ids``) and, for leads and opportunities, a set of our people
(``user_ids``; ``None`` means every internal user). An activity counts when someone of each side is on it.

Rules (SPEC.md):

* counts per side: emails sent, meetings organised, calls made (the organiser / caller / sender's side);
* initiated: the first email of each conversation, each meeting and each call, by the side that started it;
* time: an email costs its sender 5 minutes and each reader 2.5; a meeting or call costs our side its duration
  times our attendees, theirs its duration once;
* first-response time: in each conversation, the time from the first unanswered message of one side to the
  next message of the other side; response rate: share of the other side's messages followed by a reply of this
  side in the same conversation;
* last interaction: the latest at or before ``as_of``; next: the first meeting or call after it.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from analytics.store.queries_relationships import ActivityRow, PartRow
from analytics.store.records import SENDER_ROLES
from analytics.store.rollups import EMAIL_READ_MINUTES, EMAIL_WRITE_MINUTES
from analytics.views import DayBreakdown, InteractionRef, KpiView, PersonCount, SideKpis

SideName = Literal["us", "them"]
TOP_PEOPLE = 5


@dataclass
class _Side:
    emails: int = 0
    meetings: int = 0
    calls: int = 0
    initiated: int = 0
    minutes: float = 0.0
    response_hours: list[float] = field(default_factory=list)
    answered: int = 0  # messages of the other side this side answered
    received: int = 0  # messages of the other side
    people: Counter[tuple[str, str]] = field(default_factory=Counter)  # (name, email) → interactions

    def view(self) -> SideKpis:
        avg = sum(self.response_hours) / len(self.response_hours) if self.response_hours else None
        rate = self.answered / self.received if self.received else None
        top = sorted(self.people.items(), key=lambda kv: (-kv[1], kv[0][1]))[:TOP_PEOPLE]
        return SideKpis(
            emails_sent=self.emails, meetings_organised=self.meetings, calls_made=self.calls,
            initiated=self.initiated, minutes_spent=round(self.minutes, 2),
            avg_first_response_hours=None if avg is None else round(avg, 4),
            response_rate=None if rate is None else round(rate, 4),
            most_contacted=tuple(PersonCount(name, email, n) for (name, email), n in top),
            median_first_response_hours=(round(statistics.median(self.response_hours), 4)
                                         if self.response_hours else None),
        )


@dataclass(frozen=True, slots=True)
class RecordPeople:
    """Who is on each side of a record."""

    contact_ids: frozenset[int]
    user_ids: frozenset[str] | None = None  # None: every internal user

    def is_us(self, p: PartRow) -> bool:
        return p.side == "internal" and p.user_id is not None and (
            self.user_ids is None or p.user_id in self.user_ids)

    def is_them(self, p: PartRow) -> bool:
        return p.side == "external" and p.contact_id is not None and p.contact_id in self.contact_ids


def _sender(a: ActivityRow) -> PartRow | None:
    return next((p for p in a.participants if p.role in SENDER_ROLES), None)


def _side_of(a: ActivityRow, people: RecordPeople) -> SideName | None:
    """Which side started ``a``: the sender / organiser / caller, else the stored initiator side."""
    sender = _sender(a)
    if sender is not None:
        if people.is_us(sender):
            return "us"
        if people.is_them(sender):
            return "them"
        return None if a.kind == "email" else ("us" if sender.side == "internal" else "them")
    if a.kind == "email":
        return None
    return "them" if a.initiator_side == "them" else "us"


def relevant(activities: Sequence[ActivityRow], people: RecordPeople) -> list[ActivityRow]:
    """The activities with someone of each side of the record on them."""
    return [a for a in activities
            if any(people.is_us(p) for p in a.participants) and any(people.is_them(p) for p in a.participants)]


def compute_kpis(
    activities: Sequence[ActivityRow],
    people: RecordPeople,
    *,
    as_of: datetime,
    window_days: int,
) -> KpiView:
    """The KPIs of a record over ``window_days`` ending at ``as_of`` (``activities`` may extend past it)."""
    start = as_of - timedelta(days=window_days)
    acts = relevant(activities, people)
    past = [a for a in acts if start <= a.start_at <= as_of]
    sides: dict[SideName, _Side] = {"us": _Side(), "them": _Side()}
    breakdown: dict[date, Counter[str]] = defaultdict(Counter)
    conversations: dict[str, list[tuple[datetime, SideName]]] = defaultdict(list)
    last: InteractionRef | None = None

    for a in past:
        side = _side_of(a, people)
        ours = [p for p in a.participants if people.is_us(p)]
        theirs = [p for p in a.participants if people.is_them(p)]
        for p in ours:
            sides["us"].people[(p.display_name, p.address)] += 1
        for p in theirs:
            sides["them"].people[(p.display_name, p.address)] += 1
        breakdown[a.start_at.date()][a.kind] += 1
        if last is None or a.start_at >= last.at:
            last = InteractionRef(a.start_at, a.kind, side)
        if a.kind == "email":
            if side is None:
                continue
            other: SideName = "them" if side == "us" else "us"
            readers = theirs if side == "us" else ours
            readers = [p for p in readers if p.role not in SENDER_ROLES]
            sides[side].emails += 1
            sides[side].minutes += EMAIL_WRITE_MINUTES
            sides[other].minutes += EMAIL_READ_MINUTES * len({p.address for p in readers})
            conversations[a.conversation_id or f"activity:{a.activity_id}"].append((a.start_at, side))
        elif a.kind in ("meeting", "call"):
            starter: SideName = side or "us"
            if a.kind == "meeting":
                sides[starter].meetings += 1
            else:
                sides[starter].calls += 1
            sides[starter].initiated += 1
            sides["us"].minutes += a.duration_minutes * len({p.address for p in ours})
            sides["them"].minutes += a.duration_minutes

    for messages in conversations.values():
        _pair_replies(messages, sides)

    upcoming = [a for a in acts if a.start_at > as_of and a.kind in ("meeting", "call")]
    nxt = min(upcoming, key=lambda a: a.start_at, default=None)
    us, them = sides["us"], sides["them"]
    return KpiView(
        window_days=window_days,
        as_of=as_of,
        us=us.view(),
        them=them.view(),
        email_ratio=round(us.emails / them.emails, 4) if them.emails else None,
        last_interaction=last,
        next_interaction=InteractionRef(nxt.start_at, nxt.kind, _side_of(nxt, people)) if nxt else None,
        breakdown=tuple(DayBreakdown(d, c["email"], c["meeting"], c["call"]) for d, c in sorted(breakdown.items())),
    )


def _pair_replies(messages: list[tuple[datetime, SideName]], sides: dict[SideName, _Side]) -> None:
    """Pair the messages of one conversation into first responses; count initiation and answered messages."""
    messages.sort()
    sides[messages[0][1]].initiated += 1
    pending_since: dict[SideName, datetime | None] = {"us": None, "them": None}
    unanswered: dict[SideName, int] = {"us": 0, "them": 0}
    for at, side in messages:
        other: SideName = "them" if side == "us" else "us"
        since = pending_since[other]
        if since is not None:
            sides[side].response_hours.append((at - since).total_seconds() / 3600.0)
            sides[side].answered += unanswered[other]
            pending_since[other] = None
            unanswered[other] = 0
        if pending_since[side] is None:
            pending_since[side] = at
        unanswered[side] += 1
        sides[other].received += 1


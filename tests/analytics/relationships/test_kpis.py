from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from analytics.relationships.kpis import RecordPeople, compute_kpis
from analytics.store.queries_relationships import ActivityRow, PartRow

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)
ALICE = PartRow("from", "internal", "alice@contoso.com", "Alice", "u-alice", None)
BOB = PartRow("from", "internal", "bob@contoso.com", "Bob", "u-bob", None)
CAROL = PartRow("from", "external", "carol@fabrikam.com", "Carol", None, 1)
DAVE = PartRow("from", "external", "dave@fabrikam.com", "Dave", None, 2)
PEOPLE = RecordPeople(frozenset({1, 2}))


def _role(p: PartRow, role: str) -> PartRow:
    return PartRow(role, p.side, p.address, p.display_name, p.user_id, p.contact_id)


def mail(sender: PartRow, to: list[PartRow], at: datetime, conversation: str) -> ActivityRow:
    parts = (_role(sender, "from"), *(_role(p, "to") for p in to))
    return ActivityRow(next(_ids), "email", at, 0.0, conversation, None, False, parts)


def meeting(organizer: PartRow, attendees: list[PartRow], at: datetime, minutes: float) -> ActivityRow:
    parts = (_role(organizer, "organizer"), *(_role(p, "attendee") for p in attendees))
    return ActivityRow(next(_ids), "meeting", at, minutes, None, None, False, parts)


def test_first_response_time_and_rate_pair_replies_within_conversations() -> None:
    t0 = NOW - timedelta(days=10)
    acts = [
        mail(ALICE, [CAROL], t0, "c1"),
        mail(ALICE, [CAROL], t0 + timedelta(hours=1), "c1"),  # still unanswered: first-response clock keeps t0
        mail(CAROL, [ALICE], t0 + timedelta(hours=3), "c1"),  # them: 3 h, answers both
        mail(ALICE, [CAROL], t0 + timedelta(hours=5), "c1"),  # us: 2 h
        mail(CAROL, [ALICE], t0 + timedelta(days=1), "c2"),  # never answered
    ]
    k = compute_kpis(acts, PEOPLE, as_of=NOW, window_days=90)
    assert k.them.avg_first_response_hours == 3.0
    assert k.us.avg_first_response_hours == 2.0
    assert k.them.response_rate == round(2 / 3, 4)  # answered 2 of our 3 messages
    assert k.us.response_rate == 0.5  # answered 1 of their 2
    assert (k.us.initiated, k.them.initiated) == (1, 1)
    assert (k.us.emails_sent, k.them.emails_sent) == (3, 2)
    assert k.email_ratio == 1.5


def test_time_spent_counts_email_estimates_and_our_attendees_per_meeting() -> None:
    acts = [
        mail(ALICE, [CAROL, DAVE], NOW - timedelta(days=2), "c1"),  # us 5; them 2 × 2.5
        mail(CAROL, [ALICE, BOB], NOW - timedelta(days=1), "c1"),  # them 5; us 2 × 2.5
        meeting(ALICE, [BOB, CAROL], NOW - timedelta(days=1), 60),  # us 60 × 2; them 60
    ]
    k = compute_kpis(acts, PEOPLE, as_of=NOW, window_days=90)
    assert k.us.minutes_spent == 5 + 5 + 120
    assert k.them.minutes_spent == 5 + 5 + 60
    assert k.us.meetings_organised == 1 and k.them.meetings_organised == 0


def test_last_next_and_breakdown_respect_the_window_and_the_future() -> None:
    acts = [
        mail(ALICE, [CAROL], NOW - timedelta(days=200), "old"),
        mail(CAROL, [ALICE], NOW - timedelta(days=3), "c1"),
        meeting(CAROL, [ALICE], NOW + timedelta(days=4), 30),
        meeting(ALICE, [CAROL], NOW + timedelta(days=9), 30),
    ]
    k = compute_kpis(acts, PEOPLE, as_of=NOW, window_days=90)
    assert k.last_interaction is not None and k.last_interaction.at == NOW - timedelta(days=3)
    assert k.last_interaction.side == "them"
    assert k.next_interaction is not None and k.next_interaction.at == NOW + timedelta(days=4)
    assert [(d.day, d.emails) for d in k.breakdown] == [((NOW - timedelta(days=3)).date(), 1)]
    assert k.total_interactions == 1


def test_lead_scope_counts_only_its_own_people() -> None:
    acts = [mail(ALICE, [CAROL], NOW - timedelta(days=1), "a"), mail(BOB, [CAROL], NOW - timedelta(days=1), "b")]
    k = compute_kpis(acts, RecordPeople(frozenset({1}), frozenset({"u-bob"})), as_of=NOW, window_days=90)
    assert k.us.emails_sent == 1
    assert [p.email for p in k.us.most_contacted] == ["bob@contoso.com"]

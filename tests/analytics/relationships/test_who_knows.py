from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from analytics.relationships.who_knows import edges, is_automated, message_count_ranking
from analytics.store.queries_relationships import ContactRow, RollupRow

AS_OF = date(2026, 11, 2)


def row(user: str, days_ago: int, us: int, them: int, kind: str = "email") -> RollupRow:
    day = AS_OF - timedelta(days=days_ago)
    return RollupRow(day, user, 1, kind, us, them, datetime(day.year, day.month, day.day, 12, tzinfo=UTC))


def test_two_way_exchange_outranks_more_one_way_outreach() -> None:
    rows = [row("u-two", d, 1, 1) for d in range(0, 40, 10)] + [row("u-one", d, 3, 0) for d in range(0, 40, 10)]
    ranked = edges(rows, as_of=AS_OF)
    assert [e.user_id for e in ranked] == ["u-two", "u-one"]
    assert ranked[0].two_way and not ranked[1].two_way
    assert message_count_ranking(rows, as_of=AS_OF) == ["u-one", "u-two"]


def test_recent_contact_outranks_the_same_amount_long_ago() -> None:
    rows = [row("u-old", 300 + d, 1, 1) for d in range(5)] + [row("u-new", d, 1, 1) for d in range(5)]
    ranked = edges(rows, as_of=AS_OF)
    assert ranked[0].user_id == "u-new"
    assert ranked[0].strength > ranked[1].strength


def test_last_interaction_and_level_and_exclusions() -> None:
    rows = [row("u-a", 5, 1, 0, "meeting"), row("u-a", 1, 0, 1), *[row("u-b", d, 2, 2) for d in range(10)]]
    ranked = edges(rows, as_of=AS_OF, excluded_users={"u-b"})
    assert [e.user_id for e in ranked] == ["u-a"]
    assert ranked[0].last_kind == "email" and ranked[0].last_at is not None
    assert ranked[0].last_at.date() == AS_OF - timedelta(days=1)
    assert edges([row("u-b", d, 2, 2) for d in range(10)], as_of=AS_OF)[0].level == "Strong"


def test_rows_after_the_cut_are_ignored() -> None:
    assert edges([row("u-a", -3, 1, 1)], as_of=AS_OF) == []


def contact(email: str, sender_class: str = "person") -> ContactRow:
    return ContactRow(1, email, email.partition("@")[2], "", None, sender_class)


def test_automated_senders_are_recognised() -> None:
    assert is_automated(contact("noreply@fabrikam.com"))
    assert is_automated(contact("no-reply+billing@fabrikam.com"))
    assert is_automated(contact("newsletter@fabrikam.com"))
    assert is_automated(contact("carol@fabrikam.com", "bulk"))
    assert not is_automated(contact("carol@fabrikam.com"))
    assert not is_automated(contact("listerine.fan@fabrikam.com"))


def test_a_frequent_relationship_that_stopped_yields_to_the_one_that_took_over() -> None:
    # Weekly for 200 days until 60 days ago (the account was handed over), then weekly with the new owner.
    rows = [row("u-previous", d, 1, 1) for d in range(60, 260, 7)] + [row("u-owner", d, 1, 1) for d in range(0, 60, 7)]
    assert [e.user_id for e in edges(rows, as_of=AS_OF)] == ["u-owner", "u-previous"]
    assert message_count_ranking(rows, as_of=AS_OF) == ["u-previous", "u-owner"]

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Connection, select
from sqlalchemy.engine import Engine

from analytics.refresh import full_refresh, incremental_refresh
from analytics.settings import Settings
from analytics.store import models
from analytics.store import queries_relationships as q
from analytics.store.records import ParticipantIn

from .builders import add_account, add_users, ext, ingest, mail, meeting, user

ALICE, BOB = user("alice"), user("bob")
CAROL, DAVE, EVE = ext("carol@fabrikam.com"), ext("dave@fabrikam.com"), ext("eve@northwind.com")


def scores(engine: Engine) -> dict[tuple[str, str], tuple[float | None, str | None, str | None]]:
    """Every current health score (a full refresh's ``score`` row or an incremental refresh's change)."""
    return {key: v[:3] for key, v in stored(engine).items()}


def seed(engine: Engine, tenant_id: str, now: datetime) -> None:
    add_users(engine, tenant_id, "alice", "bob")
    add_account(engine, tenant_id, "acc-fab", "Fabrikam", "fabrikam.com")
    batch = [mail(ALICE, [CAROL], now - timedelta(days=d)) for d in range(0, 100, 6)]
    batch += [mail(CAROL, [ALICE], now - timedelta(days=d, hours=-3)) for d in range(0, 100, 6)]
    batch += [mail(BOB, [EVE], now - timedelta(days=d)) for d in range(50, 110, 5)]
    ingest(engine, tenant_id, batch, now)
    with engine.begin() as conn:
        conn.execute(models.Lead.__table__.insert().values(
            tenant_id=tenant_id, lead_id="lead-1", owner_id="u-alice", contact_email="carol@fabrikam.com",
            status="open", created_at=now - timedelta(days=30), fields={}))
        conn.execute(models.Lead.__table__.insert().values(
            tenant_id=tenant_id, lead_id="lead-2", owner_id="u-bob", contact_email="eve@northwind.com",
            status="disqualified", created_at=now - timedelta(days=30), fields={}))


def test_full_refresh_scores_every_record_and_keeps_history(engine: Engine, tenant_id: str, now: datetime) -> None:
    seed(engine, tenant_id, now)
    result = full_refresh(engine, tenant_id, Settings(), now=now)
    assert (result.contacts, result.accounts, result.leads) == (2, 1, 2)
    got = scores(engine)
    assert got[("contact", "carol@fabrikam.com")][1] == "Good"
    assert got[("contact", "eve@northwind.com")][2] == "Declining"
    assert got[("lead", "lead-2")] == (None, "Not computed", None)
    assert got[("account", "acc-fab")][1] == "Good"  # one contact, against an account's higher expectation
    full_refresh(engine, tenant_id, Settings(), now=now + timedelta(days=1))
    with engine.connect() as conn:
        histories = q.health_histories(conn, tenant_id)
        stored_rows = len(conn.execute(select(models.ScoreHistory.__table__)).all())
    assert sorted(histories) == sorted(got)
    naive = now.replace(tzinfo=None)
    assert {tuple(p.computed_at.replace(tzinfo=None) for p in points) for points in histories.values()} == {
        (naive, naive + timedelta(days=1))}
    assert stored_rows == len(got)  # yesterday's scores; today's points are the current scores


def test_incremental_refresh_matches_a_full_refresh_for_the_touched_records(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    seed(engine, tenant_id, now)
    full_refresh(engine, tenant_id, Settings(), now=now)
    later = now + timedelta(days=2)
    batch = [mail(DAVE, [ALICE], later - timedelta(hours=h)) for h in range(1, 4)]
    ingest(engine, tenant_id, batch, later)
    result = incremental_refresh(engine, tenant_id, Settings(), now=later)
    assert (result.contacts, result.accounts) == (1, 1)
    incremental = scores(engine)
    full_refresh(engine, tenant_id, Settings(), now=later)
    full = scores(engine)
    for key in [("contact", "dave@fabrikam.com"), ("account", "acc-fab")]:
        assert incremental[key] == full[key], key


def stored(engine: Engine) -> dict[tuple[str, str], tuple[object, ...]]:
    """Every current health score with its details and time, as the store's readers give them."""
    with engine.connect() as conn:
        return _stored_in(conn)


def _stored_in(conn: Connection) -> dict[tuple[str, str], tuple[object, ...]]:
    out: dict[tuple[str, str], tuple[object, ...]] = {}
    for tenant_id in q.tenant_ids(conn):
        details = q.stored_health_details(conn, tenant_id)
        for record_type in {t for t, _ in details}:
            ids = [k for t, k in details if t == record_type]
            for i, s in q.stored_health(conn, tenant_id, record_type, ids).items():
                out[(record_type, i)] = (s.value, s.label, s.trend, details[(record_type, i)], s.computed_at)
    return out


def pending_changes(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(models.RollupChange.__table__)).all())


def busy_seed(engine: Engine, tenant_id: str, now: datetime) -> None:
    """Two accounts, several contacts with different rhythms, a lead and an opportunity with their teams."""
    add_users(engine, tenant_id, "alice", "bob", "chuck")
    add_account(engine, tenant_id, "acc-fab", "Fabrikam", "fabrikam.com")
    add_account(engine, tenant_id, "acc-nw", "Northwind", "northwind.com")
    chuck = user("chuck")
    batch = []
    for d in range(0, 280, 3):
        batch.append(mail(ALICE if d % 2 else BOB, [CAROL], now - timedelta(days=d, hours=2)))
        if d % 9 == 0:
            batch.append(mail(CAROL, [ALICE, BOB], now - timedelta(days=d, hours=-1)))
    for d in range(100, 280, 7):
        batch.append(mail(chuck, [DAVE, EVE], now - timedelta(days=d)))
        batch.append(meeting(DAVE, [ALICE], now - timedelta(days=d + 1)))
    for d in range(0, 60, 4):
        batch.append(mail(EVE, [BOB], now - timedelta(days=d)))
    batch.append(meeting(ALICE, [CAROL, DAVE], now + timedelta(days=5)))  # scheduled: counts later
    ingest(engine, tenant_id, batch, now - timedelta(hours=1))
    with engine.begin() as conn:
        conn.execute(models.Lead.__table__.insert().values(
            tenant_id=tenant_id, lead_id="lead-1", owner_id="u-alice", contact_email="carol@fabrikam.com",
            status="open", created_at=now - timedelta(days=30), fields={}))
        conn.execute(models.Opportunity.__table__.insert().values(
            tenant_id=tenant_id, opportunity_id="opp-1", owner_id="u-bob", account_id="acc-nw", status="open",
            created_at=now - timedelta(days=90), fields={}))
        conn.execute(models.CrmMember.__table__.insert(), [
            {"tenant_id": tenant_id, "record_type": "opportunity", "record_id": "opp-1",
             "address": "eve@northwind.com", "role": "stakeholder", "side": "external"},
            {"tenant_id": tenant_id, "record_type": "opportunity", "record_id": "opp-1",
             "address": "chuck@contoso.com", "role": "team", "side": "internal"}])


def test_incremental_refreshes_equal_full_refreshes_exactly_across_days_merges_and_deletions(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    from analytics.store.ingest import remove_sources

    busy_seed(engine, tenant_id, now)
    full_refresh(engine, tenant_id, Settings(), now=now)
    assert pending_changes(engine) == 0
    frank = ext("frank@fabrikam.com")
    day1 = now + timedelta(days=1)
    first = [mail(frank, [ALICE], day1 - timedelta(hours=3)), mail(ALICE, [frank, EVE], day1 - timedelta(hours=2)),
             mail(user("chuck"), [EVE], day1 - timedelta(days=40))]  # a late-synced older mail
    ingest(engine, tenant_id, first, day1)
    # The same mail seen from Bob's mailbox with one more recipient: a merge moves the rollups by the difference.
    seen_again = first[1]
    merged = dataclasses.replace(seen_again, mailbox_id="u-bob", source_id="bob-copy", participants=(
        *seen_again.participants, ParticipantIn("bob@contoso.com", "cc", "internal", "Bob", user_id="u-bob")))
    ingest(engine, tenant_id, [merged], day1)
    assert pending_changes(engine) > 0
    result = incremental_refresh(engine, tenant_id, Settings(), now=day1)
    assert pending_changes(engine) == 0
    assert (result.contacts, result.accounts, result.opportunities) == (2, 2, 1)
    incremental = stored(engine)
    full_refresh(engine, tenant_id, Settings(), now=day1)
    full = stored(engine)
    touched = [k for k, v in incremental.items() if v[4] == day1]
    assert sorted(touched) == sorted([("contact", "frank@fabrikam.com"), ("contact", "eve@northwind.com"),
                                      ("account", "acc-fab"), ("account", "acc-nw"), ("opportunity", "opp-1")])
    for key in touched:
        assert incremental[key] == full[key], key

    # Two days later: one more mail, and a mail removed from the only mailbox that had it.
    day3 = now + timedelta(days=3)
    ingest(engine, tenant_id, [mail(DAVE, [BOB], day3 - timedelta(hours=1))], day3)
    with engine.begin() as conn:
        remove_sources(conn, tenant_id, first[0].mailbox_id, [first[0].source_id])
    incremental_refresh(engine, tenant_id, Settings(), now=day3)
    incremental = stored(engine)
    full_refresh(engine, tenant_id, Settings(), now=day3)
    full = stored(engine)
    touched = [k for k, v in incremental.items() if v[4] == day3]
    assert ("contact", "dave@fabrikam.com") in touched and ("contact", "frank@fabrikam.com") in touched
    for key in touched:
        assert incremental[key] == full[key], key


def test_incremental_refresh_without_stored_aggregates_is_a_full_refresh(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    busy_seed(engine, tenant_id, now)
    result = incremental_refresh(engine, tenant_id, Settings(), now=now)
    assert result == full_refresh(engine, tenant_id, Settings(), now=now)
    assert pending_changes(engine) == 0
    # Nothing changed since: nothing to do.
    assert incremental_refresh(engine, tenant_id, Settings(), now=now).total == 0
    # An earlier "now" than the stored aggregates cover falls back to a full refresh too.
    earlier = incremental_refresh(engine, tenant_id, Settings(), now=now - timedelta(days=30))
    assert earlier.total == result.total


def test_incremental_refreshes_keep_one_history_row_per_record_and_day(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    seed(engine, tenant_id, now)
    full_refresh(engine, tenant_id, Settings(), now=now)  # 09:00
    h = models.ScoreHistory.__table__

    def carol_history() -> list[tuple[datetime, float | None]]:
        with engine.connect() as conn:
            one = q.health_history(conn, tenant_id, "contact", "carol@fabrikam.com")
            many = q.health_histories(conn, tenant_id, [("contact", "carol@fabrikam.com")])
        assert many == {("contact", "carol@fabrikam.com"): one}
        return [(p.computed_at.replace(tzinfo=None), p.value) for p in one]

    def stored_rows() -> int:
        with engine.connect() as conn:
            return len(conn.execute(select(h.c.computed_at).where(h.c.tenant_id == tenant_id)).all())

    # Three sync rounds on the same day, then one the next day: a point for the day, its latest score.
    naive = now.replace(tzinfo=None)
    for at in (now + timedelta(hours=2), now + timedelta(hours=5), now + timedelta(hours=9)):
        ingest(engine, tenant_id, [mail(CAROL, [ALICE], at - timedelta(minutes=30))], at)
        assert incremental_refresh(engine, tenant_id, Settings(), now=at).contacts == 1
        assert [t for t, _ in carol_history()] == [at.replace(tzinfo=None)]
        assert stored_rows() == 0  # the same day as the full refresh: the current scores are the day's points
    at = now + timedelta(days=1)
    ingest(engine, tenant_id, [mail(CAROL, [ALICE], at - timedelta(minutes=30))], at)
    assert incremental_refresh(engine, tenant_id, Settings(), now=at).contacts == 1
    history = carol_history()
    assert [t for t, _ in history] == [naive + timedelta(hours=9), naive + timedelta(days=1)]
    assert history[-1][1] == scores(engine)[("contact", "carol@fabrikam.com")][0]
    with engine.connect() as conn:
        stale = q.health_history(conn, tenant_id, "contact", "eve@northwind.com")
    assert [p.computed_at.replace(tzinfo=None) for p in stale] == [naive]  # untouched: the full refresh's score


def test_a_rescored_record_whose_score_did_not_move_keeps_one_history_point_per_day(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    seed(engine, tenant_id, now)
    full_refresh(engine, tenant_id, Settings(), now=now)
    before = stored(engine)
    later = now + timedelta(hours=3)
    # A meeting scheduled next month changes Carol's aggregate but not her score as of today.
    ingest(engine, tenant_id, [meeting(ALICE, [CAROL], now + timedelta(days=30))], later)
    result = incremental_refresh(engine, tenant_id, Settings(), now=later)
    assert (result.contacts, result.accounts) == (1, 1)
    after = stored(engine)
    rescored = sorted(result.records)
    assert rescored == [("account", "acc-fab"), ("contact", "carol@fabrikam.com"), ("lead", "lead-1")]
    for key in rescored:
        assert after[key][:4] == before[key][:4], key  # the same score and details, computed at the refresh
        assert after[key][4] == later, key
    assert {k: v for k, v in after.items() if k not in rescored} == {
        k: v for k, v in before.items() if k not in rescored}
    with engine.connect() as conn:
        histories = q.health_histories(conn, tenant_id)
        history_rows = len(conn.execute(select(models.ScoreHistory.__table__)).all())
    assert {k: [p.computed_at for p in points] for k, points in histories.items()} == {
        k: [later if k in rescored else now] for k in before}
    assert history_rows == 0  # the same UTC day: the current scores are the day's points
    full_refresh(engine, tenant_id, Settings(), now=later)
    full = stored(engine)
    for key in rescored:
        assert full[key] == after[key], key  # and it is what a full refresh computes
    with engine.connect() as conn:
        assert len(conn.execute(select(models.HealthScoreChange.__table__)).all()) == 0  # folded into score


def test_incremental_refreshes_accumulate_each_records_aggregate_change_until_the_full_refresh(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    busy_seed(engine, tenant_id, now)
    full_refresh(engine, tenant_id, Settings(), now=now)
    c = models.HealthScoreChange.__table__

    def changes() -> dict[tuple[str, str], list[list[int]]]:
        """Each record's stored change since the full refresh: (day ordinal, kind, from us, from them) rows."""
        with engine.connect() as conn:
            rows = conn.execute(select(c.c.record_type, c.c.record_id, c.c.series).where(c.c.series.is_not(None)))
            return {(r.record_type, r.record_id): np.frombuffer(r.series, dtype=np.int32).reshape(-1, 4).tolist()
                    for r in rows}

    carol = ("contact", "carol@fabrikam.com")
    for hours in range(1, 5):  # four rounds touching Carol: her change row adds them up
        at = now + timedelta(hours=hours)
        ingest(engine, tenant_id, [mail(CAROL, [ALICE], at - timedelta(minutes=10))], at)
        incremental_refresh(engine, tenant_id, Settings(), now=at)
        day = (at - timedelta(minutes=10)).date().toordinal()
        assert changes()[carol] == [[day, 0, 0, hours]], hours  # one email row: from them, summed
        assert changes()[("account", "acc-fab")] == [[day, 0, 0, hours]], hours
        incremental = stored(engine)
        full = _full_copy_scores(engine, tenant_id, at)
        for key in [carol, ("account", "acc-fab"), ("lead", "lead-1")]:
            assert incremental[key][:4] == full[key][:4], (hours, key)
    assert ("lead", "lead-1") not in changes()  # scored from its people's rollups: no aggregate
    full_refresh(engine, tenant_id, Settings(), now=now + timedelta(hours=5))
    assert changes() == {}


def _full_copy_scores(engine: Engine, tenant_id: str, at: datetime) -> dict[tuple[str, str], tuple[object, ...]]:
    """What a full refresh at ``at`` would store, computed in a transaction that is rolled back."""
    from analytics.refresh import _full

    with engine.connect() as conn:
        trans = conn.begin()
        try:
            _full(conn, tenant_id, Settings(), at)
            return {key: v[:4] for key, v in _stored_in(conn).items()}
        finally:
            trans.rollback()


def test_scores_of_earlier_days_stay_in_the_history_whichever_refresh_replaces_them(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    seed(engine, tenant_id, now)
    frank = ext("frank@fabrikam.com")
    then = now - timedelta(days=400)
    ingest(engine, tenant_id, [mail(frank, [ALICE], then - timedelta(hours=5)),
                               mail(ALICE, [frank], then - timedelta(hours=4))], then)
    full_refresh(engine, tenant_id, Settings(), now=then)
    full_refresh(engine, tenant_id, Settings(), now=now)  # Frank's mail is past its horizon: his score stays
    next_day = now + timedelta(days=1, hours=2)
    for at in (now + timedelta(hours=2), next_day):  # the full refresh's day, then the next day
        ingest(engine, tenant_id, [mail(frank, [ALICE], at - timedelta(minutes=5)),
                                   mail(CAROL, [ALICE], at - timedelta(minutes=5))], at)
        incremental_refresh(engine, tenant_id, Settings(), now=at)
    with engine.connect() as conn:
        points = q.health_histories(conn, tenant_id, [("contact", "frank@fabrikam.com"),
                                                      ("contact", "carol@fabrikam.com")])
    naive = now.replace(tzinfo=None)
    assert [p.computed_at.replace(tzinfo=None) for p in points[("contact", "frank@fabrikam.com")]] == [
        then.replace(tzinfo=None), naive + timedelta(hours=2), next_day.replace(tzinfo=None)]
    assert [p.computed_at.replace(tzinfo=None) for p in points[("contact", "carol@fabrikam.com")]] == [
        then.replace(tzinfo=None), naive + timedelta(hours=2), next_day.replace(tzinfo=None)]

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from analytics.errors import IngestError
from analytics.store import ingest as ingest_module
from analytics.store import models
from analytics.store.ingest import ingest_activities, remove_sources, remove_unseen_sources
from analytics.store.records import ActivityIn, ParticipantIn

from .factories import ALICE, BOB_TO, CAROL_TO, email

KEY = "test-secret"


def count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table.__table__)).scalar_one())


def ingest(engine: Engine, tenant_id: str, batch: list[ActivityIn], now: datetime, **kw: object):
    with engine.begin() as conn:
        return ingest_activities(conn, tenant_id, batch, now=now, subject_key=KEY, **kw)  # type: ignore[arg-type]


def rollup_totals(engine: Engine) -> tuple[int, int, float, float]:
    r = models.InteractionRollup.__table__.c
    with engine.connect() as conn:
        row = conn.execute(select(func.coalesce(func.sum(r.from_us), 0), func.coalesce(func.sum(r.from_them), 0),
                                  func.coalesce(func.sum(r.minutes_us), 0.0),
                                  func.coalesce(func.sum(r.minutes_them), 0.0))).one()
    return int(row[0]), int(row[1]), float(row[2]), float(row[3])


def test_ingesting_the_same_batch_twice_leaves_one_copy(engine: Engine, tenant_id: str, now: datetime) -> None:
    batch = [email(i, now) for i in range(10)]
    first = ingest(engine, tenant_id, batch, now)
    second = ingest(engine, tenant_id, batch, now)
    assert (first.activities_new, first.participants_added, first.sources_added) == (10, 20, 10)
    assert (second.activities_new, second.participants_added, second.sources_added) == (0, 0, 0)
    assert count(engine, models.Activity) == 10
    assert count(engine, models.ActivityParticipant) == 20
    assert count(engine, models.ActivitySource) == 10
    assert rollup_totals(engine) == (10, 0, 50.0, 25.0)


def test_duplicates_inside_one_batch_collapse(engine: Engine, tenant_id: str, now: datetime) -> None:
    result = ingest(engine, tenant_id, [email(1, now), email(1, now)], now)
    assert result.activities_new == 1
    assert count(engine, models.Activity) == 1
    assert rollup_totals(engine)[0] == 1


def test_same_message_from_two_mailboxes_merges_participants_and_sources(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    # Alice's copy lists Carol; Bob's copy (he was Bcc'd) also lists him.
    sent = email(1, now, mailbox="u-alice", participants=(ALICE, CAROL_TO))
    bcc = ParticipantIn("bob@contoso.com", "bcc", "internal", "Bob", user_id="u-bob")
    received = replace(email(1, now, mailbox="u-bob", participants=(ALICE, CAROL_TO, bcc)), direction="internal")
    ingest(engine, tenant_id, [sent], now)
    result = ingest(engine, tenant_id, [received], now)
    assert (result.activities_new, result.activities_merged, result.participants_added) == (0, 1, 1)
    assert count(engine, models.Activity) == 1
    assert count(engine, models.ActivitySource) == 2
    with engine.connect() as conn:
        addresses = sorted(conn.execute(select(models.ActivityParticipant.__table__.c.address)).scalars())
        mailboxes = sorted(conn.execute(select(models.ActivitySource.__table__.c.mailbox_id)).scalars())
    assert addresses == ["alice@contoso.com", "bob@contoso.com", "carol@fabrikam.com"]
    assert mailboxes == ["u-alice", "u-bob"]
    # Bob is a recipient, not a sender: Alice -> Carol is still the only counted pair.
    assert rollup_totals(engine) == (1, 0, 5.0, 2.5)


def test_failure_mid_batch_leaves_no_partial_rows_and_retry_succeeds(
    engine: Engine, tenant_id: str, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = [email(i, now) for i in range(5)]

    def disk_full(*_: object) -> None:
        raise OSError("disk full")

    # Activities, participants and sources are written; the rollup step, the last one, fails.
    with monkeypatch.context() as m:
        m.setattr(ingest_module, "_apply_rollup_delta", disk_full)
        with pytest.raises(OSError, match="disk full"), engine.begin() as conn:
            ingest_activities(conn, tenant_id, good, now=now, subject_key=KEY)
    for table in (models.Activity, models.ActivityParticipant, models.ActivitySource, models.Contact,
                  models.InteractionRollup):
        assert count(engine, table) == 0, table.__tablename__
    ingest(engine, tenant_id, good, now)
    ingest(engine, tenant_id, good, now)
    assert count(engine, models.Activity) == 5
    assert rollup_totals(engine)[0] == 5


def test_crash_after_ingest_but_before_commit_loses_and_duplicates_nothing(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    batch = [email(i, now) for i in range(3)]

    class Crash(Exception):
        pass

    with pytest.raises(Crash), engine.begin() as conn:
        ingest_activities(conn, tenant_id, batch, now=now, subject_key=KEY)
        raise Crash
    assert count(engine, models.Activity) == 0
    ingest(engine, tenant_id, batch, now)
    assert count(engine, models.Activity) == 3


def test_subject_policy_hash_keep_drop(engine: Engine, tenant_id: str, now: datetime) -> None:
    ingest(engine, tenant_id, [email(1, now)], now, subject_policy="hash")
    ingest(engine, tenant_id, [email(2, now)], now, subject_policy="keep")
    ingest(engine, tenant_id, [email(3, now)], now, subject_policy="drop")
    a = models.Activity.__table__.c
    with engine.connect() as conn:
        rows = {r.internet_message_id: (r.subject, r.subject_hash) for r in
                conn.execute(select(a.internet_message_id, a.subject, a.subject_hash))}
    assert rows["<msg-1@contoso.com>"][0] is None and len(rows["<msg-1@contoso.com>"][1]) == 32
    assert rows["<msg-2@contoso.com>"] == ("Pricing", None)
    assert rows["<msg-3@contoso.com>"] == (None, None)


def test_hash_policy_without_key_is_refused(engine: Engine, tenant_id: str, now: datetime) -> None:
    with pytest.raises(IngestError, match="RAPPORT_SECRET_KEY"), engine.begin() as conn:
        ingest_activities(conn, tenant_id, [email(1, now)], now=now, subject_policy="hash", subject_key="")


def test_removed_sighting_deletes_activity_only_when_seen_nowhere(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    a = email(1, now, mailbox="u-alice")
    b = email(1, now, mailbox="u-bob", participants=(ALICE, CAROL_TO, BOB_TO))
    ingest(engine, tenant_id, [a, b], now)
    with engine.begin() as conn:
        first = remove_sources(conn, tenant_id, "u-alice", [a.source_id])
    assert (first.sources_removed, first.activities_deleted) == (1, 0)
    assert count(engine, models.Activity) == 1
    with engine.begin() as conn:
        second = remove_sources(conn, tenant_id, "u-bob", [b.source_id])
    assert (second.sources_removed, second.activities_deleted) == (1, 1)
    assert count(engine, models.Activity) == 0
    assert count(engine, models.ActivityParticipant) == 0
    assert rollup_totals(engine) == (0, 0, 0.0, 0.0)
    assert count(engine, models.InteractionRollup) == 0  # no row left counting nothing


def test_a_removal_drops_only_the_rollup_rows_it_empties(engine: Engine, tenant_id: str, now: datetime) -> None:
    kept, gone = email(1, now), email(2, now - timedelta(days=3))
    ingest(engine, tenant_id, [kept, gone, email(3, now)], now)
    before = count(engine, models.InteractionRollup)
    with engine.begin() as conn:
        remove_sources(conn, tenant_id, gone.mailbox_id, [gone.source_id])
    r = models.InteractionRollup.__table__.c
    with engine.connect() as conn:
        days = {row.day for row in conn.execute(select(r.day, r.from_us, r.from_them))}
        assert all(row.from_us or row.from_them for row in conn.execute(select(r.from_us, r.from_them)))
    assert (now - timedelta(days=3)).date() not in days and now.date() in days
    assert count(engine, models.InteractionRollup) < before
    with engine.begin() as conn:  # the other mail of that day: its row stays until the day is empty
        remove_sources(conn, tenant_id, kept.mailbox_id, [kept.source_id])
    with engine.connect() as conn:
        assert now.date() in {row.day for row in conn.execute(select(r.day))}


def test_resync_removes_what_vanished(engine: Engine, tenant_id: str, now: datetime) -> None:
    batch = [email(i, now) for i in range(4)]
    ingest(engine, tenant_id, batch, now)
    with engine.begin() as conn:
        result = remove_unseen_sources(conn, tenant_id, "u-alice", "messages", [b.source_id for b in batch[:3]])
    assert result.activities_deleted == 1
    assert count(engine, models.Activity) == 3


def test_moved_meeting_moves_its_rollup(engine: Engine, tenant_id: str, now: datetime) -> None:
    organiser = ParticipantIn("alice@contoso.com", "organizer", "internal", user_id="u-alice")
    guest = ParticipantIn("carol@fabrikam.com", "attendee", "external", response_status="accepted")
    meeting = ActivityIn("u-alice", "events", "evt-1", "meeting", now, "outbound", (organiser, guest),
                         ical_uid="uid-1", end_at=now + timedelta(minutes=30), duration_minutes=30,
                         initiator_side="us")
    ingest(engine, tenant_id, [meeting], now)
    moved = replace(meeting, start_at=now + timedelta(days=3), end_at=now + timedelta(days=3, minutes=45),
                    duration_minutes=45)
    ingest(engine, tenant_id, [moved], now)
    r = models.InteractionRollup.__table__.c
    with engine.connect() as conn:
        rows = conn.execute(select(r.day, r.from_us, r.minutes_us).where(r.from_us != 0)).all()
    assert [(row.day, row.from_us, row.minutes_us) for row in rows] == [((now + timedelta(days=3)).date(), 1, 45.0)]


def test_external_participants_become_contacts_once(engine: Engine, tenant_id: str, now: datetime) -> None:
    ingest(engine, tenant_id, [email(i, now) for i in range(3)], now)
    with engine.connect() as conn:
        contacts = conn.execute(select(models.Contact.__table__.c.email, models.Contact.__table__.c.domain)).all()
    assert [tuple(c) for c in contacts] == [("carol@fabrikam.com", "fabrikam.com")]


def test_naive_datetimes_are_refused(engine: Engine, tenant_id: str, now: datetime) -> None:
    naive = replace(email(1, now), start_at=now.replace(tzinfo=None))
    with pytest.raises(IngestError, match="naive"), engine.begin() as conn:
        ingest_activities(conn, tenant_id, [naive], now=now, subject_key=KEY)


def test_email_contribution_counts_sender_recipient_pairs_only() -> None:
    from analytics.store.rollups import PairParticipant, contribution

    at = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)

    def email(*people: PairParticipant) -> dict[tuple[str, int, bool], tuple[int, int]]:
        out = contribution("email", at, 0.0, is_bulk=False, is_cancelled=False, initiator_side=None,
                           participants=people)
        return {(k[1], k[2], v.from_us > 0): (v.from_us, v.from_them) for k, v in out.items()}

    me, you = PairParticipant("from", "internal", "u1", None), PairParticipant("to", "internal", "u2", None)
    carol, dave = PairParticipant("to", "external", None, 7), PairParticipant("cc", "external", None, 8)
    assert email(me, carol, dave, you) == {("u1", 7, True): (1, 0), ("u1", 8, True): (1, 0)}
    assert email(PairParticipant("from", "external", None, 7), you, me) == {("u2", 7, False): (0, 1)}
    # A second sender-role participant is not a recipient; no internal-external pair, no contribution.
    assert email(me, PairParticipant("organizer", "external", None, 9)) == {}
    assert email(me, you) == {} and email(carol, dave) == {} and email(carol) == {}


def test_a_stored_sighting_moves_to_the_folder_that_reported_it_last(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    s = models.ActivitySource.__table__.c

    def folders() -> dict[str, str | None]:
        with engine.connect() as conn:
            return dict(conn.execute(select(s.source_id, s.folder_id)).tuples().all())

    inbox = [replace(email(i, now), folder_id="inbox") for i in range(3)]
    ingest(engine, tenant_id, inbox, now)
    moved = replace(inbox[0], folder_id="f-archive")
    # In one batch the last sighting decides; an unchanged one and one without a folder leave the row alone.
    result = ingest(engine, tenant_id, [replace(inbox[1], folder_id="f-other"), moved, inbox[1],
                                        replace(inbox[2], folder_id=None)], now)
    assert result.sources_added == 0
    assert folders() == {inbox[0].source_id: "f-archive", inbox[1].source_id: "inbox",
                         inbox[2].source_id: "inbox"}

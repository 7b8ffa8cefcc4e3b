"""``HealthRefresher``: the watching sync's refresher, which keeps its last refresh's aggregates in memory.

Its scores must be exactly what a full refresh computes for the records it touches (as for the one-off
``incremental_refresh``), its memory must equal what the store holds, and it must never serve memory that another
process's refresh or a failed transaction made stale."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from analytics import refresh as refresh_module
from analytics.refresh import HealthRefresher, incremental_refresh
from analytics.settings import Settings
from analytics.store import models
from analytics.store import queries_relationships as q
from analytics.store.ingest import remove_sources
from analytics.store.records import ParticipantIn

from .builders import ext, ingest, mail, meeting, user
from .test_refresh import ALICE, BOB, CAROL, DAVE, EVE, _full_copy_scores, busy_seed, pending_changes, stored


def _no_store_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reading stored aggregates or the contact directory fail: the refresher must answer from memory."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("read from the store although the refresher's memory is current")

    monkeypatch.setattr(q, "health_states", refuse)
    monkeypatch.setattr(q, "account_domains_fast", refuse)


def _seeded_refresher(engine: Engine, tenant_id: str, now: datetime) -> HealthRefresher:
    """The busy tenant, fully refreshed by a refresher that now holds its aggregates."""
    busy_seed(engine, tenant_id, now)
    refresher = HealthRefresher(engine, tenant_id, Settings())
    refresher.full(now=now)
    return refresher


def _memory_matches_store(engine: Engine, tenant_id: str, refresher: HealthRefresher) -> None:
    warm = refresher._warm  # the memory under test
    assert warm is not None
    with engine.connect() as conn:
        for record_type, kept in warm.aggregates.items():
            in_store = q.health_states(conn, tenant_id, record_type, list(kept))
            assert {i: (a.base, a.changed) for i, a in in_store.items()} == {
                i: (a.base, a.changed) for i, a in kept.items()}, record_type


def test_a_refresher_from_memory_equals_full_refreshes_across_days_merges_and_deletions(
    engine: Engine, tenant_id: str, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy_seed(engine, tenant_id, now)
    refresher = HealthRefresher(engine, tenant_id, Settings())
    assert not refresher.warm
    refresher.full(now=now)
    assert refresher.warm
    frank = ext("frank@fabrikam.com")  # not in the directory the full refresh read: looked up once
    day1 = now + timedelta(days=1)
    first = [mail(frank, [ALICE], day1 - timedelta(hours=3)), mail(ALICE, [frank, EVE], day1 - timedelta(hours=2)),
             mail(user("chuck"), [EVE], day1 - timedelta(days=40))]
    ingest(engine, tenant_id, first, day1)
    merged = dataclasses.replace(first[1], mailbox_id="u-bob", source_id="bob-copy", participants=(
        *first[1].participants, ParticipantIn("bob@contoso.com", "cc", "internal", "Bob", user_id="u-bob")))
    ingest(engine, tenant_id, [merged], day1)
    with monkeypatch.context() as m:
        _no_store_reads(m)
        result = refresher.incremental(now=day1)
    assert pending_changes(engine) == 0
    assert (result.contacts, result.accounts, result.opportunities) == (2, 2, 1)
    incremental = stored(engine)
    full = _full_copy_scores(engine, tenant_id, day1)
    assert sorted(result.records) == sorted([("contact", "frank@fabrikam.com"), ("contact", "eve@northwind.com"),
                                             ("account", "acc-fab"), ("account", "acc-nw"), ("opportunity", "opp-1")])
    for key in result.records:
        assert incremental[key][:4] == full[key], key
    _memory_matches_store(engine, tenant_id, refresher)

    # More rounds from memory: new mail for a contact the memory learnt, a removal, a scheduled meeting.
    for hours, batch in ((5, [mail(DAVE, [BOB], day1 + timedelta(hours=4))]),
                         (7, [mail(frank, [ALICE], day1 + timedelta(hours=6)),
                              meeting(ALICE, [CAROL], day1 + timedelta(days=9))])):
        at = day1 + timedelta(hours=hours)
        ingest(engine, tenant_id, batch, at)
        if hours == 5:
            with engine.begin() as conn:
                remove_sources(conn, tenant_id, first[0].mailbox_id, [first[0].source_id])
        with monkeypatch.context() as m:
            _no_store_reads(m)
            result = refresher.incremental(now=at)
        assert result.total > 0
        incremental = stored(engine)
        full = _full_copy_scores(engine, tenant_id, at)
        for key in result.records:
            assert incremental[key][:4] == full[key], (hours, key)
        _memory_matches_store(engine, tenant_id, refresher)


def test_another_processs_refresh_sends_the_refresher_back_to_the_store(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    refresher = _seeded_refresher(engine, tenant_id, now)
    carol = ("contact", "carol@fabrikam.com")
    # Another process (a one-off `rapport analytics refresh`) folds Carol's new mail into the stored aggregates.
    at = now + timedelta(hours=1)
    ingest(engine, tenant_id, [mail(CAROL, [ALICE], at - timedelta(minutes=5)) for _ in range(3)], at)
    incremental_refresh(engine, tenant_id, Settings(), now=at)
    # Memory would not hold that mail: used as is, Carol's next score would miss it.
    later = now + timedelta(hours=2)
    ingest(engine, tenant_id, [mail(ALICE, [CAROL], later - timedelta(minutes=5))], later)
    result = refresher.incremental(now=later)
    assert carol in result.records
    assert stored(engine)[carol][:4] == _full_copy_scores(engine, tenant_id, later)[carol]
    assert not refresher.warm  # it read the store, and keeps doing so (several processes refresh this tenant)
    ingest(engine, tenant_id, [mail(ALICE, [CAROL], later)], later + timedelta(minutes=1))
    refresher.incremental(now=later + timedelta(minutes=1))
    assert not refresher.warm  # until its own full refresh fills its memory again
    refresher.full(now=later)
    assert refresher.warm


def test_a_failed_refresh_commits_nothing_and_forgets_the_memory(
    engine: Engine, tenant_id: str, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresher = _seeded_refresher(engine, tenant_id, now)
    at = now + timedelta(hours=1)
    ingest(engine, tenant_id, [mail(DAVE, [ALICE], at - timedelta(minutes=5))], at)
    pending = pending_changes(engine)
    before = stored(engine)

    def fail(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr(refresh_module.q, "write_health_score_changes", fail)
        with pytest.raises(RuntimeError):
            refresher.incremental(now=at)
    assert not refresher.warm
    assert pending_changes(engine) == pending  # the journal was not consumed
    assert stored(engine) == before
    result = refresher.incremental(now=at)  # from the store this time, then from memory again
    dave = ("contact", "dave@fabrikam.com")
    assert dave in result.records
    assert stored(engine)[dave][:4] == _full_copy_scores(engine, tenant_id, at)[dave]
    with engine.connect() as conn:
        assert conn.execute(select(models.RollupChange.__table__)).first() is None


def test_a_refresher_started_after_the_full_refresh_loads_the_store_once_then_answers_from_memory(
    engine: Engine, tenant_id: str, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy_seed(engine, tenant_id, now)
    HealthRefresher(engine, tenant_id, Settings()).full(now=now)  # a sync process that has since stopped
    at = now + timedelta(hours=1)
    ingest(engine, tenant_id, [mail(CAROL, [ALICE], at - timedelta(minutes=5))], at)
    incremental_refresh(engine, tenant_id, Settings(), now=at)  # and a one-off refresh: a stored change
    restarted = HealthRefresher(engine, tenant_id, Settings())
    later = now + timedelta(hours=2)
    ingest(engine, tenant_id, [mail(DAVE, [ALICE], later - timedelta(minutes=5))], later)
    restarted.incremental(now=later)  # from the store; then it loads the store's aggregates
    assert restarted.warm
    _memory_matches_store(engine, tenant_id, restarted)
    last = now + timedelta(hours=3)
    ingest(engine, tenant_id, [mail(ALICE, [CAROL, DAVE], last - timedelta(minutes=5))], last)
    with monkeypatch.context() as m:
        _no_store_reads(m)
        result = restarted.incremental(now=last)
    full = _full_copy_scores(engine, tenant_id, last)
    assert {("contact", "carol@fabrikam.com"), ("contact", "dave@fabrikam.com")} <= result.records
    for key in result.records:
        assert stored(engine)[key][:4] == full[key], key


def test_a_full_refresh_by_another_process_has_the_refresher_load_the_store_again(
    engine: Engine, tenant_id: str, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analytics.refresh import full_refresh

    refresher = _seeded_refresher(engine, tenant_id, now)
    at = now + timedelta(hours=1)
    ingest(engine, tenant_id, [mail(CAROL, [ALICE], at - timedelta(minutes=5))], at)
    full_refresh(engine, tenant_id, Settings(), now=at)  # e.g. a daily `rapport analytics refresh --full` (cron)
    later = now + timedelta(hours=2)
    ingest(engine, tenant_id, [mail(DAVE, [ALICE], later - timedelta(minutes=5))], later)
    refresher.incremental(now=later)  # from the store (memory was superseded), then loaded again
    assert refresher.warm
    _memory_matches_store(engine, tenant_id, refresher)
    last = now + timedelta(hours=3)
    ingest(engine, tenant_id, [mail(ALICE, [CAROL], last - timedelta(minutes=5))], last)
    with monkeypatch.context() as m:
        _no_store_reads(m)
        result = refresher.incremental(now=last)
    carol = ("contact", "carol@fabrikam.com")
    assert stored(engine)[carol][:4] == _full_copy_scores(engine, tenant_id, last)[carol]
    assert carol in result.records


def test_score_changes_are_written_in_multi_row_statements_and_replace_earlier_ones(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    """More rows than one statement takes (the last statement shorter), written twice: the second replaces."""
    n = q._SCORE_ROWS_PER_STATEMENT * 2 + 37
    for round_, at in enumerate((now, now + timedelta(hours=1))):
        rows = [("contact", f"c{i}@example.com", float(i % 100) + round_, "Good", "Steady", None,
                 bytes([i % 256, round_])) for i in range(n)]
        with engine.begin() as conn:
            assert q.write_health_score_changes(conn, tenant_id, rows, now=at, earlier_days=False) == n
    c = models.HealthScoreChange.__table__.c
    with engine.connect() as conn:
        got = {r.record_id: (r.value, r.series) for r in conn.execute(select(c.record_id, c.value, c.series))}
    assert got == {f"c{i}@example.com": (float(i % 100) + 1, bytes([i % 256, 1])) for i in range(n)}


def test_failing_to_load_memory_after_a_committed_refresh_is_not_an_error(
    engine: Engine, tenant_id: str, now: datetime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    busy_seed(engine, tenant_id, now)
    HealthRefresher(engine, tenant_id, Settings()).full(now=now)
    restarted = HealthRefresher(engine, tenant_id, Settings())
    at = now + timedelta(hours=1)
    ingest(engine, tenant_id, [mail(DAVE, [ALICE], at - timedelta(minutes=5))], at)

    def fail(*_args: object, **_kwargs: object) -> None:
        raise MemoryError("no room")

    with monkeypatch.context() as m:
        m.setattr(q, "all_health_states", fail)
        result = restarted.incremental(now=at)
    assert ("contact", "dave@fabrikam.com") in result.records and pending_changes(engine) == 0
    assert not restarted.warm and "not loaded into memory" in caplog.text
    later = now + timedelta(hours=2)
    ingest(engine, tenant_id, [mail(ALICE, [DAVE], later - timedelta(minutes=5))], later)
    restarted.incremental(now=later)  # from the store again, then loaded
    assert restarted.warm


def test_the_tenants_bands_reach_stored_scores_from_the_stored_options(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    from sqlalchemy import update

    busy_seed(engine, tenant_id, now)
    tenant = models.Tenant.__table__
    refresher = HealthRefresher(engine, tenant_id, Settings())
    refresher.full(now=now)
    carol = ("contact", "carol@fabrikam.com")
    value, label = stored(engine)[carol][:2]
    assert isinstance(value, float) and label == "Good"
    options = {"health": {"bands": {"good": min(100.0, value + 1), "fair": max(0.0, value - 1)}}}
    with engine.begin() as conn:
        conn.execute(update(tenant).where(tenant.c.tenant_id == tenant_id).values(options=options))
        assert q.tenant_options(conn, tenant_id) == options
        assert q.tenant_options(conn, "no-such-tenant") == {}
    at = now + timedelta(minutes=30)
    ingest(engine, tenant_id, [meeting(ALICE, [CAROL], now + timedelta(days=20))], at)  # moves no score today
    refresher.incremental(now=at)
    assert stored(engine)[carol][:2] == (value, "Fair")  # the same score, in the tenant's narrower bands


def test_same_day_rounds_reuse_the_full_refreshs_settled_part_and_equal_full_refreshes(
    engine: Engine, tenant_id: str, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watching sync's rounds on the full refresh's day: records changed only on recent days are rescored from
    the settled part the full refresh computed and their live days alone; a change reaching further back (an
    old mail synced late) or a contact new since rescores from the whole aggregate. Both equal a full refresh."""
    refresher = _seeded_refresher(engine, tenant_id, now)
    frank = ext("frank@fabrikam.com")
    seen: dict[str, int] = {}  # contact → the earliest day it was scored from
    real = refresh_module._settled_counts

    def spy(record_type: str, ids: Sequence[str], *args: Any) -> tuple[Any, Any]:
        counts, settled = real(record_type, ids, *args)
        if record_type == "contact":
            for i, record_id in enumerate(ids):
                days = counts.day[counts.record == i]
                seen[record_id] = int(days.min()) if len(days) else 0
        return counts, settled

    monkeypatch.setattr(refresh_module, "_settled_counts", spy)
    rounds = [
        (now + timedelta(hours=2), [mail(EVE, [BOB], now + timedelta(hours=1)),  # recent only: reused
                                    mail(frank, [ALICE], now + timedelta(hours=1)),  # new since the full refresh
                                    mail(ALICE, [DAVE], now - timedelta(days=150))]),  # reaches back
        (now + timedelta(hours=4), [mail(CAROL, [ALICE], now + timedelta(hours=3)),
                                    meeting(ALICE, [EVE], now + timedelta(days=9))]),  # scheduled: later days
    ]
    for at, batch in rounds:
        ingest(engine, tenant_id, batch, at)
        if at == rounds[1][0]:
            with engine.begin() as conn:  # a removal on a recent day: netted against the live days
                remove_sources(conn, tenant_id, rounds[0][1][0].mailbox_id, [rounds[0][1][0].source_id])
        seen.clear()
        with monkeypatch.context() as m:
            _no_store_reads(m)
            result = refresher.incremental(now=at)
        incremental = stored(engine)
        full = _full_copy_scores(engine, tenant_id, at)
        for key in result.records:
            assert incremental[key][:4] == full[key], (at, key)
        _memory_matches_store(engine, tenant_id, refresher)
        live_from = now.date().toordinal() - 89
        if at == rounds[0][0]:
            assert seen["eve@northwind.com"] >= live_from  # its live days only
            assert seen["dave@fabrikam.com"] < live_from and seen["frank@fabrikam.com"] > 0
        else:
            assert seen["carol@fabrikam.com"] >= live_from and seen["eve@northwind.com"] >= live_from

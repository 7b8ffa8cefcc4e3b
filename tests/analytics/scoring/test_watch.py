"""The scoring watch: new and changed open records are scored in the next round, all open ones daily."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from analytics.scoring import service
from analytics.scoring.records import ScoringRecord, fingerprint
from analytics.scoring.scores import StoredScore
from analytics.scoring.watch import RoundReport, Watcher, due_records
from analytics.store import models
from tests.analytics.scoring.synth import NOW
from tests.analytics.scoring.test_service import FAST, _import

LEAD = models.table_of(models.Lead)


class FakeTime:
    """A clock that only moves when the watcher sleeps (or the test says so)."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.at += timedelta(seconds=seconds)


def _open_ids(engine: Engine, tenant_id: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(r.lead_id for r in conn.execute(select(LEAD.c.lead_id).where(
            LEAD.c.tenant_id == tenant_id, LEAD.c.status == "open")))


def _watcher(engine: Engine, tenant_ids: Sequence[str], clock: FakeTime, providers: Any = list,
             **kw: Any) -> Watcher:
    return Watcher(engine, lambda: list(tenant_ids), providers, clock=clock.now, sleep=clock.sleep,
                   stop=lambda: False, interval=60.0, record_types=("lead",), **kw)


def test_due_records_names_why_each_open_record_needs_a_score() -> None:
    rec = ScoringRecord("a", NOW, None, fields={"source": "web"})
    stored = StoredScore("m1", NOW, fingerprint(rec))
    changed = ScoringRecord("b", NOW, None, fields={"source": "referral"})
    closed = ScoringRecord("c", NOW, 1, closed_at=NOW)
    recs = [rec, changed, closed, ScoringRecord("d", NOW, None)]
    got = due_records(recs, {"a": stored, "b": stored}, {"m1"}, NOW + timedelta(hours=1))
    assert got == {"b": "changed", "d": "new"}
    assert due_records([rec], {"a": stored}, {"m2"}, NOW) == {"a": "model"}
    assert due_records([rec], {"a": stored}, {"m1"}, NOW + timedelta(days=1)) == {"a": "daily"}
    assert due_records([rec], {"a": stored}, {"m1"}, NOW + timedelta(hours=23)) == {}
    # New mail of its people reached the store after it was scored (an incremental health refresh rescored it).
    later = NOW + timedelta(hours=2)
    assert due_records([rec], {"a": stored}, {"m1"}, later, activity={"a": NOW + timedelta(hours=1)}) == {
        "a": "activity"}
    assert due_records([rec], {"a": stored}, {"m1"}, later, activity={"a": NOW}) == {}  # already seen
    assert due_records([rec], {"a": stored}, {"m2"}, later, activity={"a": later}) == {"a": "model"}


def test_watch_scores_new_and_changed_records_in_the_next_round_and_all_daily(
        engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    _import(engine, tenant_id, tmp_path)
    clock = FakeTime(NOW + timedelta(hours=1))
    watcher = _watcher(engine, [tenant_id], clock)
    [first] = watcher.run_round()
    assert first.skipped == "no active lead model" and first.scored == 0
    service.train_and_publish(engine, tenant_id, "lead", NOW, FAST, [])
    open_ids = _open_ids(engine, tenant_id)
    assert len(open_ids) >= 5

    assert watcher.run(max_rounds=2) == 2
    assert clock.sleeps == [60.0]  # one pause between the two rounds, none after the last
    with engine.connect() as conn:
        scored = {r.record_id for r in conn.execute(select(models.table_of(models.Score).c.record_id))}
    assert scored == set(open_ids)

    # A lead changes in the CRM and a new one arrives: the next round scores exactly those two.
    with engine.begin() as conn:
        row = conn.execute(select(LEAD).where(LEAD.c.tenant_id == tenant_id, LEAD.c.lead_id == open_ids[0])).one()
        conn.execute(update(LEAD).where(LEAD.c.tenant_id == tenant_id, LEAD.c.lead_id == open_ids[0])
                     .values(fields={**row.fields, "source": "referral" if row.fields.get("source") != "referral"
                                     else "web"}))
        conn.execute(LEAD.insert().values(tenant_id=tenant_id, lead_id="NEW-1", status="open",
                                          created_at=clock.now(), fields={"source": "referral"}))
    [report] = watcher.run_round()
    assert report.due == {"changed": 1, "new": 1} and report.scored == 2
    [quiet] = watcher.run_round()
    assert quiet.due == {} and quiet.scored == 0

    clock.at += timedelta(days=1)  # a day later every open record is rescored
    [daily] = watcher.run_round()
    assert daily.due == {"daily": len(open_ids) + 1}

    # A newly published model takes over every open record at the next round.
    service.train_and_publish(engine, tenant_id, "lead", clock.now(), FAST, [])
    [retrained] = watcher.run_round()
    assert retrained.due == {"model": len(open_ids) + 1}


def test_new_mail_of_a_leads_contact_has_it_rescored_in_the_next_round(engine: Engine, tenant_id: str,
                                                                      tmp_path: Path) -> None:
    from analytics.refresh import full_refresh, incremental_refresh
    from analytics.settings import Settings
    from tests.analytics.builders import add_users, ext, ingest, mail, user

    _import(engine, tenant_id, tmp_path)
    service.train_and_publish(engine, tenant_id, "lead", NOW, FAST, [])
    clock = FakeTime(NOW + timedelta(hours=1))
    watcher = _watcher(engine, [tenant_id], clock)
    watcher.run_round()
    add_users(engine, tenant_id, "alice")
    full_refresh(engine, tenant_id, Settings(), now=clock.now())  # the watching sync's first refresh of the day
    assert watcher.run_round()[0].due == {}
    lead_id = _open_ids(engine, tenant_id)[1]
    with engine.connect() as conn:
        address = conn.execute(select(LEAD.c.contact_email).where(
            LEAD.c.tenant_id == tenant_id, LEAD.c.lead_id == lead_id)).scalar_one()
    clock.at += timedelta(minutes=5)  # a sync round: the lead's contact writes, the health refresh follows
    ingest(engine, tenant_id, [mail(ext(address), [user("alice")], clock.now() - timedelta(minutes=1))], clock.now())
    assert ("lead", lead_id) in incremental_refresh(engine, tenant_id, Settings(), now=clock.now()).records
    clock.at += timedelta(minutes=1)
    [report] = watcher.run_round()
    assert report.due == {"activity": 1} and report.scored == 1
    assert watcher.run_round()[0].due == {}  # scored after that change: nothing more to do


def test_a_failing_round_is_logged_and_the_next_round_catches_up(engine: Engine, tenant_id: str,
                                                                 tmp_path: Path) -> None:
    _import(engine, tenant_id, tmp_path)
    service.train_and_publish(engine, tenant_id, "lead", NOW, FAST, [])

    class Flaky:
        name = "flaky"
        calls = 0

        def features(self, tenant_id: str, record_type: str, records: Sequence[ScoringRecord],
                     now: datetime) -> dict[str, dict[str, float | None]]:
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise ConnectionError("query API down")
            return {}

    clock = FakeTime(NOW + timedelta(hours=1))
    seen: list[list[RoundReport]] = []
    watcher = _watcher(engine, [tenant_id], clock, providers=lambda: [Flaky()], on_round=seen.append)
    assert watcher.run_round() == [] and watcher.failures == 1
    [caught_up] = watcher.run_round()
    assert caught_up.due == {"new": len(_open_ids(engine, tenant_id))} and caught_up.scored == caught_up.due["new"]
    assert len(seen) == 2


def test_watch_stops_when_told(engine: Engine, tenant_id: str) -> None:
    clock = FakeTime(NOW)
    stops = iter([False, False, True])
    watcher = Watcher(engine, lambda: [tenant_id], list, clock=clock.now, sleep=clock.sleep,
                      stop=lambda: next(stops), interval=30.0, record_types=("lead",))
    assert watcher.run() == 1  # asked before the round (go), before sleeping (go), after sleeping (stop)
    assert clock.sleeps == [30.0]
    stops = iter([False, True])
    assert watcher.run() == 1 and clock.sleeps == [30.0]  # stopped before the pause: no sleep


def test_cli_watch_round_scores_what_is_due(db_url: str, engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tests.analytics.scoring.test_service import _cli

    _import(engine, tenant_id, tmp_path)
    service.train_and_publish(engine, tenant_id, "lead", NOW, FAST, [])
    app, runner = _cli(db_url, tmp_path), CliRunner()
    result = runner.invoke(app, ["scoring", "watch", "--rounds", "1"])
    assert result.exit_code == 0, result.output
    assert f"lead: scored {len(_open_ids(engine, tenant_id))} (" in result.output and " new)" in result.output
    again = runner.invoke(app, ["scoring", "watch", "--rounds", "1"])
    assert again.exit_code == 0 and "scored" not in again.output  # nothing changed: nothing due


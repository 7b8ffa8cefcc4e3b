"""Scale-out: three ``rapport sync`` processes on one PostgreSQL split the mailboxes by leases."""

from __future__ import annotations

import itertools
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from graph_sync import leases
from tests.graph_sync.served import served
from tests.graph_sync.support import assert_exact, emulator, expected, register, synced_users
from tests.graph_sync.test_sync_crash import RAPPORT, _env

LINE = re.compile(r"lease (acquired|released) tenant=\S+ mailbox=(\S+) owner=(\S+) at=([\d.]+)")


@pytest.mark.slow
@pytest.mark.postgres_only
def test_three_workers_end_exact_and_never_share_a_mailbox(engine: Engine, db_url: str, trimmed_tenant: Path) -> None:
    state = emulator(trimmed_tenant)
    with served(state) as base_url:
        register(engine, state, graph=base_url + "/v1.0", authority=base_url)
        env = {**_env(db_url), "RAPPORT_LOG_LEVEL": "INFO", "RAPPORT_SYNC_PAGE_SIZE": "200"}
        procs = [subprocess.Popen([RAPPORT, "sync"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True) for _ in range(3)]
        logs = [p.communicate(timeout=300)[1] for p in procs]
    problems = "\n".join(f"worker {i}:\n" + "\n".join([x for x in log.splitlines() if " INFO " not in x][-30:])
                         for i, log in enumerate(logs))
    assert [p.returncode for p in procs] == [0, 0, 0], problems
    assert_exact(engine, state.tenant_id, expected(trimmed_tenant, synced_users(trimmed_tenant)))

    spans: dict[str, list[tuple[float, float, str]]] = {}
    owners = set()
    for log in logs:
        opened: dict[str, float] = {}
        for kind, mailbox, owner, at in LINE.findall(log):
            owners.add(owner)
            if kind == "acquired":
                opened[mailbox] = float(at)
            else:
                spans.setdefault(mailbox, []).append((opened.pop(mailbox), float(at), owner))
    assert len(spans) == len(synced_users(trimmed_tenant))
    for mailbox, intervals in spans.items():
        intervals.sort()
        for (_, end, a), (start, _, b) in itertools.pairwise(intervals):
            assert start >= end or a == b, f"{mailbox} synced by {a} and {b} at once"
    assert len(owners) >= 2  # the work was actually shared


def test_a_dead_workers_lease_is_taken_over_only_after_it_expires(engine: Engine, tenant_id: str) -> None:
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    leases.ensure_rows(engine, tenant_id, [("m1", "messages:inbox"), ("m1", "events")])
    assert leases.claim(engine, tenant_id, "m1", "dead", t0, 60) == 2
    assert leases.claim(engine, tenant_id, "m1", "alive", t0 + timedelta(seconds=30), 60) == 0
    assert leases.candidates(engine, tenant_id, "alive", t0 + timedelta(seconds=30), pass_started=t0) == []
    later = t0 + timedelta(seconds=61)
    assert leases.candidates(engine, tenant_id, "alive", later, pass_started=t0) == ["m1"]
    assert leases.claim(engine, tenant_id, "m1", "alive", later, 60) == 2
    # The dead worker, were it only slow, can no longer commit a page of that mailbox.
    from graph_sync.errors import LeaseLost
    with pytest.raises(LeaseLost), engine.begin() as conn:
        leases.renew(conn, tenant_id, "m1", "events", "dead", 2, later)


def test_claim_many_takes_the_free_mailboxes_with_their_state_rows(engine: Engine, tenant_id: str) -> None:
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    leases.ensure_rows(engine, tenant_id, [(m, r) for m in ("m1", "m2", "m3") for r in ("messages:inbox", "events")])
    assert leases.claim(engine, tenant_id, "m2", "other", t0, 60) == 2
    with engine.begin() as conn:
        leases.save_progress(conn, tenant_id, "m1", "events", delta_link="https://graph/delta?$deltatoken=1")
    got = leases.claim_many(engine, tenant_id, ["m3", "m1", "m2", "gone"], "me", t0 + timedelta(seconds=5), 60)
    assert sorted(got) == ["m1", "m3"]  # m2 is leased by a live worker, "gone" has no rows
    assert [s.resource for s in got["m1"]] == ["events", "messages:inbox"]
    assert got["m1"][0].delta_link == "https://graph/delta?$deltatoken=1" and got["m3"][0].delta_link is None
    # The leases are ours: another worker gets nothing, and our page commits may renew them.
    assert leases.claim_many(engine, tenant_id, ["m1", "m3"], "other", t0 + timedelta(seconds=6), 60) == {}
    with engine.begin() as conn:
        leases.renew(conn, tenant_id, "m3", "events", "me", 2, t0 + timedelta(seconds=70))
    assert leases.claim_many(engine, tenant_id, [], "me", t0, 60) == {}


def test_claim_for_pass_skips_what_was_synced_in_the_pass_and_names_what_is_busy(engine: Engine,
                                                                                 tenant_id: str) -> None:
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    leases.ensure_rows(engine, tenant_id, [(m, r) for m in ("m1", "m2", "m3") for r in ("messages:inbox", "events")])
    with engine.begin() as conn:  # m1: both resources done after the pass started; m3: one of two
        for m, r in (("m1", "messages:inbox"), ("m1", "events"), ("m3", "events")):
            leases.save_progress(conn, tenant_id, m, r, last_success_at=t0 + timedelta(seconds=1))
    assert leases.claim(engine, tenant_id, "m2", "other", t0, 60) == 2
    got = leases.claim_for_pass(engine, tenant_id, ["m1", "m2", "m3"], "me", t0 + timedelta(seconds=5), 60,
                                pass_started=t0)
    assert sorted(got.claimed) == ["m3"] and got.busy == {"m2"}
    # Without pass_started (claim_many), a synced mailbox is claimed like any other free one.
    assert sorted(leases.claim_many(engine, tenant_id, ["m1"], "me", t0 + timedelta(seconds=5), 60)) == ["m1"]
    # The list made once per pass is the candidates query without a limit, least recently synced first.
    assert leases.candidates(engine, tenant_id, "me", t0 + timedelta(seconds=5), pass_started=t0,
                             limit=None) == ["m3"]

"""Relationship analytics on the large synthetic tenant (≈1M activities), each figure beside its baseline.

1. full refresh (every contact, account, lead and opportunity scored and stored) vs a pandas group-by that
   only computes the same per-contact and per-account day counts from the same rollups — target: no slower;
2. incremental refresh after 1,000 new activities vs the full refresh — target ≤ 1 %; measured for a sync page
   of one mailbox (how the sync delivers activities) and for 1,000 activities spread over the whole tenant
   (the ingest itself, which also journals the rollup changes, is timed separately and not included), each
   twice: as ``rapport sync --watch`` runs it (a ``HealthRefresher`` that did the full refresh and keeps its
   aggregates in memory: the ratio the target is judged on) and as a one-off ``rapport analytics refresh``
   runs it (``incremental_refresh``: everything read from the store). The
   refresh's time includes its commit; on SQLite the WAL frames it left and the time to checkpoint them are
   shown too (SQLite checkpoints in the commit that takes the WAL past 1,000 frames: whichever writer comes
   next pays for frames a smaller commit left), with the ratio that counts that checkpoint, and the ratio of
   the two refreshes' CPU time (less sensitive to other work on the machine than wall time);
3. p50/p99 of a single-contact health query and of a who-knows query; the latter beside a networkx weighted
   shortest-path answer on an in-memory graph of the same edges (graph build time reported separately).

The tenant is generated once and the store built once, both cached under ``benchmarks/out/`` (a store that did
not finish loading is rebuilt). Re-runs are idempotent: the incremental activities have fixed ids, a run first
deletes those of the previous run (before its full refresh), and every refresh is stamped with the tenant's
reference "now". ``--size demo`` runs on the demo tenant instead.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from analytics.query import RelationshipQueries
from analytics.refresh import HealthRefresher, incremental_refresh
from analytics.relationships.config import HealthConfig
from analytics.relationships.health import history_days_needed
from analytics.settings import Settings
from analytics.store import models
from analytics.store.engine import make_engine
from analytics.store.ingest import delete_activities, ingest_activities
from analytics.store.records import ActivityIn, ParticipantIn
from analytics.store.schema import upgrade

# RAPPORT_BENCH_OUT: another cache directory (e.g. a private copy of the large store, so that two benchmark runs
# that write to the store do not share one file).
OUT = Path(os.environ.get("RAPPORT_BENCH_OUT") or Path(__file__).resolve().parent / "out")
NOW = datetime(2026, 11, 1, tzinfo=UTC)  # the generator's reference "now"


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _timed_cpu(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU seconds of ``fn`` (this process's CPU time: on a machine shared with other work it moves
    far less than the wall time, since time spent waiting for a core is not counted)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - started, time.process_time() - cpu, result


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def prepare(size: str, seed: int) -> tuple[Engine, str, dict[str, Any]]:
    """The cached tenant directory and store, built on first use."""
    from graph_sync.emulator.generator.generate import generate_tenant  # bench-only: generator lives above
    from tests.analytics.synthetic import load_tenant

    OUT.mkdir(parents=True, exist_ok=True)
    ignore = OUT / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    from graph_sync.emulator.generator.version import is_current

    tenant_dir = OUT / f"tenant-{size}-{seed}"
    db = OUT / f"analytics-{size}-{seed}.db"
    if not is_current(tenant_dir, seed=seed, size=size):  # missing, incomplete or from an older generator
        if tenant_dir.exists():
            print(f"{tenant_dir} is from another generator version: regenerating it and its store", flush=True)
            shutil.rmtree(tenant_dir)
        db.with_suffix(".loaded").unlink(missing_ok=True)
        print(f"generating the {size} tenant into {tenant_dir} …", flush=True)
        seconds, report = _timed(lambda: generate_tenant(tenant_dir, seed=seed, size=size))  # type: ignore[arg-type]
        print(f"  {report.messages} messages, {report.meetings} meetings in {seconds:.0f} s", flush=True)
    done = db.with_suffix(".loaded")
    if not done.exists():
        for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            p.unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)
        print(f"loading it into {db} (once) …", flush=True)
        seconds, (tenant_id, _truth) = _timed(lambda: load_tenant(engine, tenant_dir, now=NOW))
        done.write_text(json.dumps({"tenant_id": tenant_id, "seconds": round(seconds, 1)}))
        print(f"  loaded in {seconds:.0f} s", flush=True)
    else:
        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)  # a store cached by an older schema (e.g. before the health aggregates)
    tenant_id = json.loads(done.read_text())["tenant_id"]
    truth = json.loads((tenant_dir / "ground_truth.json").read_text(encoding="utf-8"))
    return engine, tenant_id, truth


def pandas_counts(engine: Engine, tenant_id: str) -> int:
    """Baseline: the per-contact and per-account day × kind sums a refresh starts from, in pandas."""
    import pandas as pd

    since = NOW.date() - timedelta(days=history_days_needed(HealthConfig()))
    with engine.connect() as conn:
        rollups = pd.read_sql(text(
            "SELECT contact_id, day, kind, from_us, from_them FROM interaction_rollup "
            "WHERE tenant_id = :t AND day >= :d"), conn, params={"t": tenant_id, "d": since})
        contacts = pd.read_sql(text(
            "SELECT c.contact_id, COALESCE(c.account_id, d.account_id) AS account_id FROM contact c "
            "LEFT JOIN account_domain d ON d.tenant_id = c.tenant_id AND d.domain = c.domain "
            "WHERE c.tenant_id = :t"), conn, params={"t": tenant_id})
    per_contact = rollups.groupby(["contact_id", "day", "kind"], sort=False)[["from_us", "from_them"]].sum()
    joined = per_contact.reset_index().merge(contacts, on="contact_id", how="inner")
    per_account = joined.groupby(["account_id", "day", "kind"], sort=False)[["from_us", "from_them"]].sum()
    return len(per_contact) + len(per_account)


def new_activities(engine: Engine, tenant_id: str, n: int, *, one_mailbox: bool, seed: int,
                   tag: str = "") -> list[ActivityIn]:
    """``n`` new emails at "now" between users and contacts they already know (fixed ids: re-runs merge)."""
    r = models.InteractionRollup.__table__.c
    u = models.InternalUser.__table__.c
    c = models.Contact.__table__.c
    with engine.connect() as conn:
        pairs_q = select(r.user_id, r.contact_id).where(r.tenant_id == tenant_id).group_by(r.user_id, r.contact_id)
        pairs = [(row.user_id, row.contact_id) for row in conn.execute(pairs_q)]
        emails = dict(conn.execute(select(u.user_id, u.email).where(u.tenant_id == tenant_id)).tuples().all())
        contact_emails = dict(conn.execute(select(c.contact_id, c.email).where(c.tenant_id == tenant_id)).tuples().all())
    rng = random.Random(seed)
    if one_mailbox:
        counts: dict[str, int] = {}
        for user_id, _ in pairs:
            counts[user_id] = counts.get(user_id, 0) + 1
        busiest = max(counts, key=lambda k: counts[k])
        pairs = [p for p in pairs if p[0] == busiest]
    out = []
    tag = ("one" if one_mailbox else "spread") + (f"-{tag}" if tag else "")
    for i in range(n):
        user_id, contact_id = rng.choice(pairs)
        me = ParticipantIn(emails[user_id], "from", "internal", user_id=user_id)
        them = ParticipantIn(contact_emails[contact_id], "to", "external")
        inbound = rng.random() < 0.5
        parts = (ParticipantIn(them.address, "from", "external"), ParticipantIn(me.address, "to", "internal",
                                                                                 user_id=user_id)) if inbound \
            else (me, them)
        out.append(ActivityIn(
            mailbox_id=user_id, resource="messages", source_id=f"bench-{tag}-{i}", kind="email",
            start_at=NOW - timedelta(minutes=5 + i), direction="inbound" if inbound else "outbound",
            participants=parts, internet_message_id=f"<bench-{tag}-{i}@bench>", conversation_id=f"bench-{tag}-{i}",
            initiator_side="them" if inbound else "us"))
    return out


def forget_bench_activities(engine: Engine, tenant_id: str) -> int:
    """Delete the activities an earlier run of this benchmark added, so this run's are new again."""
    a = models.table_of(models.Activity).c
    with engine.begin() as conn:
        ids = list(conn.execute(select(a.activity_id).where(
            a.tenant_id == tenant_id, a.dedup_key.like("m:<bench-%@bench>"))).scalars())
        return delete_activities(conn, tenant_id, ids)


def wal_checkpoint(engine: Engine) -> tuple[int, float] | None:
    """SQLite: the frames in the WAL and how long checkpointing those not yet copied into the database takes
    (after a refresh: the work its commit left to the next writer's auto-checkpoint, if it did not cross the
    threshold itself). None on other databases."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        started = time.perf_counter()
        _busy, frames, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        return int(frames), time.perf_counter() - started


def networkx_graph(engine: Engine, tenant_id: str) -> Any:
    """Users and contacts with one edge per pair that ever interacted, weighted 1 / interactions."""
    import networkx as nx

    r = models.InteractionRollup.__table__.c
    graph = nx.Graph()
    with engine.connect() as conn:
        q = (select(r.user_id, r.contact_id, func.sum(r.from_us + r.from_them).label("n"))
             .where(r.tenant_id == tenant_id).group_by(r.user_id, r.contact_id))
        for row in conn.execute(q):
            if row.n > 0:
                graph.add_edge(("u", row.user_id), ("c", row.contact_id), weight=1.0 / row.n)
    return graph


def networkx_who_knows(graph: Any, contact_id: int) -> list[str]:
    """Baseline answer: the five users nearest the contact by weighted shortest path."""
    import networkx as nx

    source = ("c", contact_id)
    if source not in graph:
        return []
    lengths = nx.single_source_dijkstra_path_length(graph, source)
    users = sorted((d, node[1]) for node, d in lengths.items() if node[0] == "u")
    return [u for _, u in users[:5]]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_analytics")
    parser.add_argument("--size", default="large", choices=("small", "demo", "large"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=300, help="queries per latency measurement")
    args = parser.parse_args(argv)

    engine, tenant_id, truth = prepare(args.size, args.seed)
    settings = Settings()
    forget_bench_activities(engine, tenant_id)
    with engine.connect() as conn:
        activities = conn.execute(select(func.count()).select_from(models.Activity.__table__)).scalar_one()
        rollups = conn.execute(select(func.count()).select_from(models.InteractionRollup.__table__)).scalar_one()
    print(f"{args.size} tenant: {activities:,} activities, {rollups:,} rollup rows, "
          f"{len(truth['contacts']):,} contacts, {len(truth['accounts']):,} accounts")

    # 1. Full refresh vs pandas counts (best of two each: the first run also warms the page cache).
    full_times, full_cpu, pandas_times = [], [], []
    result = None
    refresher = HealthRefresher(engine, tenant_id, settings)  # what the watching sync holds per tenant
    for _ in range(2):
        seconds, cpu, result = _timed_cpu(lambda: refresher.full(now=NOW))
        full_times.append(seconds)
        full_cpu.append(cpu)
        seconds, _groups = _timed(lambda: pandas_counts(engine, tenant_id))
        pandas_times.append(seconds)
    full_s, pandas_s, full_cpu_s = min(full_times), min(pandas_times), min(full_cpu)
    assert result is not None
    print(f"full refresh: {full_s:.2f} s for {result.total:,} records ({result.contacts:,} contacts, "
          f"{result.accounts:,} accounts, {result.leads:,} leads, {result.opportunities:,} opportunities)")
    print(f"pandas group-by (counts only): {pandas_s:.2f} s  → refresh / pandas = {full_s / pandas_s:.2f}× "
          f"(target ≤ 1.00×)")

    # 2. Incremental refresh after 1,000 new activities.
    status = 0
    # The refresher's runs first: a one-off refresh in between would (rightly) send it back to the store.
    for warm, one_mailbox in ((True, True), (True, False), (False, True), (False, False)):
        batch = new_activities(engine, tenant_id, 1000, one_mailbox=one_mailbox, seed=args.seed,
                               tag="warm" if warm else "cold")
        started = time.perf_counter()
        with engine.begin() as conn:
            ingest_activities(conn, tenant_id, batch, now=NOW, subject_policy="drop")
        ingest_s = time.perf_counter() - started
        if warm:
            assert refresher.warm
            seconds, cpu, inc = _timed_cpu(lambda: refresher.incremental(now=NOW))
        else:
            seconds, cpu, inc = _timed_cpu(lambda: incremental_refresh(engine, tenant_id, settings, now=NOW))
        checkpoint = wal_checkpoint(engine)
        label = ("one mailbox's sync page" if one_mailbox else "spread over the tenant") + \
            (", watching sync (aggregates in memory)" if warm else ", one-off refresh (from the store)")
        print(f"incremental after 1,000 activities ({label}): {seconds * 1000:.0f} ms for {inc.total:,} records "
              f"({inc.contacts:,} contacts, {inc.accounts:,} accounts, {inc.leads + inc.opportunities:,} leads and "
              f"opportunities) → {100 * seconds / full_s:.2f} % of a full refresh (target ≤ 1 %); "
              f"the ingest took {ingest_s * 1000:.0f} ms")
        print(f"  CPU time: {cpu * 1000:.0f} ms vs {full_cpu_s * 1000:.0f} ms for the full refresh → "
              f"{100 * cpu / full_cpu_s:.2f} %")
        if checkpoint is not None:
            frames, checkpoint_s = checkpoint
            print(f"  it left {frames:,} WAL frames; checkpointing them took {checkpoint_s * 1000:.0f} ms → with "
                  f"that {100 * (seconds + checkpoint_s) / full_s:.2f} % of a full refresh")

    # 3. Query latency.
    queries = RelationshipQueries(engine, settings)
    rng = random.Random(args.seed)
    emails = [c["email"] for c in truth["contacts"]]
    sample = [rng.choice(emails) for _ in range(args.queries)]
    # Computed live (stored=False): this benchmark's refreshes do not rewrite the materialised health views, and
    # serving those is what bench_bot measures (it rebuilds them first).
    health_s = [_timed(lambda e=e: queries.health(tenant_id, e, now=NOW, stored=False))[0]  # type: ignore[misc]
                for e in sample]
    who_s = [_timed(lambda e=e: queries.who_knows(tenant_id, e, now=NOW, stored=False))[0]  # type: ignore[misc]
             for e in sample]
    build_s, graph = _timed(lambda: networkx_graph(engine, tenant_id))
    from analytics.store.ids import contact_key

    nx_s = [_timed(lambda e=e: networkx_who_knows(graph, contact_key(e)))[0] for e in sample]  # type: ignore[misc]
    for name, samples in (("health query (computed live)", health_s), ("who-knows query (computed live)", who_s),
                          ("networkx shortest-path who-knows", nx_s)):
        p50, p99 = _percentiles(samples)
        print(f"{name}: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms ({len(samples)} queries)")
    p50_ours, p99_ours = _percentiles(who_s)
    p50_nx, p99_nx = _percentiles(nx_s)
    print(f"who-knows vs networkx: p50 {p50_ours / p50_nx:.2f}×, p99 {p99_ours / p99_nx:.2f}× "
          f"(networkx also needs {build_s:.1f} s to build its graph of {graph.number_of_nodes():,} nodes, "
          f"{graph.number_of_edges():,} edges, and ranks by path length only)")
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

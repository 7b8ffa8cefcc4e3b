"""Store ingest throughput vs a raw ``executemany`` baseline, on SQLite and PostgreSQL, in one run.

Both sides write the same activities (200,000 by default, ~4 participants each) in batches of 1,000, one
transaction per batch, into fresh databases:

* **rapport** — ``analytics.store.ingest.ingest_activities``: dedup keys, conflict handling, contacts,
  sightings and the daily rollups, through SQLAlchemy;
* **raw** — the DB-API driver's ``executemany`` of pre-built tuples into equivalent tables (activity, sighting,
  participant; same primary keys and secondary indexes), with nothing computed.

Rows counted on both sides: activities + sightings + participants. Target: rapport ≥ 0.5 × raw.

    python -m benchmarks.bench_store [--activities N] [--batch N] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from analytics.store import models
from analytics.store.engine import make_engine
from analytics.store.ids import contact_key, key64
from analytics.store.ingest import ingest_activities
from analytics.store.records import ActivityIn, ParticipantIn
from analytics.store.schema import upgrade

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TENANT = "bench-tenant"
START = datetime(2025, 11, 1, tzinfo=UTC)


def make_activities(n: int, seed: int = 1) -> list[ActivityIn]:
    rng = random.Random(seed)
    users = [(f"user-{i:03d}", f"rep{i:03d}@contoso.com") for i in range(50)]
    contacts = [f"person{i:05d}@customer{i % 700:03d}.com" for i in range(5000)]
    out: list[ActivityIn] = []
    for i in range(n):
        uid, address = users[rng.randrange(len(users))]
        outbound = rng.random() < 0.5
        externals = rng.sample(contacts, rng.choice((2, 3)))
        me_role, them_role = ("from", "to") if outbound else ("to", "from")
        parts = [ParticipantIn(address, me_role, "internal", "Rep", user_id=uid)]
        parts += [ParticipantIn(externals[0], them_role, "external", "Customer")]
        parts += [ParticipantIn(x, "cc", "external", "Customer") for x in externals[1:]]
        if len(parts) < 4:
            cuid, caddr = users[rng.randrange(len(users))]
            if caddr != address:
                parts.append(ParticipantIn(caddr, "cc", "internal", "Colleague", user_id=cuid))
        out.append(ActivityIn(
            mailbox_id=uid, resource="messages", source_id=f"AAMkAGI2{uuid.UUID(int=rng.getrandbits(128)).hex}",
            kind="email", start_at=START + timedelta(minutes=i * 2), direction="outbound" if outbound else "inbound",
            participants=tuple(parts), internet_message_id=f"<{i}.{rng.getrandbits(64):x}@mail.example>",
            conversation_id=f"AAQkAG{i // 3:x}", initiator_side="us" if outbound else "them",
            subject=f"Re: proposal {i // 3}", folder_id="sentitems" if outbound else "inbox",
        ))
    return out


@dataclass
class Result:
    backend: str
    side: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def _fresh_url(backend: str, tmp: Path) -> tuple[str, Callable[[], None]]:
    if backend == "sqlite":
        path = tmp / f"{uuid.uuid4().hex}.db"
        return f"sqlite:///{path}", lambda: None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{PG_URL}?options=-csearch_path%3D{schema}", drop


def run_rapport(backend: str, acts: list[ActivityIn], batch: int, tmp: Path) -> Result:
    url, cleanup = _fresh_url(backend, tmp)
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(models.table_of(models.Tenant).insert().values(
            tenant_id=TENANT, created_at=START, granted_scopes=[], options={}))
    rows = 0
    started = time.perf_counter()
    for i in range(0, len(acts), batch):
        chunk = acts[i : i + batch]
        with engine.begin() as conn:
            r = ingest_activities(conn, TENANT, chunk, now=START, subject_policy="hash", subject_key="bench")
        rows += r.activities_new + r.sources_added + r.participants_added
    seconds = time.perf_counter() - started
    engine.dispose()
    cleanup()
    return Result(backend, "rapport", rows, seconds)


_RAW_DDL = [
    """CREATE TABLE activity (tenant_id VARCHAR(64) NOT NULL, activity_id BIGINT NOT NULL, dedup_key TEXT NOT NULL,
       kind VARCHAR(8) NOT NULL, internet_message_id TEXT, conversation_id VARCHAR(512), start_at TIMESTAMP NOT NULL,
       duration_minutes FLOAT NOT NULL, direction VARCHAR(10) NOT NULL, initiator_side VARCHAR(8),
       subject_hash VARCHAR(64), PRIMARY KEY (tenant_id, activity_id))""",
    "CREATE INDEX ix_a_conv ON activity (tenant_id, conversation_id)",
    "CREATE INDEX ix_a_start ON activity (tenant_id, start_at)",
    """CREATE TABLE activity_source (tenant_id VARCHAR(64) NOT NULL, source_key BIGINT NOT NULL,
       activity_id BIGINT NOT NULL, mailbox_id VARCHAR(64) NOT NULL, resource VARCHAR(32) NOT NULL,
       source_id TEXT NOT NULL, folder_id TEXT, PRIMARY KEY (tenant_id, source_key))""",
    "CREATE INDEX ix_s_act ON activity_source (tenant_id, activity_id)",
    "CREATE INDEX ix_s_mbx ON activity_source (tenant_id, mailbox_id, resource)",
    """CREATE TABLE activity_participant (tenant_id VARCHAR(64) NOT NULL, activity_id BIGINT NOT NULL,
       role VARCHAR(10) NOT NULL, address VARCHAR(320) NOT NULL, display_name TEXT NOT NULL, side VARCHAR(8) NOT NULL,
       user_id VARCHAR(64), contact_id BIGINT, response_status VARCHAR(24),
       PRIMARY KEY (tenant_id, activity_id, role, address))""",
    "CREATE INDEX ix_p_contact ON activity_participant (tenant_id, contact_id)",
    "CREATE INDEX ix_p_user ON activity_participant (tenant_id, user_id)",
]


def _raw_rows(acts: list[ActivityIn]) -> list[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Pre-built tuples per batch: the baseline computes nothing while timed (not even ids)."""
    out = []
    for a in acts:
        aid = key64(a.dedup_key)
        start = a.start_at.replace(tzinfo=None)
        act = (TENANT, aid, a.dedup_key, a.kind, a.internet_message_id, a.conversation_id, start, 0.0,
               a.direction, a.initiator_side, None)
        src = (TENANT, key64(a.mailbox_id, a.source_id), aid, a.mailbox_id, a.resource, a.source_id, a.folder_id)
        parts = [(TENANT, aid, p.role, p.address, p.display_name, p.side, p.user_id,
                  contact_key(p.address) if p.side == "external" else None, None) for p in a.participants]
        out.append(([act], [src], parts))
    return out


def run_raw(backend: str, acts: list[ActivityIn], batch: int, tmp: Path) -> Result:
    prepared = _raw_rows(acts)
    if backend == "sqlite":
        import sqlite3

        conn: Any = sqlite3.connect(tmp / f"raw-{uuid.uuid4().hex}.db")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        ph = "?"
        cleanup: Callable[[], None] = conn.close
    else:
        import psycopg

        schema = f"raw_{uuid.uuid4().hex[:8]}"
        conn = psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True)
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        conn.autocommit = False
        ph = "%s"

        def cleanup() -> None:
            conn.rollback()
            conn.autocommit = True
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            conn.close()

    cur = conn.cursor()
    for ddl in _RAW_DDL:
        cur.execute(ddl)
    conn.commit()
    ins_a = f"INSERT INTO activity VALUES ({', '.join([ph] * 11)})"
    ins_s = f"INSERT INTO activity_source VALUES ({', '.join([ph] * 7)})"
    ins_p = f"INSERT INTO activity_participant VALUES ({', '.join([ph] * 9)})"
    rows = 0
    started = time.perf_counter()
    for i in range(0, len(prepared), batch):
        chunk = prepared[i : i + batch]
        a_rows = [r for c in chunk for r in c[0]]
        s_rows = [r for c in chunk for r in c[1]]
        p_rows = [r for c in chunk for r in c[2]]
        cur.executemany(ins_a, a_rows)
        cur.executemany(ins_s, s_rows)
        cur.executemany(ins_p, p_rows)
        conn.commit()
        rows += len(a_rows) + len(s_rows) + len(p_rows)
    seconds = time.perf_counter() - started
    cleanup()
    return Result(backend, "raw executemany", rows, seconds)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_store", description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    acts = make_activities(args.activities)
    parts = sum(len(a.participants) for a in acts)
    print(f"{len(acts):,} activities, {parts / len(acts):.2f} participants each, batches of {args.batch:,}")
    failed = False
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for backend in args.backends.split(","):
            raw = run_raw(backend, acts, args.batch, tmp)
            ours = run_rapport(backend, acts, args.batch, tmp)
            if ours.rows != raw.rows:
                print(f"  {backend}: row counts differ (rapport {ours.rows}, raw {raw.rows})")
                failed = True
            ratio = ours.rate / raw.rate
            print(f"{backend:>10}: raw executemany {raw.rate:>10,.0f} rows/s ({raw.seconds:6.1f} s) | "
                  f"rapport ingest {ours.rate:>10,.0f} rows/s ({ours.seconds:6.1f} s) | "
                  f"ratio {ratio:.2f} (target >= 0.50) {'OK' if ratio >= 0.5 else 'BELOW TARGET'}")
    return 1 if failed else 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))

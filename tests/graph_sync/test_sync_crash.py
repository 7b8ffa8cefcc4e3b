"""A real ``rapport sync`` process killed with SIGKILL at random points, then restarted, ends exact."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from analytics.store import models
from tests.graph_sync.served import served
from tests.graph_sync.support import assert_exact, emulator, expected, register, synced_users

RAPPORT = str(Path(sys.executable).with_name("rapport"))


def _activities(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(models.table_of(models.Activity))).scalar_one())


def _env(db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(RAPPORT_DATABASE_URL=db_url, RAPPORT_SECRET_KEY="test-key", RAPPORT_SYNC_PAGE_SIZE="40",
               RAPPORT_SYNC_CALENDAR_PAST_DAYS="3650", RAPPORT_SYNC_CALENDAR_FUTURE_DAYS="3650",
               RAPPORT_LOG_LEVEL="WARNING")
    return env


@pytest.mark.slow
@pytest.mark.sqlite_only  # PostgreSQL leases of a killed worker are honoured until they expire (tested elsewhere)
def test_sigkilled_sync_restarted_ends_exact(engine: Engine, db_url: str, trimmed_tenant: Path) -> None:
    state = emulator(trimmed_tenant)
    rng = random.Random(4)
    with served(state) as base_url:
        register(engine, state, graph=base_url + "/v1.0", authority=base_url)
        kills = 0
        for _ in range(3):
            # A random point measured in progress, not seconds (start-up time varies with the machine): kill
            # once this many more activities are committed, or, for 0, as soon as the process is running.
            target = _activities(engine) + rng.choice([0, rng.randint(1, 400), rng.randint(400, 2000)])
            proc = subprocess.Popen([RAPPORT, "sync"], env=_env(db_url), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                if _activities(engine) >= target:
                    proc.kill()
                    kills += 1
                    break
                time.sleep(0.02)
            proc.wait()
        final = subprocess.run([RAPPORT, "sync"], env=_env(db_url), capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-2000:]
    assert kills >= 1
    assert_exact(engine, state.tenant_id, expected(trimmed_tenant, synced_users(trimmed_tenant)))

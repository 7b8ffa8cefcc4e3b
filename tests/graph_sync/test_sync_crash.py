"""A real ``rapport sync`` process killed with SIGKILL at random points, then restarted, ends exact."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.graph_sync.served import served
from tests.graph_sync.support import assert_exact, emulator, expected, register, synced_users

RAPPORT = str(Path(sys.executable).with_name("rapport"))


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
            proc = subprocess.Popen([RAPPORT, "sync"], env=_env(db_url), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                proc.wait(timeout=rng.uniform(2.5, 4.5))  # a random point: startup, directory, or mid-pages
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                kills += 1
        final = subprocess.run([RAPPORT, "sync"], env=_env(db_url), capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-2000:]
    assert kills >= 1
    assert_exact(engine, state.tenant_id, expected(trimmed_tenant, synced_users(trimmed_tenant)))

"""A real ``rapport sync`` process stopped by SIGTERM (systemd, Kubernetes, ``timeout``) or SIGINT (Ctrl-C) mid-pass:
it stops cleanly (its leases given back, no traceback), says so and exits 128 + the signal's number; a later run
ends exact. ``--watch`` still ends quietly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.graph_sync.served import served
from tests.graph_sync.support import assert_exact, emulator, expected, register, synced_users

RAPPORT = str(Path(sys.executable).with_name("rapport"))


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def _env(db_url: str, log_level: str = "WARNING") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(RAPPORT_DATABASE_URL=db_url, RAPPORT_SECRET_KEY="test-key", RAPPORT_SYNC_PAGE_SIZE="40",
               RAPPORT_SYNC_CALENDAR_PAST_DAYS="3650", RAPPORT_SYNC_CALENDAR_FUTURE_DAYS="3650",
               RAPPORT_LOG_LEVEL=log_level)
    return env


def _wait_for(condition: Callable[[], bool], seconds: float, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"condition not met (exit {proc.returncode}): {err[-2000:]}")
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_a_one_shot_sync_cleanly_and_a_later_run_completes_it(
        engine: Engine, db_url: str, trimmed_tenant: Path, sig: signal.Signals) -> None:
    # Latency keeps the pass running (three mailboxes, 40 items a page) for seconds after its first commit.
    state = emulator(trimmed_tenant, latency_s=0.02)
    with served(state) as base_url:
        register(engine, state, graph=base_url + "/v1.0", authority=base_url)
        proc = subprocess.Popen([RAPPORT, "sync"], env=_env(db_url), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        # Mid-pass: pages committed, mailboxes leased and running.
        _wait_for(lambda: _count(engine, "SELECT COUNT(*) FROM activity") > 0, 120, proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + sig, (proc.returncode, err[-2000:])
        assert f"Sync stopped by {sig.name}" in err, err[-2000:]
        assert "Traceback" not in err, err[-2000:]
        assert "Synced " not in out  # no report of a pass that did not finish
        # Every lease was given back (on PostgreSQL a lease left behind would keep its mailbox from the next run
        # until it expired) ...
        assert _count(engine, "SELECT COUNT(*) FROM sync_state WHERE lease_owner IS NOT NULL") == 0
        # ... and the pass was really cut short, so the next run has something to complete.
        assert _count(engine, "SELECT COUNT(*) FROM sync_state WHERE last_success_at IS NULL") > 0
        final = subprocess.run([RAPPORT, "sync"], env=_env(db_url), capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-2000:]
    assert_exact(engine, state.tenant_id, expected(trimmed_tenant, synced_users(trimmed_tenant)))


@pytest.mark.slow
def test_sigterm_still_ends_a_watching_sync_quietly_after_its_pass(
        engine: Engine, db_url: str, trimmed_tenant: Path, tmp_path: Path) -> None:
    state = emulator(trimmed_tenant)
    log = tmp_path / "stderr.log"
    with served(state) as base_url, log.open("w") as stderr:
        register(engine, state, graph=base_url + "/v1.0", authority=base_url)
        proc = subprocess.Popen([RAPPORT, "sync", "--watch", "--interval", "3600"], env=_env(db_url, "INFO"),
                                stdout=subprocess.PIPE, stderr=stderr, text=True)
        _wait_for(lambda: "pass done" in log.read_text(), 120, proc)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    err = log.read_text()
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err and "Sync stopped" not in err, err[-2000:]
    assert_exact(engine, state.tenant_id, expected(trimmed_tenant, synced_users(trimmed_tenant)))

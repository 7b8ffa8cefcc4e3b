"""Operating ``rapport scoring watch``: a database that refuses connections for a while does not end the watch,
and a failure that lasts is logged once (with its recovery), not every round."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from analytics.scoring import service
from analytics.scoring.watch import Watcher
from tests.analytics.scoring.synth import NOW
from tests.analytics.scoring.test_service import FAST, _import
from tests.analytics.scoring.test_watch import FakeTime, _open_ids


class Outage:
    """The tenant list of a store that refuses connections for the first ``rounds`` calls."""

    def __init__(self, tenant_id: str, rounds: int) -> None:
        self.tenant_id = tenant_id
        self.left = rounds

    def __call__(self) -> list[str]:
        if self.left > 0:
            self.left -= 1
            raise ConnectionRefusedError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")
        return [self.tenant_id]


def test_the_watch_outlives_a_database_outage_and_scores_once_it_is_back(
        engine: Engine, tenant_id: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _import(engine, tenant_id, tmp_path)
    service.train_and_publish(engine, tenant_id, "lead", NOW, FAST, [])
    clock = FakeTime(NOW + timedelta(hours=1))
    watcher = Watcher(engine, Outage(tenant_id, rounds=3), list, clock=clock.now, sleep=clock.sleep,
                      stop=lambda: False, interval=60.0, record_types=("lead",))
    with caplog.at_level(logging.DEBUG, logger="analytics.scoring.watch"):
        assert watcher.run(max_rounds=4) == 4  # the outage did not end the loop
    assert clock.sleeps == [60.0, 60.0, 60.0]
    failed = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(failed) == 1 and "could not start" in failed[0].getMessage() and failed[0].exc_info
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
        "scoring recovered: rounds start again"]
    assert watcher.failures == 3
    # The round after the outage scored every open lead (nothing skipped for the rounds that could not run).
    [caught_up] = watcher.run_round()
    assert caught_up.due == {}  # all scored by round 4 already
    assert len(_open_ids(engine, tenant_id)) >= 5


def test_a_tenant_that_keeps_failing_is_logged_once_until_it_recovers(
        engine: Engine, tenant_id: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _import(engine, tenant_id, tmp_path)
    service.train_and_publish(engine, tenant_id, "lead", NOW, FAST, [])
    calls = {"n": 0}

    class Broken:
        name = "broken"

        def features(self, *args: object) -> dict[str, dict[str, float | None]]:
            calls["n"] += 1
            if calls["n"] <= 3:
                raise TimeoutError("feature query timed out")
            return {}

    clock = FakeTime(NOW + timedelta(hours=1))
    watcher = Watcher(engine, lambda: [tenant_id], lambda: [Broken()], clock=clock.now, sleep=clock.sleep,
                      stop=lambda: False, interval=60.0, record_types=("lead",))
    with caplog.at_level(logging.INFO, logger="analytics.scoring.watch"):
        for _ in range(4):
            watcher.run_round()
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and f"tenant {tenant_id}, lead records" in errors[0].getMessage()
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
        f"scoring recovered: {tenant_id}/lead"]
    assert watcher.failures == 3

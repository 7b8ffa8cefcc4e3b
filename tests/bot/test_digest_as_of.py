"""``rapport digest send --dry-run --as-of T``: the digests as a run at T would build them (a demo's clock, a
past week), read from the weekly ledger as of T, with nothing recorded. A real send is always as of now.

Found on the demo (clock 2026-11-01): the dry run used today's date and everything looked stale.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.storage import StoreConversations
from tests.bot.test_digest_preview import digest_rows, run_digest
from tests.bot.test_digest_scheduler import MONDAY_8, Clock, Connector, _scheduler, reachable  # noqa: F401


def test_a_dry_run_builds_the_cards_as_of_the_given_time(db_url: str, engine: Engine, tenant_id: str,
                                                         reachable: StoreConversations,  # noqa: F811
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_digest(monkeypatch, db_url, "--dry-run", "--as-of", "2026-11-01")  # a date: midnight UTC
    assert result.exit_code == 0, result.output
    assert "    Your team of 1, as of 2026-11-01." in result.output.splitlines()
    timed = run_digest(monkeypatch, db_url, "--dry-run", "--as-of", "2026-10-26T23:30:00+00:00")
    assert "    Your team of 1, as of 2026-10-26." in timed.output.splitlines()


def test_a_dry_run_reads_the_weekly_ledger_as_of_the_given_time_and_records_nothing(
        db_url: str, engine: Engine, tenant_id: str, reachable: StoreConversations,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    asyncio.run(_scheduler(engine, reachable, Clock(MONDAY_8 + timedelta(minutes=1)), Connector()).tick())
    assert digest_rows(engine) == 1  # the scheduler sent the week of 2026-11-30
    wall = MONDAY_8 + timedelta(days=2)
    this_week = run_digest(monkeypatch, db_url, "--dry-run", wall=wall)
    assert "already sent this week (week of 2026-11-30): skipped" in this_week.output
    last_week = run_digest(monkeypatch, db_url, "--dry-run", "--as-of", "2026-11-25T12:00:00", wall=wall)
    assert last_week.exit_code == 0, last_week.output
    assert "skipped" not in last_week.output and "1 digest would be sent" in last_week.output
    assert digest_rows(engine) == 1  # a dry run claims nothing, for any week


def test_a_real_send_refuses_as_of_and_sends_nothing(db_url: str, engine: Engine, tenant_id: str,
                                                    reachable: StoreConversations,  # noqa: F811
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_digest(monkeypatch, db_url, "--as-of", "2026-11-01")
    assert result.exit_code == 2
    assert "only with --dry-run" in result.output
    assert digest_rows(engine) == 0


def test_an_as_of_that_is_not_a_date_is_refused_as_rapport_health_refuses_it(
        db_url: str, engine: Engine, tenant_id: str, reachable: StoreConversations,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_digest(monkeypatch, db_url, "--dry-run", "--as-of", "last monday")
    assert result.exit_code == 2 and "'last monday' is not an ISO date-time" in result.output

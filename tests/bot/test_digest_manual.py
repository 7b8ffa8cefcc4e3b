"""``rapport digest send`` shares the scheduler's once-per-week ledger (injected clock; no sleeping)."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from analytics.store import models
from bot.digest.manual import Pending, Result, review, send_reviewed, week_of
from bot.digest.queue import SendQueue
from bot.digest.scheduler import MAX_TRIES, DigestLedger, Slot
from bot.digest.send import plan_digests
from bot.storage import StoreConversations, StoreDirectory
from tests.bot.conftest import MANAGER
from tests.bot.fakes import FakeRelationships
from tests.bot.test_digest import FakePredictions
from tests.bot.test_digest_scheduler import MONDAY_8, Clock, Connector, Crash, _scheduler, reachable  # noqa: F401

SLOT = Slot(0, time(8, 0), "UTC")


def _manual(engine: Engine, conversations: StoreConversations, clock: Clock, connector: Connector,
            *, force: bool = False) -> tuple[list[Pending], list[Result]]:
    """What ``rapport digest send`` does, with the test's clock and connector."""
    directory, ledger = StoreDirectory(engine), DigestLedger(engine)
    plan = plan_digests([t for t in {r.tenant_id for r in conversations.all_personal()}], directory=directory,
                        conversations=conversations, relationships=FakeRelationships(),
                        predictions=FakePredictions(), charts=None, now=clock())
    pending = review(plan, slot=SLOT, ledger=ledger, directory=directory, now=clock())
    queue = SendQueue(send=connector.send, clock=lambda: clock.now.timestamp(), sleep=clock.sleep,
                      random=lambda: 0.0, wall_clock=lambda: clock.now.timestamp())
    return pending, asyncio.run(send_reviewed(pending, ledger=ledger, queue=queue, clock=clock, force=force))


def test_a_manual_run_skips_a_week_the_scheduler_served_unless_forced(
        engine: Engine, tenant_id: str, reachable: StoreConversations) -> None:  # noqa: F811
    clock, connector = Clock(MONDAY_8 + timedelta(seconds=30)), Connector()
    asyncio.run(_scheduler(engine, reachable, clock, connector).tick())
    assert len(connector.sent) == 1
    clock.now = MONDAY_8 + timedelta(days=3)  # Thursday: still the week of the Monday slot
    pending, [result] = _manual(engine, reachable, clock, connector)
    assert pending[0].week == "2026-11-30" and pending[0].refused == "already sent this week"
    assert result.outcome is None and result.reason == "already sent this week"
    assert len(connector.sent) == 1
    _, [forced] = _manual(engine, reachable, clock, connector, force=True)
    assert forced.forced and forced.outcome is not None and forced.outcome.delivered and len(connector.sent) == 2
    ledger = DigestLedger(engine)
    assert ledger.status(tenant_id, MANAGER, "2026-11-30") == "sent" and ledger.tries(tenant_id, MANAGER,
                                                                                      "2026-11-30") == 1
    clock.now = MONDAY_8 + timedelta(days=7, hours=1)  # the next week is a new claim
    _, [next_week] = _manual(engine, reachable, clock, connector)
    assert next_week.outcome is not None and next_week.pending.week == "2026-12-07" and len(connector.sent) == 3


def test_the_scheduler_does_not_repeat_a_manual_send_and_a_second_manual_run_sends_nothing(
        engine: Engine, tenant_id: str, reachable: StoreConversations) -> None:  # noqa: F811
    clock, connector = Clock(MONDAY_8 + timedelta(hours=1)), Connector()  # the scheduler was down at 08:00
    _, [result] = _manual(engine, reachable, clock, connector)
    assert result.outcome is not None and result.outcome.delivered and not result.forced
    assert DigestLedger(engine).status(tenant_id, MANAGER, "2026-11-30") == "sent"
    clock.now += timedelta(hours=1)
    asyncio.run(_scheduler(engine, reachable, clock, connector).tick())  # back up within the catch-up window
    _, [again] = _manual(engine, reachable, clock, connector)
    assert again.outcome is None and len(connector.sent) == 1


def test_manual_failures_use_the_weeks_tries_and_an_interrupted_send_is_not_repeated(
        engine: Engine, tenant_id: str, reachable: StoreConversations) -> None:  # noqa: F811
    clock, connector = Clock(MONDAY_8 + timedelta(hours=1)), Connector()
    connector.fail_with = 403
    for _ in range(MAX_TRIES):
        _, [failed] = _manual(engine, reachable, clock, connector)
        assert failed.outcome is not None and not failed.outcome.delivered
    pending, [out_of_tries] = _manual(engine, reachable, clock, connector)
    assert out_of_tries.outcome is None and out_of_tries.reason == f"failed {MAX_TRIES} times this week"
    assert pending[0].refused == out_of_tries.reason

    clock.now = MONDAY_8 + timedelta(days=7, hours=1)  # next week: the process dies while sending
    connector.fail_with, connector.crash = None, True
    with pytest.raises(Crash):
        _manual(engine, reachable, clock, connector)
    connector.crash = False
    _, [interrupted] = _manual(engine, reachable, clock, connector)
    assert interrupted.outcome is None and "interrupted" in (interrupted.reason or "") and connector.sent == []


def test_the_week_follows_the_managers_zone() -> None:
    from bot.conversation.model import Principal

    shanghai = Principal("t", MANAGER, "Mia", "mia@contoso.com", "manager", frozenset({MANAGER}), "Asia/Shanghai")
    # 23:30 UTC on Sunday is 07:30 Monday in Shanghai: before the slot, still the previous week there.
    assert week_of(SLOT, shanghai, datetime.fromisoformat("2026-11-29T23:30:00+00:00")) == "2026-11-23"
    assert week_of(SLOT, shanghai, datetime.fromisoformat("2026-11-30T00:30:00+00:00")) == "2026-11-30"
    assert week_of(SLOT, None, datetime.fromisoformat("2026-11-30T00:30:00+00:00")) == "2026-11-23"


def test_digest_send_names_managers_already_served_this_week(
        db_url: str, engine: Engine, tenant_id: str, users: dict[str, str],
        reachable: StoreConversations, monkeypatch: Any) -> None:  # noqa: F811
    from typer.testing import CliRunner

    import bot.digest.cli
    from bot.cli import build_app

    clock, connector = Clock(MONDAY_8 + timedelta(minutes=1)), Connector()
    asyncio.run(_scheduler(engine, reachable, clock, connector).tick())
    monkeypatch.setenv("RAPPORT_DATABASE_URL", db_url)
    for name, value in (("DIGEST_WEEKDAY", "monday"), ("DIGEST_TIME", "08:00"), ("DEFAULT_TIMEZONE", "UTC"),
                        ("BOT_APP_ID", "00000000-0000-0000-0000-00000000a991"), ("BOT_APP_PASSWORD", "unused"),
                        ("BOT_APP_TENANT_ID", tenant_id)):
        monkeypatch.setenv(f"RAPPORT_{name}", value)
    monkeypatch.setattr(bot.digest.cli, "now", lambda: MONDAY_8 + timedelta(days=2))
    dry = CliRunner().invoke(build_app(), ["digest", "send", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Mia <mia@contoso.com>: 0 declining, 0 hot leads, 0 stuck deals — already sent this week (week of 2026-11-30): " \
           "skipped" in dry.output
    assert "dry run, nothing sent: 0 digests would be sent, 1 skipped (--force sends it)" in dry.output
    forced = CliRunner().invoke(build_app(), ["digest", "send", "--dry-run", "--force"])
    assert "sending anyway (--force)" in forced.output and "dry run, nothing sent: 1 digest would be sent" in forced.output
    real = CliRunner().invoke(build_app(), ["digest", "send"])
    assert real.exit_code == 0, real.output
    assert "skipped: " in real.output and "no digest sent, 1 skipped" in real.output
    with engine.connect() as conn:
        rows = conn.execute(models.table_of(models.AuditEvent).select().where(
            models.table_of(models.AuditEvent).c.action == "digest.send")).all()
    assert len(rows) == 1 and len(connector.sent) == 1


def test_digest_send_before_anyone_installed_the_bot_names_the_unreachable_managers(
        db_url: str, engine: Engine, tenant_id: str, users: dict[str, str], monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from bot.cli import build_app

    monkeypatch.setenv("RAPPORT_DATABASE_URL", db_url)
    dry = CliRunner().invoke(build_app(), ["digest", "send", "--dry-run"])  # every active tenant by default
    assert dry.exit_code == 0, dry.output
    assert f"{tenant_id} Mia <mia@contoso.com>: not reachable (the bot is not installed for them)" in dry.output
    assert "dry run, nothing sent: 0 digests would be sent, 1 manager not reachable" in dry.output

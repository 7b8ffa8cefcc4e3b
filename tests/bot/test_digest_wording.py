"""What ``rapport digest send`` says: managers by name and address, counts in proper English.

Found by a sales manager and an admin on the demo: unreachable managers were Entra object ids, and a run said
"1 digest(s)".
"""

from __future__ import annotations

from datetime import datetime

import pytest
import typer
from sqlalchemy.engine import Engine

from analytics.store import models
from bot.conversation.model import ConversationRecord, Reply
from bot.digest.cli import headline, report
from bot.digest.content import DigestItem, DigestView
from bot.digest.manual import Pending, Result
from bot.digest.queue import Outcome
from tests.bot.conftest import MANAGER
from tests.bot.test_digest_preview import WALL, install, run_digest

DIRECTOR = "00000000-0000-0000-0000-0000000000d1"


def test_managers_the_bot_cannot_reach_are_named_by_name_and_address(
        db_url: str, engine: Engine, tenant_id: str, users: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_digest(monkeypatch, db_url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"{tenant_id} Mia <mia@contoso.com>: not reachable (the bot is not installed for them)" in result.output
    assert MANAGER not in result.output  # an object id tells the admin nothing
    assert "dry run, nothing sent: 0 digests would be sent, 1 manager not reachable" in result.output


def test_counts_are_singular_or_plural(db_url: str, engine: Engine, tenant_id: str, users: dict[str, str],
                                       now: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    install(engine, tenant_id, MANAGER, now)
    one = run_digest(monkeypatch, db_url, "--dry-run")
    assert "dry run, nothing sent: 1 digest would be sent" in one.output and "(s)" not in one.output
    with engine.begin() as conn:  # a director above Mia, who has the bot too
        conn.execute(models.table_of(models.InternalUser).insert().values(
            tenant_id=tenant_id, user_id=DIRECTOR, email="dan@contoso.com", display_name="Dan", manager_id=None))
        conn.execute(models.table_of(models.InternalUser).update()
                     .where(models.table_of(models.InternalUser).c.user_id == MANAGER).values(manager_id=DIRECTOR))
    install(engine, tenant_id, DIRECTOR, now, conversation="a:dan")
    two = run_digest(monkeypatch, db_url, "--dry-run")
    assert two.exit_code == 0, two.output
    assert "dry run, nothing sent: 2 digests would be sent" in two.output and "(s)" not in two.output


def _pending(hot: int, stuck: int) -> Pending:
    lead = DigestItem("lead", "L-1", "Jane (Fabrikam)", 90.0, "A")
    deal = DigestItem("opportunity", "O-1", "Big deal", 30.0, "slow")
    view = DigestView(MANAGER, "Mia", 1, (), (lead,) * hot, (deal,) * stuck, WALL, "mia@contoso.com")
    record = ConversationRecord("t1", "a:mia", "https://smba.example", user_aad_id=MANAGER)
    return Pending(record, Reply(text="card"), view, "2026-11-30", None, 0)


def test_a_digest_line_counts_hot_leads_and_stuck_deals_in_proper_english() -> None:
    assert headline(_pending(1, 1), force=False) == \
        "t1 Mia <mia@contoso.com>: 0 declining, 1 hot lead, 1 stuck deal"
    assert headline(_pending(2, 0), force=False).endswith(": 0 declining, 2 hot leads, 0 stuck deals")


def test_the_send_summary_counts_in_proper_english(capsys: pytest.CaptureFixture[str]) -> None:
    delivered = Result(_pending(0, 0), Outcome("a:mia", True, 1))
    report([delivered])
    assert capsys.readouterr().out.splitlines() == ["sent 1 of 1 digest"]
    report([delivered, delivered])
    assert capsys.readouterr().out.splitlines() == ["sent 2 of 2 digests"]
    failed = Result(_pending(0, 0), Outcome("a:mia", False, 5, 403))
    with pytest.raises(typer.Exit) as stopped:  # a digest could not be delivered
        report([failed])
    assert stopped.value.exit_code == 1
    out = capsys.readouterr().out
    assert "sent 0 of 1 digest\n" in out
    assert "failed: t1 Mia (conversation a:mia) after 5 attempts (last status 403)" in out

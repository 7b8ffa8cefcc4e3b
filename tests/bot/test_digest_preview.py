"""``rapport digest send --dry-run`` shows the digests themselves, and ``--out`` writes their Adaptive Card JSON.

Found by an admin checking the digests before enabling them: the dry run only said who would get one.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from analytics.store import models
from bot.conversation.model import ConversationRecord
from bot.storage import StoreConversations
from tests.bot.conftest import MANAGER
from tests.bot.test_cards_schema import VALIDATOR

WALL = datetime.fromisoformat("2026-12-02T10:00:00+00:00")  # a Wednesday: the week of Monday 2026-11-30


def run_digest(monkeypatch: pytest.MonkeyPatch, db_url: str, *args: str, wall: datetime = WALL) -> Result:
    """``rapport digest send ARGS`` on the test store, the wall clock at ``wall``."""
    import bot.digest.cli
    from bot.cli import build_app

    monkeypatch.setenv("RAPPORT_DATABASE_URL", db_url)
    monkeypatch.setattr(bot.digest.cli, "now", lambda: wall)
    return CliRunner().invoke(build_app(), ["digest", "send", *args])


def install(engine: Engine, tenant_id: str, user_id: str, now: datetime, conversation: str = "a:mia") -> None:
    """The manager added the bot in Teams: their personal conversation is stored."""
    StoreConversations(engine).save(ConversationRecord(tenant_id, conversation, "https://smba.example",
                                                       user_aad_id=user_id, locale="en-US"), at=now)


def digest_rows(engine: Engine) -> int:
    table = models.table_of(models.AuditEvent)
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(table.c.action == "digest.send"))
                   .scalar_one())


def test_a_dry_run_prints_each_card_as_text(db_url: str, engine: Engine, tenant_id: str, users: dict[str, str],
                                            now: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    install(engine, tenant_id, MANAGER, now)
    result = run_digest(monkeypatch, db_url, "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    title = lines.index("    Weekly digest for Mia")  # the card, indented under its manager's line
    assert lines[title - 1].startswith(f"{tenant_id} Mia <mia@contoso.com>: 0 declining")
    assert lines[title + 1].startswith("    ════")
    assert "    Your team of 1, as of 2026-12-02." in lines
    for section in ("Declining relationships", "Hot leads", "Stuck deals"):
        assert f"    {section}" in lines
    assert digest_rows(engine) == 0


def test_out_writes_each_managers_card_for_the_designer(db_url: str, engine: Engine, tenant_id: str,
                                                        users: dict[str, str], now: datetime, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    install(engine, tenant_id, MANAGER, now)
    out = tmp_path / "cards"
    result = run_digest(monkeypatch, db_url, "--dry-run", "--out", str(out))
    assert result.exit_code == 0, result.output
    [written] = list(out.rglob("*.json"))
    # A folder per tenant: two tenants (two demos) can have managers with the same address.
    assert written == out / tenant_id / "mia@contoso.com.json"
    card: dict[str, Any] = json.loads(written.read_text(encoding="utf-8"))
    assert card["type"] == "AdaptiveCard" and card["fallbackText"] == "Weekly digest for Mia"
    assert not list(VALIDATOR.iter_errors(card))
    assert f"wrote 1 card to {out}" in result.output and digest_rows(engine) == 0


def test_an_out_folder_that_cannot_be_written_stops_the_send_before_anything_goes_out(
        db_url: str, engine: Engine, tenant_id: str, users: dict[str, str], now: datetime, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    install(engine, tenant_id, MANAGER, now)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = run_digest(monkeypatch, db_url, "--out", str(blocker / "cards"))  # a real send
    assert result.exit_code == 1
    assert "cannot write the cards under" in result.output and "nothing was sent" in result.output
    assert digest_rows(engine) == 0  # nothing claimed in the weekly ledger either

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import build_app

from .builders import add_account, add_users, ext, ingest, mail, user


@pytest.fixture
def env(engine: Engine, db_url: str, tenant_id: str, now: datetime) -> dict[str, str]:
    add_users(engine, tenant_id, "alice")
    add_account(engine, tenant_id, "acc-fab", "Fabrikam", "fabrikam.com")
    carol = ext("carol@fabrikam.com")
    batch = [mail(user("alice"), [carol], now - timedelta(days=d)) for d in range(0, 60, 5)]
    batch += [mail(carol, [user("alice")], now - timedelta(days=d, hours=-1)) for d in range(0, 60, 5)]
    ingest(engine, tenant_id, batch, now)
    return {"RAPPORT_DATABASE_URL": db_url}


def test_health_json_and_chart(env: dict[str, str], now: datetime, tmp_path: Path) -> None:
    result = CliRunner().invoke(build_app(), ["health", "Fabrikam", "--json", "--as-of", now.isoformat(),
                                              "--chart", str(tmp_path / "fab.png")], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["target"]["key"] == "acc-fab" and data["state"] == "Good"
    assert data["kpis"]["us"]["emails_sent"] == 12
    assert (tmp_path / "fab-health.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "fab-activity.png").read_bytes().startswith(b"\x89PNG")


def test_who_knows_table_and_refresh(env: dict[str, str], now: datetime) -> None:
    runner = CliRunner()
    result = runner.invoke(build_app(), ["who-knows", "carol@fabrikam.com", "--as-of", now.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    assert "Alice" in result.output and "Strong" in result.output
    result = runner.invoke(build_app(), ["analytics", "refresh", "--as-of", now.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    assert "Full refresh: scored 1 contacts, 1 accounts" in result.output  # no stored aggregates yet


def test_refresh_is_incremental_once_aggregates_exist_and_full_on_request(
        env: dict[str, str], engine: Engine, tenant_id: str, now: datetime) -> None:
    runner = CliRunner()
    at = ["--as-of", now.isoformat()]
    assert runner.invoke(build_app(), ["analytics", "refresh", *at], env=env).exit_code == 0
    result = runner.invoke(build_app(), ["analytics", "refresh", *at], env=env)
    assert result.exit_code == 0, result.output
    assert "Incremental refresh: scored 0 contacts, 0 accounts" in result.output  # nothing changed since
    later = now + timedelta(hours=2)
    ingest(engine, tenant_id, [mail(ext("dave@fabrikam.com"), [user("alice")], later - timedelta(hours=1))], later)
    result = runner.invoke(build_app(), ["analytics", "refresh", "--as-of", later.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    assert "Incremental refresh: scored 1 contacts, 1 accounts" in result.output
    result = runner.invoke(build_app(), ["analytics", "refresh", "--full", "--as-of", later.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    assert "Full refresh: scored 2 contacts, 1 accounts" in result.output
    # The first refresh of the next UTC day rescores everything (nothing new: scores still follow the day).
    result = runner.invoke(build_app(), ["analytics", "refresh", "--as-of", (now + timedelta(days=1)).isoformat()],
                           env=env)
    assert result.exit_code == 0, result.output
    assert "Full refresh: scored 2 contacts, 1 accounts" in result.output


def test_health_table_formats_rates_times_and_changes_for_reading(
    env: dict[str, str], engine: Engine, tenant_id: str, now: datetime
) -> None:
    """Response rates as percentages, hours, ratio and factor changes to fixed decimals (a change of −17 read "-17"
    beside "-25.7")."""
    carol = ext("carol@fabrikam.com")
    ingest(engine, tenant_id, [mail(user("alice"), [carol], now - timedelta(days=d)) for d in range(95, 170, 4)], now)
    result = CliRunner().invoke(build_app(), ["health", "carol@fabrikam.com", "--as-of", now.isoformat()], env=env,
                                terminal_width=200)
    assert result.exit_code == 0, result.output
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.output.splitlines() if line.count("│") >= 4]
    kpis = {r[0]: r[1:] for r in rows if len(r) == 3}
    assert all(c.endswith("%") for c in kpis["response rate"]), kpis["response rate"]
    assert all(c == "—" or re.fullmatch(r"\d+\.\d", c) for c in kpis["avg first response (h)"])
    changes = [r[4] for r in rows if len(r) == 6 and r[0] and r[0] != "factor"]
    assert len(changes) == 4 and all(re.fullmatch(r"[+-]\d+\.\d", c) for c in changes), changes
    assert re.search(r"sent/received ratio \d+\.\d\d;", result.output)


def test_health_says_none_in_the_window_for_an_older_last_interaction(
    env: dict[str, str], engine: Engine, tenant_id: str, now: datetime
) -> None:
    """The KPIs read their window only: a contact last mailed 120 days ago had "last interaction —"."""
    ingest(engine, tenant_id, [mail(user("alice"), [ext("erin@fabrikam.com")], now - timedelta(days=120))], now)
    result = CliRunner().invoke(build_app(), ["health", "erin@fabrikam.com", "--as-of", now.isoformat()], env=env,
                                terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "last interaction none in the last 90 days;" in result.output


def test_every_command_with_a_reference_time_takes_as_of(env: dict[str, str]) -> None:
    """`health`, `who-knows` and `analytics refresh` took --as-of, `scoring` and `notes` only --now."""
    result = CliRunner().invoke(build_app(), ["notes", "analyze", "call anna@contoso.com tomorrow at 9am",
                                              "--as-of", "2026-11-01T10:00:00", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["suggestions"][0]["start"] == "2026-11-02T09:00:00+00:00"
    result = CliRunner().invoke(build_app(), ["scoring", "score", "lead", "--as-of", "2026-11-01"], env=env)
    assert "No such option" not in result.output
    result = CliRunner().invoke(build_app(), ["health", "Fabrikam", "--as-of", "last tuesday"], env=env)
    assert result.exit_code == 2 and "is not an ISO date-time" in result.output

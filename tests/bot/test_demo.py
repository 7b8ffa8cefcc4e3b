"""``rapport demo --size small --ask …``: the whole first-run pipeline, then questions over HTTP to the bot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.chat import DEMO_FILE
from bot.cli import build_app


def test_demo_pipeline_answers_help_and_a_planted_accounts_health(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RAPPORT_DATABASE_URL", raising=False)
    from graph_sync.emulator.generator import generate_tenant

    # What the demo would generate itself, generated here first so the ground truth can pick the question.
    generate_tenant(tmp_path / "demo-tenant-small", seed=7, size="small")
    truth = json.loads((tmp_path / "demo-tenant-small" / "ground_truth.json").read_text(encoding="utf-8"))
    declining = next(a for a in truth["accounts"] if a["trajectory"] == "declining")

    result = CliRunner().invoke(build_app(), ["demo", "--size", "small", "--port", "0", "--ask", "help",
                                              "--ask", f"health of {declining['domain']}"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "you> help" in out and "Here is what I can do" in out and "health of Fabrikam" in out
    answer = out.split(f"you> health of {declining['domain']}", 1)[1]
    assert "Trend" in answer and "Declining" in answer.split("Trend", 1)[1].splitlines()[0]
    assert "Reusing the synthetic small tenant" in result.stderr and "Ready in" in result.stderr
    recorded = json.loads((tmp_path / DEMO_FILE).read_text(encoding="utf-8"))
    assert recorded["tenant_id"] == truth["tenant"]["id"]
    assert recorded["user_id"] == next(u["id"] for u in truth["users"] if u["role"] == "vp")

"""``rapport demo --size small --ask …``: the whole first-run pipeline, then questions over HTTP to the bot
(with the production features: relationships, notes and scores)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.chat import DEMO_FILE
from bot.cli import build_app


def test_demo_pipeline_answers_help_health_notes_and_scores(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RAPPORT_DATABASE_URL", raising=False)
    from graph_sync.emulator.generator import generate_tenant

    # What the demo would generate itself, generated here first so the ground truth can pick the question.
    generate_tenant(tmp_path / "demo-tenant-small", seed=7, size="small")
    truth = json.loads((tmp_path / "demo-tenant-small" / "ground_truth.json").read_text(encoding="utf-8"))
    declining = next(a for a in truth["accounts"] if a["trajectory"] == "declining")
    with (tmp_path / "demo-tenant-small" / "crm" / "opportunities.csv").open(encoding="utf-8", newline="") as f:
        open_deal, deal_name = next((r["opportunity_id"], r["name"]) for r in csv.DictReader(f) if r["status"] == "Open")
    note = "note: call with jane@example.com next Tuesday at 10:00 and send her the proposal"

    result = CliRunner().invoke(build_app(), ["demo", "--size", "small", "--port", "0", "--ask", "help",
                                              "--ask", f"health of {declining['domain']}",
                                              "--ask", f"score of opportunity {open_deal}", "--ask", note])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "you> help" in out and "Here is what I can do" in out and "health of Fabrikam" in out
    assert "score of lead" in out and "note:" in out.split("you> health of", 1)[0]  # help lists both features
    answer = out.split(f"you> health of {declining['domain']}", 1)[1].split("you> ", 1)[0]
    assert "Trend" in answer and "Declining" in answer.split("Trend", 1)[1].splitlines()[0]
    # The demo trained the opportunity model while setting up, so the score is a real one with its reasons.
    assert "opportunity model:" in result.stderr and "training took" in result.stderr
    # ... and scored the open records, as the daily scoring pass would: digests read those stored scores.
    assert "open opportunities" in result.stderr and "open leads" in result.stderr
    scored = out.split(f"you> score of opportunity {open_deal}", 1)[1].split("you> ", 1)[0]
    # Labelled by its name (the mapping imports it as free text), not its id.
    assert f"Opportunity score: {deal_name}" in scored and "Grade" in scored and "What raises it" in scored
    suggested = out.split("you> note:", 1)[1]
    assert "Suggested: " in suggested and "Create in my calendar" in suggested and "jane@example.com" in suggested
    assert "Reusing the synthetic small tenant" in result.stderr and "Ready in" in result.stderr
    recorded = json.loads((tmp_path / DEMO_FILE).read_text(encoding="utf-8"))
    assert recorded["tenant_id"] == truth["tenant"]["id"]
    assert recorded["user_id"] == next(u["id"] for u in truth["users"] if u["role"] == "vp")

"""``rapport notes analyze`` prints suggestions, as a table or JSON."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bot.cli import build_app


def test_notes_analyze_prints_json() -> None:
    result = CliRunner().invoke(build_app(), [
        "notes", "analyze", "下周二下午三点给王总打电话确认报价", "--now", "2026-11-26T09:00",
        "--tz", "Asia/Shanghai", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["suggestions"][0]["kind"] == "call"
    assert data["suggestions"][0]["start"] == "2026-12-01T15:00:00+08:00"


def test_notes_analyze_rejects_unknown_zone() -> None:
    result = CliRunner().invoke(build_app(), ["notes", "analyze", "hi", "--tz", "Nowhere/Land"])
    assert result.exit_code == 2

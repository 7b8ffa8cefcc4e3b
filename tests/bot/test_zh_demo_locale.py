"""``rapport demo --ask … --locale zh-CN`` asks as a zh-CN Teams client does, so a Chinese team can try the demo's
Chinese replies in one command (``rapport chat`` had ``--locale``; the demo's ``--ask`` always sent en-US)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from bot import demo
from bot.chat import Identity
from bot.cli import build_app


def test_the_demo_command_passes_its_locale_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path))
    seen: dict[str, Any] = {}

    async def fake_run_demo(*args: Any, **kwargs: Any) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    result = CliRunner().invoke(build_app(), ["demo", "--size", "small", "--ask", "帮助", "--locale", "zh-CN"])
    assert result.exit_code == 0, result.output
    assert seen["locale"] == "zh-CN" and seen["ask"] == ["帮助"]
    CliRunner().invoke(build_app(), ["demo", "--size", "small", "--ask", "help"])
    assert seen["locale"] == "en-US"  # the default is unchanged


def test_the_demo_asks_with_that_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    identities: list[Identity] = []

    class FakeConnector:
        async def start(self) -> str:
            return "http://127.0.0.1:1/"

        async def close(self) -> None:
            return None

    class FakeClient:
        def __init__(self, bot_url: str, identity: Identity, connector: Any, session: Any) -> None:
            identities.append(identity)

        async def say(self, text: str) -> list[dict[str, Any]]:
            return [{"type": "message", "text": "好的"}]

    monkeypatch.setattr(demo, "LocalConnector", FakeConnector)
    monkeypatch.setattr(demo, "BotClient", FakeClient)
    tenant = demo.DemoTenant(Path("."), "t-1", datetime(2026, 11, 1, tzinfo=UTC), "u-1", "Lucas", ())
    console = Console(record=True, width=100)
    asyncio.run(demo._ask("http://127.0.0.1:2", tenant, ["帮助"], console, "zh-CN"))
    assert [i.locale for i in identities] == ["zh-CN"]
    assert "好的" in console.export_text()

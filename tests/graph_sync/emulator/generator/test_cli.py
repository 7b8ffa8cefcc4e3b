"""``rapport emulator generate`` writes a tenant and refuses an unknown size."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from graph_sync.emulator.generator.cli import generate


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("generate")(generate)

    @app.callback()
    def root() -> None:  # a group, as in `rapport emulator`, so the command keeps its name
        pass

    return app


def test_generate_command_writes_a_small_tenant(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["generate", "--out", str(tmp_path / "t"), "--seed", "3",
                                         "--size", "small"])
    assert result.exit_code == 0, result.output
    assert "Wrote small tenant" in result.output
    assert (tmp_path / "t" / "ground_truth.json").is_file()
    assert (tmp_path / "t" / "crm" / "leads.mapping.toml").is_file()


def test_generate_command_refuses_an_unknown_size(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["generate", "--out", str(tmp_path), "--size", "huge"])
    assert result.exit_code == 2
    assert not (tmp_path / "users.jsonl").exists()

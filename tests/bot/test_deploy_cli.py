"""Found deploying by the book: a wrong or unreachable RAPPORT_DATABASE_URL must give the admin a message, an exit
status and no traceback, and must not print the database password."""

from __future__ import annotations

import logging
import sys

import pytest

from bot.cli import main

PASSWORD = "s3cret-pw"


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str,
         *args: str) -> tuple[int, str]:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    monkeypatch.setattr(sys, "argv", ["rapport", *args])
    with pytest.raises(SystemExit) as caught:
        main()
    captured = capsys.readouterr()
    return int(caught.value.code or 0), captured.out + captured.err


def test_an_unreachable_database_is_a_message_naming_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    code, out = _run(monkeypatch, capsys, f"postgresql+psycopg://rapport:{PASSWORD}@127.0.0.1:1/rapport",
                     "db", "status")
    assert code == 1
    assert "the database could not be used" in out and "RAPPORT_DATABASE_URL" in out
    assert "Traceback" not in out and PASSWORD not in out


def test_a_wrong_url_scheme_does_not_print_the_password(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(monkeypatch, capsys, f"postgres://rapport:{PASSWORD}@db/rapport", "db", "status")
    assert code == 2
    assert "RAPPORT_DATABASE_URL" in out and "postgres://rapport:***@db/rapport" in out
    assert PASSWORD not in out


def test_a_sqlite_file_under_a_file_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str],
                                                             tmp_path: pytest.TempPathFactory) -> None:
    blocker = tmp_path / "not-a-folder"  # type: ignore[operator]
    blocker.write_text("")
    code, out = _run(monkeypatch, capsys, f"sqlite:///{blocker}/rapport.db", "db", "status")
    assert code == 2
    assert "configuration error: RAPPORT_DATABASE_URL" in out and "Traceback" not in out


@pytest.mark.parametrize("command", ["serve", "health", "chat"])
def test_single_commands_do_not_offer_shell_completion_options(command: str, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # Completion is installed for `rapport` as a whole; on `rapport serve --help` the options only confused.
    monkeypatch.setattr(sys, "argv", ["rapport", command, "--help"])
    with pytest.raises(SystemExit) as caught:
        main()
    assert caught.value.code == 0
    assert "--install-completion" not in capsys.readouterr().out


@pytest.mark.parametrize(("level", "httpx_level"), [("INFO", logging.WARNING), ("DEBUG", logging.DEBUG)])
def test_graph_request_lines_are_logged_only_at_debug(monkeypatch: pytest.MonkeyPatch, level: str,
                                                      httpx_level: int) -> None:
    """At INFO httpx wrote every Graph page's URL, delta and skip tokens included, thousands a pass."""
    from typer.testing import CliRunner

    from bot.cli import build_app

    monkeypatch.setenv("RAPPORT_LOG_LEVEL", level)
    monkeypatch.setattr(logging.getLogger("httpx"), "level", logging.NOTSET)
    CliRunner().invoke(build_app(), ["tenants", "--help"])
    assert logging.getLogger("httpx").level == httpx_level

"""Found deploying by the book: commands on a database whose schema is behind the code say "run `rapport db
upgrade`" instead of failing half-way with an SQL error, and replicas that each run `rapport db upgrade` as they
start do not fail on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from analytics.store.engine import make_engine
from analytics.store.schema import head_revision, schema_status, upgrade
from bot.cli import main


def _previous_revision() -> str:
    return f"{int(head_revision()) - 1:04d}"


@pytest.mark.parametrize("args", [("tenants", "list"), ("analytics", "refresh"), ("health", "ann@example.com"),
                                  ("digest", "send", "--dry-run")])
def test_a_command_on_an_older_schema_says_to_upgrade(empty_database_url: str, args: tuple[str, ...],
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    engine = make_engine(empty_database_url)
    upgrade(engine, _previous_revision())
    engine.dispose()
    monkeypatch.setenv("RAPPORT_DATABASE_URL", empty_database_url)
    monkeypatch.setattr(sys, "argv", ["rapport", *args])
    with pytest.raises(SystemExit) as caught:
        main()
    captured = capsys.readouterr()
    assert caught.value.code == 1
    assert "run `rapport db upgrade`" in captured.err and "Traceback" not in captured.err


@pytest.mark.postgres_only
def test_concurrent_upgrades_of_an_empty_postgresql_database_all_succeed(empty_database_url: str) -> None:
    # Separate processes, as replicas are (Alembic's context is process-global, so threads would not do).
    env = {**os.environ, "RAPPORT_DATABASE_URL": empty_database_url}
    runs = [subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", "db", "upgrade"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [(run.wait(timeout=120), run.stdout.read() if run.stdout else "") for run in runs]
    assert [code for code, _ in outputs] == [0, 0, 0], outputs
    engine = make_engine(empty_database_url)
    assert schema_status(engine).is_current
    engine.dispose()

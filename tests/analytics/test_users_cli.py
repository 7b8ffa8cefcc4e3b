"""``rapport users``: an admin opts a user out and back in by email, and lists the opt-outs; audited as ``cli``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from analytics.store import models
from bot.cli import build_app

from .builders import add_users, ext, ingest, mail, user

AUDIT = models.table_of(models.AuditEvent)
OPT_OUT = models.table_of(models.UserOptOut)


@pytest.fixture
def env(engine: Engine, db_url: str, tenant_id: str, now: datetime) -> dict[str, str]:
    add_users(engine, tenant_id, "alice", "bob")
    carol = ext("carol@fabrikam.com")
    ingest(engine, tenant_id, [mail(user("alice"), [carol], now - timedelta(days=d)) for d in range(1, 30, 3)]
           + [mail(user("bob"), [carol], now - timedelta(days=2))], now)
    return {"RAPPORT_DATABASE_URL": db_url, "COLUMNS": "200"}


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _rows(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return sorted((r.user_id, r.scope) for r in conn.execute(select(OPT_OUT)))


def _audit(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return sorted((r.actor, r.action, r.target) for r in conn.execute(select(AUDIT)))


def test_opt_out_by_email_takes_effect_in_who_knows_and_is_audited(env: dict[str, str], engine: Engine,
                                                                   now: datetime) -> None:
    code, out, _ = _run(env, "users", "opt-out", "Alice@Contoso.com")
    assert code == 0, out
    assert "Opted Alice <alice@contoso.com> out of who knows whom" in out
    assert "rapport users opt-in alice@contoso.com" in out
    assert _rows(engine) == [("u-alice", "who_knows")]
    assert _audit(engine) == [("cli", "privacy.opt_out", "u-alice")]

    code, out, _ = _run(env, "who-knows", "carol@fabrikam.com", "--as-of", now.isoformat())
    assert code == 0 and "Bob" in out and "Alice" not in out

    code, out, _ = _run(env, "users", "opt-out", "alice@contoso.com")  # again: nothing changes
    assert code == 0 and "was already opted out of who knows whom: nothing changed." in out
    assert _audit(engine) == [("cli", "privacy.opt_out", "u-alice")]


def test_scopes_and_opting_back_in(env: dict[str, str], engine: Engine) -> None:
    assert _run(env, "users", "opt-out", "alice@contoso.com", "--scope", "all")[0] == 0
    code, out, _ = _run(env, "users", "opt-out", "alice@contoso.com", "--scope", "who_knows")
    assert code == 0 and "already opted out of everything" in out and _rows(engine) == [("u-alice", "all")]

    code, out, _ = _run(env, "users", "opt-in", "alice@contoso.com", "--scope", "who_knows")
    assert code == 0 and "was not opted out of who knows whom: nothing changed." in out
    assert "is still opted out of everything" in out and "--scope all" in out

    code, out, _ = _run(env, "users", "opt-in", "alice@contoso.com")  # both, by default
    assert code == 0 and "Removed Alice <alice@contoso.com>'s opt-out of everything" in out
    assert "still opted out" not in out and _rows(engine) == []
    assert _audit(engine) == [("cli", "privacy.opt_in", "u-alice"), ("cli", "privacy.opt_out", "u-alice")]

    code, _, err = _run(env, "users", "opt-out", "alice@contoso.com", "--scope", "talking_points")
    assert code == 2 and "talking_points" in err and _rows(engine) == []  # not a scope admins set here


def test_opt_outs_lists_names_emails_scopes_and_dates(env: dict[str, str], engine: Engine, tenant_id: str,
                                                      now: datetime) -> None:
    code, out, _ = _run(env, "users", "opt-outs")
    assert code == 0 and "No user has opted out." in out
    assert json.loads(_run(env, "users", "opt-outs", "--json")[1]) == []
    with engine.begin() as conn:
        conn.execute(OPT_OUT.insert().values(tenant_id=tenant_id, user_id="u-bob", scope="all", opted_out_at=now))
    _run(env, "users", "opt-out", "alice@contoso.com")

    code, out, _ = _run(env, "users", "opt-outs")
    assert code == 0
    lines = [line for line in out.splitlines() if "contoso.com" in line]
    assert len(lines) == 2 and "Alice" in lines[0] and "who_knows" in lines[0]
    assert "Bob" in lines[1] and "bob@contoso.com" in lines[1] and "all" in lines[1] and "2026-11-02 09:00" in lines[1]
    assert tenant_id not in out  # one tenant: no tenant column

    listed = json.loads(_run(env, "users", "opt-outs", "--json", "--tenant", tenant_id)[1])
    assert [(x["name"], x["email"], x["scope"]) for x in listed] == [
        ("Alice", "alice@contoso.com", "who_knows"), ("Bob", "bob@contoso.com", "all")]
    assert listed[1] == {"tenant_id": tenant_id, "user_id": "u-bob", "name": "Bob", "email": "bob@contoso.com",
                         "scope": "all", "since": now.isoformat()}


def test_an_unknown_email_or_an_ambiguous_one_is_a_clear_error(env: dict[str, str], engine: Engine,
                                                               now: datetime) -> None:
    code, _, err = _run(env, "users", "opt-out", "nobody@contoso.com")
    assert code == 1 and "error: no user with email nobody@contoso.com in the store" in err
    code, _, err = _run(env, "users", "opt-in", "alice@contoso.com", "--tenant", "another-tenant")
    assert code == 1 and "no user with email alice@contoso.com in tenant another-tenant" in err

    other = "99999999-2222-3333-4444-555555555555"
    with engine.begin() as conn:
        conn.execute(models.table_of(models.Tenant).insert().values(
            tenant_id=other, display_name="Other", created_at=now, granted_scopes=[], options={}))
    add_users(engine, other, "alice")
    code, _, err = _run(env, "users", "opt-out", "alice@contoso.com")
    assert code == 1 and "is a user of several tenants" in err and "--tenant" in err
    assert _rows(engine) == [] and _audit(engine) == []
    assert _run(env, "users", "opt-out", "alice@contoso.com", "--tenant", other)[0] == 0
    with engine.connect() as conn:
        assert [r.tenant_id for r in conn.execute(select(OPT_OUT))] == [other]

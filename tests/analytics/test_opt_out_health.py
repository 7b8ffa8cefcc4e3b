"""A colleague who opted out of who knows whom is not named among our side's most contacted people of a health
answer (live or stored): naming who talks most with an account tells who knows it. Their mail still counts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from analytics import health_views
from analytics.query import RelationshipQueries
from analytics.refresh import full_refresh
from analytics.settings import Settings
from analytics.store.opt_outs import set_opt_out

from .builders import add_account, add_users, ext, ingest, mail, user


def test_an_opted_out_colleague_is_not_named_among_the_most_contacted(
        engine: Engine, tenant_id: str, now: datetime) -> None:
    add_users(engine, tenant_id, "alice", "bob")
    add_account(engine, tenant_id, "acc-fab", "Fabrikam", "fabrikam.com")
    carol = ext("carol@fabrikam.com")
    ingest(engine, tenant_id, [mail(user(n), [carol], now - timedelta(days=d)) for n, days in
                               (("alice", range(1, 30, 3)), ("bob", range(2, 30, 9))) for d in days], now)
    settings = Settings()
    result = full_refresh(engine, tenant_id, settings, now=now)
    health_views.update_after_refresh(engine, tenant_id, settings, result, previous=None, now=now)
    queries = RelationshipQueries(engine, settings)

    def named(stored: bool) -> tuple[list[str], int]:
        view = queries.health(tenant_id, "Fabrikam", now=now, stored=stored)
        return [p.email for p in view.kpis.us.most_contacted], view.kpis.us.emails_sent

    assert named(True) == named(False) == (["alice@contoso.com", "bob@contoso.com"], 14)
    with engine.begin() as conn:
        set_opt_out(conn, tenant_id, "u-alice", "who_knows", now=now, actor="test")
    assert named(True) == named(False) == (["bob@contoso.com"], 14)  # her mail still counts


def test_the_who_knows_command_says_how_many_colleagues_opted_out(
        engine: Engine, db_url: str, tenant_id: str, now: datetime) -> None:
    from typer.testing import CliRunner

    from bot.cli import build_app

    add_users(engine, tenant_id, "alice", "bob")
    carol = ext("carol@fabrikam.com")
    ingest(engine, tenant_id, [mail(user(n), [carol], now - timedelta(days=2)) for n in ("alice", "bob")], now)
    with engine.begin() as conn:
        set_opt_out(conn, tenant_id, "u-alice", "who_knows", now=now, actor="test")
    result = CliRunner().invoke(build_app(), ["who-knows", "carol@fabrikam.com", "--as-of", now.isoformat()],
                                env={"RAPPORT_DATABASE_URL": db_url}, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Bob" in result.output and "Alice" not in result.output
    assert "1 colleague opted out and is not shown." in result.output

"""Opt-outs (analytics.store.opt_outs): set, clear, list, is_opted_out; idempotent, audited, and what the
who-knows answers leave out follows them at the next ask."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from analytics.errors import NotFound
from analytics.query import RelationshipQueries
from analytics.settings import Settings
from analytics.store import models
from analytics.store import opt_outs as o
from analytics.store import queries_relationships as q
from tests.analytics.builders import add_users, ext, ingest, mail, user

AUDIT = models.table_of(models.AuditEvent)
OPT_OUT = models.table_of(models.UserOptOut)


def _audit(engine: Engine, tenant_id: str) -> list[tuple[str, str, str, dict[str, object]]]:
    with engine.connect() as conn:
        rows = conn.execute(select(AUDIT.c.actor, AUDIT.c.action, AUDIT.c.target, AUDIT.c.details)
                            .where(AUDIT.c.tenant_id == tenant_id).order_by(AUDIT.c.at)).all()
    return [(r.actor, r.action, r.target, r.details) for r in rows]


def test_opting_out_is_recorded_once_and_audited(engine: Engine, tenant_id: str, now: datetime) -> None:
    add_users(engine, tenant_id, "alice", "bob")
    with engine.begin() as conn:
        assert not o.is_opted_out(conn, tenant_id, "u-alice")
        assert o.set_opt_out(conn, tenant_id, "u-alice", o.WHO_KNOWS, now=now, actor="teams:u-alice")
    with engine.begin() as conn:  # twice: nothing new, no second audit row, the first date kept
        assert not o.set_opt_out(conn, tenant_id, "u-alice", o.WHO_KNOWS, now=now + timedelta(days=1),
                                 actor="teams:u-alice")
    with engine.connect() as conn:
        assert o.is_opted_out(conn, tenant_id, "u-alice") and not o.is_opted_out(conn, tenant_id, "u-bob")
        assert not o.is_opted_out(conn, tenant_id, "u-alice", o.TALKING_POINTS)
        [row] = o.list_opt_outs(conn, tenant_id)
    assert row == o.OptOut(tenant_id, "u-alice", "who_knows", now, "Alice", "alice@contoso.com")
    assert _audit(engine, tenant_id) == [("teams:u-alice", "privacy.opt_out", "u-alice",
                                          {"scope": "who_knows", "email": "alice@contoso.com"})]


def test_everything_covers_who_knows_and_opting_in_removes_what_was_there(
        engine: Engine, tenant_id: str, now: datetime) -> None:
    add_users(engine, tenant_id, "alice")
    with engine.begin() as conn:
        assert o.set_opt_out(conn, tenant_id, "u-alice", o.EVERYTHING, now=now, actor="cli")
        # out of everything already: opting out of who knows whom changes nothing
        assert not o.set_opt_out(conn, tenant_id, "u-alice", o.WHO_KNOWS, now=now, actor="cli")
        assert o.is_opted_out(conn, tenant_id, "u-alice", o.WHO_KNOWS)
        assert o.is_opted_out(conn, tenant_id, "u-alice", o.TALKING_POINTS)
        assert [x.scope for x in o.list_opt_outs(conn, tenant_id, "u-alice")] == ["all"]
    with engine.begin() as conn:
        assert o.clear_opt_out(conn, tenant_id, "u-alice", [o.WHO_KNOWS, o.EVERYTHING], now=now,
                               actor="cli") == ("all",)
        assert o.clear_opt_out(conn, tenant_id, "u-alice", [o.WHO_KNOWS, o.EVERYTHING], now=now,
                               actor="cli") == ()
        assert not o.is_opted_out(conn, tenant_id, "u-alice", o.WHO_KNOWS)
        assert o.list_opt_outs(conn, tenant_id) == []
    assert [(a, action, details) for a, action, _, details in _audit(engine, tenant_id)] == [
        ("cli", "privacy.opt_out", {"scope": "all", "email": "alice@contoso.com"}),
        ("cli", "privacy.opt_in", {"scopes": ["all"]}),
    ]


def test_out_in_and_out_again_within_one_instant_leaves_three_audit_rows(
        engine: Engine, tenant_id: str, now: datetime) -> None:
    add_users(engine, tenant_id, "alice")
    with engine.begin() as conn:
        o.set_opt_out(conn, tenant_id, "u-alice", o.WHO_KNOWS, now=now, actor="cli")
        o.clear_opt_out(conn, tenant_id, "u-alice", [o.WHO_KNOWS], now=now, actor="cli")
        o.set_opt_out(conn, tenant_id, "u-alice", o.WHO_KNOWS, now=now, actor="cli")
    assert [action for _, action, _, _ in _audit(engine, tenant_id)] == [
        "privacy.opt_out", "privacy.opt_in", "privacy.opt_out"]


def test_unknown_users_and_scopes_are_refused_and_write_nothing(
        engine: Engine, tenant_id: str, now: datetime) -> None:
    add_users(engine, tenant_id, "alice")
    with engine.begin() as conn:
        with pytest.raises(NotFound):
            o.set_opt_out(conn, tenant_id, "u-nobody", o.WHO_KNOWS, now=now, actor="cli")
        with pytest.raises(ValueError, match="unknown opt-out scope 'everything'"):
            o.set_opt_out(conn, tenant_id, "u-alice", "everything", now=now, actor="cli")
    with engine.connect() as conn:
        assert conn.execute(select(OPT_OUT)).all() == [] and _audit(engine, tenant_id) == []


def test_users_are_found_by_email_in_any_case_and_listed_when_gone_from_the_directory(
        engine: Engine, tenant_id: str, now: datetime) -> None:
    add_users(engine, tenant_id, "alice", "bob")
    with engine.begin() as conn:
        [alice] = o.find_users(conn, " Alice@Contoso.COM ")
        assert (alice.tenant_id, alice.user_id, alice.name) == (tenant_id, "u-alice", "Alice")
        assert o.find_users(conn, "alice@contoso.com", "another-tenant") == []
        o.set_opt_out(conn, tenant_id, "u-bob", o.WHO_KNOWS, now=now, actor="cli")
        o.set_opt_out(conn, tenant_id, "u-alice", o.EVERYTHING, now=now, actor="cli")
        conn.execute(delete(models.table_of(models.InternalUser)).where(
            models.table_of(models.InternalUser).c.user_id == "u-bob"))
        listed = o.list_opt_outs(conn)
    assert [(x.user_id, x.name, x.email, x.scope) for x in listed] == [
        ("u-bob", "", "", "who_knows"), ("u-alice", "Alice", "alice@contoso.com", "all")]


def test_the_who_knows_answer_follows_an_opt_out_at_the_next_ask(
        engine: Engine, tenant_id: str, now: datetime) -> None:
    add_users(engine, tenant_id, "alice", "bob")
    carol = ext("carol@fabrikam.com")
    ingest(engine, tenant_id, [mail(user("alice"), [carol], now - timedelta(days=d)) for d in range(1, 30, 3)]
           + [mail(user("bob"), [carol], now - timedelta(days=2))], now)
    queries = RelationshipQueries(engine, Settings())
    assert [c.user_id for c in queries.who_knows(tenant_id, "carol@fabrikam.com", now=now).colleagues] == [
        "u-alice", "u-bob"]
    o.OptOuts(engine).opt_out(tenant_id, "u-alice", o.WHO_KNOWS, now=now, actor="cli")
    after = queries.who_knows(tenant_id, "carol@fabrikam.com", now=now)
    assert [c.user_id for c in after.colleagues] == ["u-bob"] and after.excluded_opted_out == 1
    assert o.OptOuts(engine).opt_in(tenant_id, "u-alice", [o.WHO_KNOWS], now=now, actor="cli") == ("who_knows",)
    back = queries.who_knows(tenant_id, "carol@fabrikam.com", now=now)
    assert [c.user_id for c in back.colleagues] == ["u-alice", "u-bob"] and back.excluded_opted_out == 0


def test_who_knows_is_covered_by_the_scopes_the_query_leaves_out() -> None:
    assert set(o.COVERING[o.WHO_KNOWS]) == set(q.WHO_KNOWS_OPT_OUT_SCOPES) == {"who_knows", "all"}

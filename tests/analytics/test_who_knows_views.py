"""Stored who-knows answers (analytics.who_knows_views, analytics.stored_who_knows) equal the live answers.

A generated tenant (small, seed 7) with leads and opportunities, one user opted out and one shared mailbox
before the refresh: after a full and after an incremental refresh every stored answer that the serving rule
allows is compared field by field with ``RelationshipQueries.who_knows`` computed live at its refresh instant
(the answer's ``computed_at``); then opt-outs, disabled accounts and the freshness rule.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from analytics import health_views
from analytics.query import RelationshipQueries
from analytics.refresh import full_refresh, incremental_refresh
from analytics.settings import Settings
from analytics.store import models
from analytics.store.records import ParticipantIn
from analytics.stored_who_knows import current_answer
from analytics.views import TargetRef, WhoKnowsView
from graph_sync.emulator.generator.generate import generate_tenant

from .builders import ingest, mail, meeting
from .synthetic import load_tenant
from .test_health_views import NOW, _add_crm, _ref

WHO = models.table_of(models.WhoKnowsView)
USER = models.table_of(models.InternalUser)
OPT_OUT = models.table_of(models.UserOptOut)


@pytest.fixture(scope="module")
def tenant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("who-views") / "small"
    generate_tenant(out, seed=7, size="small")
    return out


def _stored(engine: Engine, tenant_id: str) -> dict[tuple[str, str], datetime]:
    with engine.connect() as conn:
        return {(r.record_type, r.record_id): r.computed_at for r in conn.execute(
            select(WHO.c.record_type, WHO.c.record_id, WHO.c.computed_at).where(WHO.c.tenant_id == tenant_id))}


def _target(queries: RelationshipQueries, tenant_id: str, kind: str, key: str) -> TargetRef:
    return TargetRef("domain", key, key) if kind == "domain" else _ref(queries, tenant_id, kind, key)


def _served(queries: RelationshipQueries, tenant_id: str, ref: TargetRef, now: datetime) -> WhoKnowsView | None:
    with queries.engine.connect() as conn:
        return current_answer(conn, tenant_id, ref, now)


def _assert_same(stored: WhoKnowsView, live: WhoKnowsView, key: object) -> None:
    for field in dataclasses.fields(WhoKnowsView):
        if field.name != "computed_at":
            assert getattr(stored, field.name) == getattr(live, field.name), (key, field.name)


def _check(queries: RelationshipQueries, tenant_id: str, stored: dict[tuple[str, str], datetime],
           asked: datetime | None = None, nobody: set[tuple[str, str]] | None = None) -> dict[str, int]:
    """Every stored answer the rule serves (at its instant, or at ``asked``) equals the live one then; ``nobody``
    collects the records whose answer has no colleague."""
    seen = {"served": 0, "colleagues": 0, "paths": 0, "no path": 0, "opted out": 0, "live": 0}
    for (kind, key), at in sorted(stored.items()):
        ref = _target(queries, tenant_id, kind, key)
        now = asked or at
        served = _served(queries, tenant_id, ref, now)
        if served is None:
            seen["live"] += 1
            continue
        assert served.computed_at == at, key
        live = queries.who_knows(tenant_id, ref, now=now, stored=False)
        _assert_same(served, live, key)
        seen["served"] += 1
        seen["colleagues"] += bool(served.colleagues)
        seen["paths"] += served.path is not None
        seen["no path"] += not served.colleagues and served.path is None
        if nobody is not None and not served.colleagues:
            nobody.add((kind, key))
        seen["opted out"] += served.excluded_opted_out > 0
    return seen


def _users(truth: dict[str, Any]) -> list[dict[str, Any]]:
    return [u for u in truth["users"] if u["purpose"] == "user"]


def _opt_out(engine: Engine, tenant_id: str, user_id: str, scope: str = "who_knows") -> None:
    with engine.begin() as conn:
        conn.execute(OPT_OUT.insert().values(tenant_id=tenant_id, user_id=user_id, scope=scope, opted_out_at=NOW))


def _busiest_users(engine: Engine, tenant_id: str) -> list[str]:
    rollup = models.table_of(models.InteractionRollup)
    with engine.connect() as conn:
        rows = conn.execute(select(rollup.c.user_id).where(rollup.c.tenant_id == tenant_id)).scalars().all()
    counts: dict[str, int] = {}
    for u in rows:
        counts[u] = counts.get(u, 0) + 1
    return sorted(counts, key=lambda u: (-counts[u], u))


def test_stored_answers_equal_live_answers_after_full_and_incremental_refreshes(
        engine: Engine, tenant_dir: Path) -> None:
    tenant_id, truth = load_tenant(engine, tenant_dir, now=NOW)
    _add_crm(engine, tenant_id, truth)
    busiest = _busiest_users(engine, tenant_id)
    _opt_out(engine, tenant_id, busiest[0])  # left out of every answer, counted
    with engine.begin() as conn:  # never offered
        conn.execute(update(USER).where(USER.c.tenant_id == tenant_id, USER.c.user_id == busiest[1])
                     .values(mailbox_kind="shared"))
    settings = Settings()
    queries = RelationshipQueries(engine, settings)

    previous = health_views.latest_refresh(engine, tenant_id)
    result = full_refresh(engine, tenant_id, settings, now=NOW)
    done = health_views.update_after_refresh(engine, tenant_id, settings, result, previous=previous, now=NOW)
    stored = _stored(engine, tenant_id)
    assert done.full and done.who_knows == len(stored) == done.views
    assert {k for k in stored} == {(t, i) for t, i in _health_keys(engine, tenant_id)}
    nobody: set[tuple[str, str]] = set()
    seen = _check(queries, tenant_id, stored, nobody=nobody)
    assert seen["live"] == 0 and seen["served"] == len(stored)
    assert seen["colleagues"] > 100 and seen["opted out"] > 20 and seen["paths"] + seen["no path"] > 0
    assert done.two_hop == seen["paths"] + seen["no path"]
    # ``who_knows`` serves it: computed_at is the refresh instant.
    account = _ref(queries, tenant_id, "account", truth["accounts"][0]["id"])
    assert queries.who_knows(tenant_id, account, now=NOW + timedelta(hours=1)).computed_at == NOW

    # Later the same day: mail with a few contacts (one of them on a lead) and an incremental refresh.
    later = NOW + timedelta(hours=5, microseconds=7)
    people = [*[c for c in truth["contacts"] if c["account_id"]][:3], truth["contacts"][5]]
    user = next(u for u in _users(truth) if u["id"] not in busiest[:2])
    us = ParticipantIn(user["mail"], "from", "internal", user["display_name"], user_id=user["id"])
    them = [ParticipantIn(c["email"], "from", "external", c["name"]) for c in people]
    ingest(engine, tenant_id, [mail(us, them[:2], later - timedelta(hours=1)),
                               mail(them[0], [us], later - timedelta(minutes=20)),
                               meeting(us, [them[2]], later - timedelta(hours=2)),
                               mail(them[3], [us], later - timedelta(hours=3))], later)
    previous = health_views.latest_refresh(engine, tenant_id)
    result = incremental_refresh(engine, tenant_id, settings, now=later)
    done = health_views.update_after_refresh(engine, tenant_id, settings, result, previous=previous, now=later)
    assert not done.full and done.who_knows == done.views
    stored = _stored(engine, tenant_id)
    rewritten = {k for k, at in stored.items() if at == later}
    assert {("contact", c["email"]) for c in people} | {("lead", "lead-1")} <= rewritten
    assert len(rewritten) == done.who_knows
    # The rewritten answers are the live ones now; the others too, at the ask, except a path (not served).
    fresh = _check(queries, tenant_id, {k: at for k, at in stored.items() if at == later})
    assert fresh["served"] == len(rewritten)
    kept = _check(queries, tenant_id, {k: at for k, at in stored.items() if at == NOW}, asked=later)
    assert kept["paths"] == kept["no path"] == 0 and kept["live"] == len(nobody - rewritten)  # their paths
    contact = _ref(queries, tenant_id, "contact", people[0]["email"])
    served = queries.who_knows(tenant_id, contact, now=later + timedelta(minutes=1))
    assert served.computed_at == later and user["id"] in {c.user_id for c in served.colleagues}


def _health_keys(engine: Engine, tenant_id: str) -> set[tuple[str, str]]:
    view = models.table_of(models.HealthView)
    with engine.connect() as conn:
        return {(r.record_type, r.record_id) for r in conn.execute(
            select(view.c.record_type, view.c.record_id).where(view.c.tenant_id == tenant_id))}


def test_an_opt_out_or_a_disabled_account_after_materialisation_is_honoured_at_once(
        engine: Engine, tenant_dir: Path) -> None:
    tenant_id, _truth = load_tenant(engine, tenant_dir, now=NOW, limit=3000)
    settings = Settings()
    queries = RelationshipQueries(engine, settings)
    result = full_refresh(engine, tenant_id, settings, now=NOW)
    assert health_views.update_after_refresh(engine, tenant_id, settings, result, previous=None, now=NOW).who_knows
    stored = _stored(engine, tenant_id)
    asked = NOW + timedelta(minutes=30)
    answers = {k: queries.who_knows(tenant_id, _target(queries, tenant_id, *k), now=asked) for k in sorted(stored)}
    assert all(a.computed_at == NOW for a in answers.values())
    # A colleague who tops several answers opts out: gone from each at once, counted, the rest still stored.
    tops: dict[str, int] = {}
    for a in answers.values():
        if a.colleagues:
            tops[a.colleagues[0].user_id] = tops.get(a.colleagues[0].user_id, 0) + 1
    leaver = max(sorted(tops), key=lambda u: tops[u])
    _opt_out(engine, tenant_id, leaver, scope="all")
    now_served = 0
    for k, before in answers.items():
        ref = _target(queries, tenant_id, *k)
        after = queries.who_knows(tenant_id, ref, now=asked)
        live = queries.who_knows(tenant_id, ref, now=asked, stored=False)
        _assert_same(after, live, k)
        assert leaver not in {c.user_id for c in after.colleagues}
        if leaver in {c.user_id for c in before.colleagues}:
            assert after.excluded_opted_out == before.excluded_opted_out + 1
        if after.colleagues:  # the stored edges serve it still
            assert after.computed_at == NOW, k
            now_served += 1
    assert tops[leaver] > 1 and now_served > 100
    # Someone whose only colleague opted out gets a two-hop path computed live (not one stored without it).
    alone = [k for k, a in answers.items() if [c.user_id for c in a.colleagues] == [leaver]]
    for k in alone:
        assert queries.who_knows(tenant_id, _target(queries, tenant_id, *k), now=asked).computed_at == asked

    # A colleague's account disabled: never offered, at once; a talking-points opt-out changes nothing.
    second = next(a.colleagues[0].user_id for a in answers.values()
                  if a.colleagues and a.colleagues[0].user_id != leaver)
    with engine.begin() as conn:
        conn.execute(update(USER).where(USER.c.tenant_id == tenant_id, USER.c.user_id == second)
                     .values(account_enabled=False))
    _opt_out(engine, tenant_id, second, scope="talking_points")
    for k in answers:
        ref = _target(queries, tenant_id, *k)
        after = queries.who_knows(tenant_id, ref, now=asked)
        assert second not in {c.user_id for c in after.colleagues}
        _assert_same(after, queries.who_knows(tenant_id, ref, now=asked, stored=False), k)
    # Renamed in the directory: the stored answer shows the name of now.
    with engine.begin() as conn:
        conn.execute(update(USER).where(USER.c.tenant_id == tenant_id, USER.c.account_enabled.is_(True))
                     .values(display_name="Renamed"))
    shown = [c for a in answers for c in queries.who_knows(tenant_id, _target(queries, tenant_id, *a),
                                                             now=asked).colleagues]
    assert shown and all(c.name == "Renamed" for c in shown)


def test_the_serving_rule(engine: Engine, tenant_dir: Path) -> None:
    tenant_id, truth = load_tenant(engine, tenant_dir, now=NOW, limit=3000)
    settings = Settings()
    queries = RelationshipQueries(engine, settings)
    result = full_refresh(engine, tenant_id, settings, now=NOW)
    health_views.update_after_refresh(engine, tenant_id, settings, result, previous=None, now=NOW)
    account = _ref(queries, tenant_id, "account", truth["accounts"][0]["id"])
    assert queries.who_knows(tenant_id, account, now=NOW + timedelta(hours=2)).computed_at == NOW
    # Not the next day (connections decay by the day), not before the refresh instant, not when not asked to.
    assert queries.who_knows(tenant_id, account, now=NOW + timedelta(days=1)).computed_at == NOW + timedelta(days=1)
    assert queries.who_knows(tenant_id, account, now=NOW - timedelta(seconds=1)).computed_at < NOW
    assert queries.who_knows(tenant_id, account, now=NOW, stored=False).computed_at == NOW  # live, same instant
    # A later refresh whose views were not written: nothing stored is served.
    later = NOW + timedelta(hours=1)
    full_refresh(engine, tenant_id, settings, now=later)
    asked = later + timedelta(minutes=1)
    assert queries.who_knows(tenant_id, account, now=asked).computed_at == asked
    health_views.materialise(engine, tenant_id, settings, rewrite=True)
    assert queries.who_knows(tenant_id, account, now=asked).computed_at == later
    # A body in another format is not decoded (live), and ensure_current rewrites them all.
    with engine.begin() as conn:
        conn.execute(update(WHO).values(body=zlib.compress(json.dumps({"format": 0}).encode())))
    assert queries.who_knows(tenant_id, account, now=asked).computed_at == asked
    assert health_views.ensure_current(engine, tenant_id, settings).who_knows == len(_stored(engine, tenant_id))
    assert queries.who_knows(tenant_id, account, now=asked).computed_at == later
    # A store migrated since its health views were written (none of these yet): ensure_current writes them.
    with engine.begin() as conn:
        conn.execute(delete(WHO))
    assert health_views.ensure_current(engine, tenant_id, settings).who_knows > 0
    assert health_views.ensure_current(engine, tenant_id, settings).skipped == "views already current"


def test_a_path_is_stored_when_nobody_available_knows_the_target(engine: Engine, tenant_id: str) -> None:
    """Zoe is known only by an opted-out colleague: the stored answer is the two-hop path through Carol, equal
    to the live one; after an incremental refresh that does not rescore Zoe it is no longer served."""
    from .builders import add_users, ext, user

    add_users(engine, tenant_id, "alice", "bob", "olga")
    carol, zoe, dan = ext("carol@fabrikam.com"), ext("zoe@fabrikam.com"), ext("dan@contoso.com")
    batch = [mail(user("alice"), [carol], NOW - timedelta(days=d)) for d in range(1, 30, 3)]
    batch += [mail(carol, [user("alice")], NOW - timedelta(days=d)) for d in range(2, 30, 4)]
    batch += [meeting(carol, [zoe], NOW - timedelta(days=d)) for d in range(3, 20, 5)]  # no colleague on it
    batch += [mail(user("olga"), [zoe], NOW - timedelta(days=2))]
    ingest(engine, tenant_id, batch, NOW)
    olga = "u-olga"
    _opt_out(engine, tenant_id, olga)
    settings = Settings()
    queries = RelationshipQueries(engine, settings)
    result = full_refresh(engine, tenant_id, settings, now=NOW)
    done = health_views.update_after_refresh(engine, tenant_id, settings, result, previous=None, now=NOW)
    assert done.two_hop >= 1
    target = queries.resolve_target(tenant_id, "zoe@fabrikam.com")
    served = queries.who_knows(tenant_id, target, now=NOW + timedelta(minutes=1))
    live = queries.who_knows(tenant_id, target, now=NOW + timedelta(minutes=1), stored=False)
    assert served.computed_at == NOW and served.path is not None and served.excluded_opted_out == 1
    _assert_same(served, live, "zoe")
    assert served.path.via_email == "carol@fabrikam.com"
    # Olga opts back in: her edge is served from the stored edges (no path), at once.
    with engine.begin() as conn:
        conn.execute(delete(OPT_OUT))
    back = queries.who_knows(tenant_id, target, now=NOW + timedelta(minutes=2))
    assert back.computed_at == NOW and [c.user_id for c in back.colleagues] == [olga] and back.path is None
    _opt_out(engine, tenant_id, olga)
    # Dan's mail to Bob is unrelated to Zoe: the incremental refresh does not rescore her; her stored path may
    # have gone stale (Carol's activity changes paths) and is answered live.
    later = NOW + timedelta(hours=1)
    ingest(engine, tenant_id, [mail(dan, [user("bob")], later - timedelta(minutes=5))], later)
    result = incremental_refresh(engine, tenant_id, settings, now=later)
    health_views.update_after_refresh(engine, tenant_id, settings, result, previous=NOW, now=later)
    assert _stored(engine, tenant_id)[("contact", "zoe@fabrikam.com")] == NOW
    asked = later + timedelta(minutes=1)
    again = queries.who_knows(tenant_id, target, now=asked)
    assert again.computed_at == asked and again.path is not None
    carol_ref = queries.resolve_target(tenant_id, "carol@fabrikam.com")  # her colleagues are served still
    assert queries.who_knows(tenant_id, carol_ref, now=asked).computed_at == NOW


"""Materialised health views (analytics.health_views) equal the live answers at the refresh instant.

A generated tenant (small, seed 7) with leads and opportunities added: after a full refresh and after an
incremental one, every stored view is decoded and compared field by field with ``RelationshipQueries.health``
computed live at its ``computed_at``; the freshness rule decides which one ``health`` serves.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from analytics import health_views
from analytics.query import RelationshipQueries
from analytics.refresh import full_refresh, incremental_refresh
from analytics.settings import Settings
from analytics.store import models
from analytics.store import queries_relationships as q
from analytics.stored_views import decode
from analytics.views import HealthView, TargetRef
from graph_sync.emulator.generator.generate import generate_tenant

from .builders import ingest, mail, meeting
from .synthetic import load_tenant

NOW = datetime(2026, 11, 1, 9, 30, 15, 123456, tzinfo=UTC)  # the generator's "now", with a time of day
VIEW = models.table_of(models.HealthView)


@pytest.fixture(scope="module")
def tenant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("views") / "small"
    generate_tenant(out, seed=7, size="small")
    return out


def _add_crm(engine: Engine, tenant_id: str, truth: dict[str, Any]) -> None:
    """Leads and opportunities covering every scope rule: by contact email, by stakeholders, by the account
    only (no known person), with a sales team, and closed ones."""
    users = [u for u in truth["users"] if u["purpose"] == "user"]
    contacts = truth["contacts"]
    accounts = truth["accounts"]
    leads, opps, members = [], [], []
    for n in range(12):
        c = contacts[n * 5]
        leads.append({"tenant_id": tenant_id, "lead_id": f"lead-{n}", "owner_id": users[n % len(users)]["id"],
                      "contact_email": c["email"].upper() if n == 3 else c["email"],
                      "account_id": c["account_id"], "status": "qualified" if n % 4 == 1 else "open",
                      "created_at": NOW - timedelta(days=60), "fields": {"name": f"Lead {n}"}})
    for n in range(10):
        acc = accounts[n]
        opps.append({"tenant_id": tenant_id, "opportunity_id": f"opp-{n}",
                     "owner_id": users[(n + 3) % len(users)]["id"], "account_id": acc["id"], "stage": "propose",
                     "status": "won" if n == 7 else "open", "amount": 1000.0 * n,
                     "created_at": NOW - timedelta(days=90), "fields": {}})
        if n % 3 != 2:  # the others fall back to their account's people
            for c in [c for c in contacts if c["account_id"] == acc["id"]][:2]:
                members.append({"tenant_id": tenant_id, "record_type": "opportunity", "record_id": f"opp-{n}",
                                "address": c["email"], "role": "stakeholder", "side": "external"})
        if n % 2 == 0:
            members.append({"tenant_id": tenant_id, "record_type": "opportunity", "record_id": f"opp-{n}",
                            "address": users[(n + 5) % len(users)]["mail"], "role": "team", "side": "internal"})
    with engine.begin() as conn:
        conn.execute(models.Lead.__table__.insert(), leads)
        conn.execute(models.Opportunity.__table__.insert(), opps)
        conn.execute(models.CrmMember.__table__.insert(), members)


def _stored(engine: Engine, tenant_id: str) -> dict[tuple[str, str], tuple[datetime, bytes]]:
    with engine.connect() as conn:
        return {(r.record_type, r.record_id): (r.computed_at, bytes(r.body)) for r in conn.execute(
            select(VIEW.c.record_type, VIEW.c.record_id, VIEW.c.computed_at, VIEW.c.body)
            .where(VIEW.c.tenant_id == tenant_id))}


def _ref(queries: RelationshipQueries, tenant_id: str, kind: str, key: str) -> TargetRef:
    if kind == "account":  # resolved by name or domain, which may be ambiguous: the name as resolution gives it
        with queries.engine.connect() as conn:
            found = q.account(conn, tenant_id, key)
        assert found is not None
        return TargetRef("account", key, found.name)
    text = {"lead": f"lead:{key}", "opportunity": f"opportunity:{key}"}.get(kind, key)
    ref = queries.resolve_target(tenant_id, text)
    assert (ref.kind, ref.key) == (kind, key)
    return ref


def _assert_same(stored: HealthView, live: HealthView, key: object) -> None:
    for field in dataclasses.fields(HealthView):
        assert getattr(stored, field.name) == getattr(live, field.name), (key, field.name)


def _check(engine: Engine, tenant_id: str, queries: RelationshipQueries,
           views: dict[tuple[str, str], tuple[datetime, bytes]]) -> int:
    """Every view equals the live answer at its instant; returns how many had activity in their window."""
    active = 0
    for (kind, key), (at, body) in sorted(views.items()):
        ref = _ref(queries, tenant_id, kind, key) if kind != "domain" else TargetRef("domain", key, key)
        decoded = decode(body, ref)
        assert decoded is not None, key
        live, ids = queries.health_with_contacts(tenant_id, ref, now=at, stored=False)
        _assert_same(decoded.view, live, key)
        assert decoded.contact_ids == tuple(sorted(ids)), key
        active += live.kpis.total_interactions > 0
    return active


def test_stored_views_equal_live_answers_after_full_and_incremental_refreshes(
        engine: Engine, tenant_dir: Path) -> None:
    tenant_id, truth = load_tenant(engine, tenant_dir, now=NOW)
    _add_crm(engine, tenant_id, truth)
    settings = Settings()
    queries = RelationshipQueries(engine, settings)

    previous = health_views.latest_refresh(engine, tenant_id)
    result = full_refresh(engine, tenant_id, settings, now=NOW)
    done = health_views.update_after_refresh(engine, tenant_id, settings, result, previous=previous, now=NOW)
    assert done.full and done.refreshed_at == NOW
    views = _stored(engine, tenant_id)
    assert done.views == len(views)
    kinds = {k for k, _ in views}
    assert kinds == {"contact", "account", "lead", "opportunity"} | ({"domain"} & kinds)
    assert {("account", a["id"]) for a in truth["accounts"]} <= set(views)
    assert {("lead", f"lead-{n}") for n in range(12)} | {("opportunity", f"opp-{n}") for n in range(10)} <= set(views)
    assert _check(engine, tenant_id, queries, views) > 50
    free = next(c for c in truth["contacts"] if c["free_mail"])  # a free-mail domain: refused when asked
    free_domain = free["email"].split("@")[1]
    assert ("domain", free_domain) not in views and ("contact", free["email"]) in views

    # The freshness rule: served at the refresh instant and later that day, not the next day or before it.
    account = _ref(queries, tenant_id, "account", truth["accounts"][0]["id"])
    assert queries.health(tenant_id, account, now=NOW + timedelta(hours=2)).computed_at == NOW
    assert queries.health(tenant_id, account, now=NOW + timedelta(days=1)).computed_at == NOW + timedelta(days=1)
    assert queries.health(tenant_id, account, now=NOW - timedelta(seconds=1)).computed_at < NOW
    # A viewer's own connection is added to a stored view as to a live one.
    owner = truth["accounts"][0]["owner_id"]
    with_viewer = queries.health(tenant_id, account, viewer_user_id=owner, now=NOW)
    live_viewer = queries.health(tenant_id, account, viewer_user_id=owner, now=NOW, stored=False)
    assert with_viewer.computed_at == NOW and with_viewer == live_viewer
    assert with_viewer.viewer_connection is not None

    # Later the same day: new mail and a meeting with a few contacts, an incremental refresh.
    later = NOW + timedelta(hours=5, microseconds=7)
    people = [c for c in truth["contacts"] if c["account_id"]][:3]
    user = next(u for u in truth["users"] if u["purpose"] == "user")
    from analytics.store.records import ParticipantIn
    us = ParticipantIn(user["mail"], "from", "internal", user["display_name"], user_id=user["id"])
    them = [ParticipantIn(c["email"], "from", "external", c["name"]) for c in people]
    batch = [mail(us, them[:2], later - timedelta(hours=1)), mail(them[0], [us], later - timedelta(minutes=20)),
             meeting(us, [them[2]], later + timedelta(days=2)),
             mail(ParticipantIn(free["email"], "from", "external", free["name"]), [us], later - timedelta(hours=2))]
    ingest(engine, tenant_id, batch, later)
    previous = health_views.latest_refresh(engine, tenant_id)
    result = incremental_refresh(engine, tenant_id, settings, now=later)
    assert not result.full and result.records
    done = health_views.update_after_refresh(engine, tenant_id, settings, result, previous=previous, now=later)
    assert not done.full and done.refreshed_at == later
    views = _stored(engine, tenant_id)
    rewritten = {k for k, (at, _) in views.items() if at == later}
    assert {("contact", c["email"]) for c in people} <= rewritten
    # The free-mail domain's contact was rescored: still no view of the domain.
    assert ("domain", free_domain) not in views
    assert {("account", c["account_id"]) for c in people} <= rewritten
    assert done.views == len(rewritten) and rewritten >= {r for r in result.records if r in views}
    # The rewritten views are the live answers now; the others still the live answers at the full refresh.
    assert _check(engine, tenant_id, queries, views) > 50
    contact = _ref(queries, tenant_id, "contact", people[2]["email"])  # the one invited to the meeting
    served = queries.health(tenant_id, contact, now=later + timedelta(minutes=1))
    assert served.computed_at == later and served.kpis.next_interaction is not None


def test_window_activities_of_contacts_equal_the_per_chunk_read(engine: Engine, tenant_dir: Path) -> None:
    """The incremental materialisation's read returns what ``activities_for_contacts`` does, in the same order,
    whether it looks the few contacts' activities up by id or scans the window for many contacts."""
    tenant_id, _truth = load_tenant(engine, tenant_dir, now=NOW)
    with engine.connect() as conn:
        every = sorted(q.all_contacts_fast(conn, tenant_id))
        for start, end in ((NOW - timedelta(days=90), NOW + timedelta(days=365)),
                           (NOW - timedelta(days=20), NOW - timedelta(days=5))):
            for ids in (every[:3], every[::7], every, []):
                got = q.window_activities_of_contacts(conn, tenant_id, ids, start=start, end=end)
                assert got == q.activities_for_contacts(conn, tenant_id, ids, start=start, end=end)
                assert got or not ids  # every set of contacts here has activity in both windows
        assert len(q.window_activities_of_contacts(conn, tenant_id, every, start=NOW - timedelta(days=90),
                                                   end=NOW + timedelta(days=365))) > 100


def test_views_of_a_refresh_not_materialised_are_not_served(engine: Engine, tenant_dir: Path) -> None:
    tenant_id, truth = load_tenant(engine, tenant_dir, now=NOW, limit=3000)
    settings = Settings()
    queries = RelationshipQueries(engine, settings)
    result = full_refresh(engine, tenant_id, settings, now=NOW)
    assert health_views.update_after_refresh(engine, tenant_id, settings, result, previous=None, now=NOW).full
    account = _ref(queries, tenant_id, "account", truth["accounts"][0]["id"])
    assert queries.health(tenant_id, account, now=NOW).computed_at == NOW

    # A later full refresh whose views were not written: every view is ignored (answered live).
    later = NOW + timedelta(hours=1)
    full_refresh(engine, tenant_id, settings, now=later)
    asked = later + timedelta(minutes=1)
    assert queries.health(tenant_id, account, now=asked).computed_at == asked
    # An incremental refresh then (nothing changed): the views are rebuilt in full, since they are not those
    # of the refresh before it.
    result = incremental_refresh(engine, tenant_id, settings, now=later + timedelta(minutes=2))
    done = health_views.update_after_refresh(engine, tenant_id, settings, result, previous=later,
                                             now=later + timedelta(minutes=2))
    assert done.full and done.refreshed_at == later
    assert queries.health(tenant_id, account, now=asked).computed_at == later
    # A lead closed since the refresh is answered live (its stored view was of an open lead).
    with engine.begin() as conn:
        conn.execute(models.Lead.__table__.insert().values(
            tenant_id=tenant_id, lead_id="L1", owner_id=None, contact_email=truth["contacts"][0]["email"],
            status="open", created_at=NOW, fields={}))
    health_views.materialise(engine, tenant_id, settings, records=[("lead", "L1")], expect_mark=later)
    with engine.begin() as conn:
        conn.execute(update(models.Lead.__table__).values(status="qualified"))
    lead = _ref(queries, tenant_id, "lead", "L1")
    assert lead.closed and queries.health(tenant_id, lead, now=asked).computed_at == asked


def test_analytics_refresh_writes_the_views(engine: Engine, db_url: str, tenant_id: str) -> None:
    from typer.testing import CliRunner

    from bot.cli import build_app

    from .builders import add_account, add_users, ext, user

    add_users(engine, tenant_id, "alice")
    add_account(engine, tenant_id, "acc-fab", "Fabrikam", "fabrikam.com")
    carol = ext("carol@fabrikam.com")
    ingest(engine, tenant_id, [mail(user("alice"), [carol], NOW - timedelta(days=d)) for d in range(0, 60, 5)], NOW)
    env = {"RAPPORT_DATABASE_URL": db_url}
    run = CliRunner().invoke
    result = run(build_app(), ["analytics", "refresh", "--as-of", NOW.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    assert "Health views: 2 written (all)" in result.output  # carol and Fabrikam (its domain is the account)
    assert "with 2 who-knows answers" in result.output
    later = NOW + timedelta(hours=1)
    ingest(engine, tenant_id, [mail(ext("dave@fabrikam.com"), [user("alice")], later - timedelta(minutes=5))], later)
    result = run(build_app(), ["analytics", "refresh", "--as-of", later.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    assert "Health views: 2 written (the rescored records)" in result.output  # dave and Fabrikam
    views = _stored(engine, tenant_id)
    assert views[("contact", "dave@fabrikam.com")][0] == later and views[("contact", "carol@fabrikam.com")][0] == NOW
    result = run(build_app(), ["health", "Fabrikam", "--json", "--as-of", (later + timedelta(minutes=1)).isoformat()],
                 env=env)
    assert result.exit_code == 0, result.output
    assert '"computed_at": "' + later.isoformat() in result.output
    # New mail refreshed at the very instant the views are marked for (the same --as-of again): the rescored
    # records' views are rewritten all the same, and a stored answer equals the live one.
    ingest(engine, tenant_id, [mail(ext("erin@fabrikam.com"), [user("alice")], later - timedelta(minutes=2))], later)
    result = run(build_app(), ["analytics", "refresh", "--as-of", later.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    assert "Health views: 2 written (the rescored records)" in result.output  # erin and Fabrikam
    queries = RelationshipQueries(engine, Settings())
    fabrikam = queries.resolve_target(tenant_id, "Fabrikam")
    served = queries.health(tenant_id, fabrikam, now=later)
    assert served == queries.health(tenant_id, fabrikam, now=later, stored=False)
    assert served.kpis.total_interactions == views_total(engine, tenant_id, fabrikam, later)


def views_total(engine: Engine, tenant_id: str, target: TargetRef, at: datetime) -> int:
    """The interactions of ``target``'s stored view (decoded from the table, not through ``health``)."""
    with engine.connect() as conn:
        body = conn.execute(select(VIEW.c.body).where(VIEW.c.tenant_id == tenant_id,
                                                      VIEW.c.record_type == target.kind,
                                                      VIEW.c.record_id == target.key)).scalar_one()
    found = decode(body, target)
    assert found is not None and found.view.computed_at == at
    return found.view.kpis.total_interactions


def test_ensure_current_rebuilds_views_missing_or_in_an_older_format(engine: Engine, tenant_id: str) -> None:
    import json
    import zlib

    from .builders import add_account, add_users, ext, user

    add_users(engine, tenant_id, "alice")
    add_account(engine, tenant_id, "acc-fab", "Fabrikam", "fabrikam.com")
    ingest(engine, tenant_id, [mail(user("alice"), [ext("carol@fabrikam.com")], NOW - timedelta(days=1))], NOW)
    settings = Settings()
    assert health_views.ensure_current(engine, tenant_id, settings).skipped == "no health refresh yet"
    full_refresh(engine, tenant_id, settings, now=NOW)
    assert health_views.ensure_current(engine, tenant_id, settings).views == 2
    assert health_views.ensure_current(engine, tenant_id, settings).skipped == "views already current"
    old = zlib.compress(json.dumps({"format": 0}).encode())
    with engine.begin() as conn:
        conn.execute(update(VIEW).values(body=old))
    queries = RelationshipQueries(engine, settings)
    fab = TargetRef("account", "acc-fab", "Fabrikam")
    assert queries.health(tenant_id, fab, now=NOW + timedelta(minutes=1)).computed_at > NOW  # not decoded: live
    assert health_views.ensure_current(engine, tenant_id, settings).views == 2
    assert queries.health(tenant_id, fab, now=NOW + timedelta(minutes=1)).computed_at == NOW


def test_the_watching_sync_writes_the_views_after_its_refresh(engine: Engine, tenant_id: str) -> None:
    import asyncio

    from graph_sync.worker import build_worker

    from .builders import add_account, add_users, ext, user

    add_users(engine, tenant_id, "alice")
    add_account(engine, tenant_id, "acc-fab", "Fabrikam", "fabrikam.com")
    ingest(engine, tenant_id, [mail(user("alice"), [ext("carol@fabrikam.com")], NOW - timedelta(days=2))], NOW)
    clock = {"now": NOW}

    async def rounds() -> None:
        async with build_worker(Settings(), engine=engine, clock=lambda: clock["now"], owner="views") as worker:
            await worker._refresh_health(tenant_id)  # first: a full refresh, all views
            assert {k for k in _stored(engine, tenant_id)} == {("contact", "carol@fabrikam.com"),
                                                               ("account", "acc-fab")}
            clock["now"] = NOW + timedelta(hours=1)
            ingest(engine, tenant_id, [mail(ext("dave@fabrikam.com"), [user("alice")], NOW)], clock["now"])
            await worker._refresh_health(tenant_id)  # then incremental: the rescored records only

    asyncio.run(rounds())
    views = _stored(engine, tenant_id)
    assert views[("contact", "dave@fabrikam.com")][0] == NOW + timedelta(hours=1)
    assert views[("account", "acc-fab")][0] == NOW + timedelta(hours=1)
    assert views[("contact", "carol@fabrikam.com")][0] == NOW


def test_free_mail_domains_get_no_stored_views_while_a_business_domain_without_an_account_does(
        engine: Engine, tenant_id: str) -> None:
    """The query refuses a free-mail domain (``PersonalMailDomain``) before reading a view: neither a full nor an
    incremental materialisation computes one (health or who-knows); their people's own views are written."""
    from .builders import add_users, ext, user

    add_users(engine, tenant_id, "alice")
    people = [ext("carol@northwind.com"), ext("jo@gmail.com"), ext("al@web.de")]  # web.de: free mail too
    ingest(engine, tenant_id, [mail(user("alice"), people, NOW - timedelta(days=d)) for d in (1, 8)], NOW)
    settings = Settings()
    result = full_refresh(engine, tenant_id, settings, now=NOW)
    health_views.update_after_refresh(engine, tenant_id, settings, result, previous=None, now=NOW)
    who = models.table_of(models.WhoKnowsView)
    with engine.connect() as conn:
        answered = set(conn.execute(select(who.c.record_type, who.c.record_id)).tuples())
    for stored in (set(_stored(engine, tenant_id)), answered):
        assert ("domain", "northwind.com") in stored
        assert {("contact", "jo@gmail.com"), ("contact", "al@web.de")} <= stored
        assert {k for k in stored if k[0] == "domain"} == {("domain", "northwind.com")}
    # Jo writes again: the incremental materialisation rewrites Jo's view, still none for gmail.com.
    later = NOW + timedelta(hours=1)
    ingest(engine, tenant_id, [mail(ext("jo@gmail.com"), [user("alice")], later - timedelta(minutes=5))], later)
    result = incremental_refresh(engine, tenant_id, settings, now=later)
    done = health_views.update_after_refresh(engine, tenant_id, settings, result, previous=NOW, now=later)
    assert not done.full
    views = _stored(engine, tenant_id)
    assert views[("contact", "jo@gmail.com")][0] == later
    assert {k for k in views if k[0] == "domain"} == {("domain", "northwind.com")}

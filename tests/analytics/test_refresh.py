from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from analytics.refresh import contacts_in_batch, full_refresh, incremental_refresh
from analytics.settings import Settings
from analytics.store import models

from .builders import add_account, add_users, ext, ingest, mail, user

ALICE, BOB = user("alice"), user("bob")
CAROL, DAVE, EVE = ext("carol@fabrikam.com"), ext("dave@fabrikam.com"), ext("eve@northwind.com")


def scores(engine: Engine) -> dict[tuple[str, str], tuple[float | None, str | None, str | None]]:
    t = models.Score.__table__
    with engine.connect() as conn:
        return {(r.record_type, r.record_id): (r.value, r.label, r.trend)
                for r in conn.execute(select(t.c.record_type, t.c.record_id, t.c.value, t.c.label, t.c.trend))}


def seed(engine: Engine, tenant_id: str, now: datetime) -> None:
    add_users(engine, tenant_id, "alice", "bob")
    add_account(engine, tenant_id, "acc-fab", "Fabrikam", "fabrikam.com")
    batch = [mail(ALICE, [CAROL], now - timedelta(days=d)) for d in range(0, 100, 6)]
    batch += [mail(CAROL, [ALICE], now - timedelta(days=d, hours=-3)) for d in range(0, 100, 6)]
    batch += [mail(BOB, [EVE], now - timedelta(days=d)) for d in range(50, 110, 5)]
    ingest(engine, tenant_id, batch, now)
    with engine.begin() as conn:
        conn.execute(models.Lead.__table__.insert().values(
            tenant_id=tenant_id, lead_id="lead-1", owner_id="u-alice", contact_email="carol@fabrikam.com",
            status="open", created_at=now - timedelta(days=30), fields={}))
        conn.execute(models.Lead.__table__.insert().values(
            tenant_id=tenant_id, lead_id="lead-2", owner_id="u-bob", contact_email="eve@northwind.com",
            status="disqualified", created_at=now - timedelta(days=30), fields={}))


def test_full_refresh_scores_every_record_and_keeps_history(engine: Engine, tenant_id: str, now: datetime) -> None:
    seed(engine, tenant_id, now)
    result = full_refresh(engine, tenant_id, Settings(), now=now)
    assert (result.contacts, result.accounts, result.leads) == (2, 1, 2)
    got = scores(engine)
    assert got[("contact", "carol@fabrikam.com")][1] == "Good"
    assert got[("contact", "eve@northwind.com")][2] == "Declining"
    assert got[("lead", "lead-2")] == (None, "Not computed", None)
    assert got[("account", "acc-fab")][1] == "Good"  # one contact, against an account's higher expectation
    full_refresh(engine, tenant_id, Settings(), now=now + timedelta(days=1))
    with engine.connect() as conn:
        n = len(conn.execute(select(models.ScoreHistory.__table__)).all())
    assert n == 2 * len(got)


def test_incremental_refresh_matches_a_full_refresh_for_the_touched_records(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    seed(engine, tenant_id, now)
    full_refresh(engine, tenant_id, Settings(), now=now)
    later = now + timedelta(days=2)
    batch = [mail(DAVE, [ALICE], later - timedelta(hours=h)) for h in range(1, 4)]
    ingest(engine, tenant_id, batch, later)
    result = incremental_refresh(engine, tenant_id, Settings(), contacts_in_batch(batch), now=later)
    assert (result.contacts, result.accounts) == (1, 1)
    incremental = scores(engine)
    full_refresh(engine, tenant_id, Settings(), now=later)
    full = scores(engine)
    for key in [("contact", "dave@fabrikam.com"), ("account", "acc-fab")]:
        assert incremental[key] == full[key], key

"""The bot's cached who-knows answers follow opt-outs and disabled accounts at the next ask (not after expiry)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine

from analytics import health_views
from analytics.query import RelationshipQueries
from analytics.refresh import full_refresh
from analytics.settings import Settings
from analytics.store import models
from bot.storage import CachedRelationships, RefreshGenerations
from tests.analytics.builders import add_users, ext, ingest, mail, user


def test_an_opt_out_shows_at_the_next_cached_ask(engine: Engine, tenant_id: str, now: datetime) -> None:
    add_users(engine, tenant_id, "alice", "bob")
    carol = ext("carol@fabrikam.com")
    batch = [mail(user("alice"), [carol], now - timedelta(days=d)) for d in range(1, 20, 2)]
    batch += [mail(carol, [user("bob")], now - timedelta(days=3))]
    ingest(engine, tenant_id, batch, now)
    settings = Settings()
    result = full_refresh(engine, tenant_id, settings, now=now)
    assert health_views.update_after_refresh(engine, tenant_id, settings, result, previous=None, now=now).who_knows
    queries = RelationshipQueries(engine, settings)
    cached = CachedRelationships(queries, RefreshGenerations(engine, ttl=0.0))
    asked = now + timedelta(minutes=1)
    first = cached.who_knows(tenant_id, "carol@fabrikam.com", now=asked)
    assert [c.user_id for c in first.colleagues] == ["u-alice", "u-bob"] and first.computed_at == now
    computed = cached.misses
    assert cached.who_knows(tenant_id, "carol@fabrikam.com", now=asked) == first and cached.misses == computed

    with engine.begin() as conn:
        conn.execute(models.UserOptOut.__table__.insert().values(  # type: ignore[attr-defined]
            tenant_id=tenant_id, user_id="u-alice", scope="who_knows", opted_out_at=asked))
    after = cached.who_knows(tenant_id, "carol@fabrikam.com", now=asked)
    assert [c.user_id for c in after.colleagues] == ["u-bob"] and after.excluded_opted_out == 1
    assert after == queries.who_knows(tenant_id, "carol@fabrikam.com", now=asked)

    users = models.InternalUser.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.user_id == "u-bob").values(account_enabled=False))
    gone = cached.who_knows(tenant_id, "carol@fabrikam.com", now=asked)
    assert gone.colleagues == () and gone.excluded_opted_out == 1

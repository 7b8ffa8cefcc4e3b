"""Relationship answers cached per refresh generation: same answers as live, computed once, renewed by a refresh."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from analytics.query import RelationshipQueries
from analytics.refresh import full_refresh
from analytics.relationships.errors import TargetNotFound
from analytics.settings import Settings
from bot.storage import CachedRelationships, RefreshGenerations
from tests.analytics.builders import add_account, add_users, ext, ingest, mail, user

ALICE, BOB = user("alice"), user("bob")
CAROL, DAVE = ext("carol@fabrikam.com"), ext("dave@fabrikam.com")


class _Counting(RelationshipQueries):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.calls: list[str] = []

    def health_with_contacts(self, *args: Any, **kwargs: Any) -> Any:  # what health() runs too
        self.calls.append("health")
        return super().health_with_contacts(*args, **kwargs)

    def who_knows(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("who_knows")
        return super().who_knows(*args, **kwargs)


@pytest.fixture
def queries(engine: Engine, tenant_id: str, now: datetime) -> _Counting:
    add_users(engine, tenant_id, "alice", "bob")
    add_account(engine, tenant_id, "acc-fab", "Fabrikam", "fabrikam.com", owner_id="u-alice")
    batch = []
    for i in range(10):
        t = now - timedelta(days=4 * i + 1)
        batch.append(mail(ALICE, [CAROL], t, conversation=f"c{i}"))
        batch.append(mail(CAROL, [ALICE], t + timedelta(hours=3), conversation=f"c{i}"))
    batch.append(mail(BOB, [DAVE], now - timedelta(days=20)))
    ingest(engine, tenant_id, batch, now)
    return _Counting(engine, Settings())


def _cached(engine: Engine, queries: RelationshipQueries) -> tuple[CachedRelationships, list[float]]:
    clock = [0.0]
    generations = RefreshGenerations(engine, ttl=0.0, monotonic=lambda: clock[0])
    return CachedRelationships(queries, generations, monotonic=lambda: clock[0]), clock


def test_never_refreshed_tenant_is_answered_live_every_time(engine: Engine, queries: _Counting, tenant_id: str,
                                                            now: datetime) -> None:
    cached, _ = _cached(engine, queries)
    for _ in range(2):
        cached.health(tenant_id, "fabrikam.com", now=now)
    assert queries.calls == ["health", "health"]


def test_cached_answers_equal_live_ones_and_are_computed_once_per_refresh(
        engine: Engine, queries: _Counting, tenant_id: str, now: datetime) -> None:
    full_refresh(engine, tenant_id, Settings(), now=now)
    cached, clock = _cached(engine, queries)
    live = queries.health(tenant_id, "fabrikam.com", viewer_user_id="u-alice", now=now)
    queries.calls.clear()
    first = cached.health(tenant_id, "fabrikam.com", viewer_user_id="u-alice", now=now)
    again = cached.health(tenant_id, "Fabrikam.com ", viewer_user_id="u-bob", now=now)
    assert first == live
    bob = queries.health(tenant_id, "fabrikam.com", viewer_user_id="u-bob", now=now)
    assert again == bob and again.viewer_connection != first.viewer_connection  # the viewer part is per asker
    queries.calls.remove("health")
    assert again.score == first.score and again.kpis == first.kpis
    assert first.viewer_connection is not None and first.viewer_connection.user_id == "u-alice"
    assert queries.calls == ["health"]
    assert cached.who_knows(tenant_id, "carol@fabrikam.com", now=now) == queries.who_knows(
        tenant_id, "carol@fabrikam.com", now=now)
    cached.who_knows(tenant_id, "carol@fabrikam.com", now=now)
    assert queries.calls.count("who_knows") == 2  # one cached computation + the live comparison
    # A new refresh (a later generation) recomputes; so does an entry older than the maximum age.
    full_refresh(engine, tenant_id, Settings(), now=now + timedelta(hours=1))
    cached.health(tenant_id, "fabrikam.com", now=now)
    assert queries.calls.count("health") == 2
    clock[0] += 10_000
    cached.health(tenant_id, "fabrikam.com", now=now)
    assert queries.calls.count("health") == 3


def test_unknown_targets_are_not_cached(engine: Engine, queries: _Counting, tenant_id: str, now: datetime) -> None:
    full_refresh(engine, tenant_id, Settings(), now=now)
    cached, _ = _cached(engine, queries)
    for _ in range(2):
        with pytest.raises(TargetNotFound):
            cached.health(tenant_id, "nobody@nowhere.example", now=now)
    assert cached.misses == 2 and cached.hits == 0

"""Store-backed implementations of :class:`bot.ports.Directory` and :class:`bot.ports.ConversationStore`.

Queries use the store's Core tables (``models.table_of``); no table model leaves this module, callers get the
dataclasses of :mod:`bot.conversation.model`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import Engine

from analytics.query import RelationshipQueries
from analytics.store import models
from analytics.store.ids import contact_key, normalise_address
from analytics.store.ingest import dialect_insert
from analytics.store.queries_relationships import latest_health_score_at
from analytics.views import DayBreakdown, HealthView, MyRecordsView, TargetRef, WhoKnowsView
from bot.conversation.model import ConversationRecord, Principal, Role
from bot.ports import StoredPrediction

_TENANT = models.table_of(models.Tenant)
_USER = models.table_of(models.InternalUser)
_REF = models.table_of(models.ConversationRef)
_ROLLUP = models.table_of(models.InteractionRollup)
_LEAD = models.table_of(models.Lead)
_OPP = models.table_of(models.Opportunity)
_MEMBER = models.table_of(models.CrmMember)
_SCORE = models.table_of(models.Score)
T = TypeVar("T")

# Tenant.options key listing the Entra object ids of the tenant's Rapport admins (they see sync health).
ADMINS_OPTION = "admin_user_ids"
# A manager chain deeper than this is a data error (a cycle); stop rather than loop.
_MAX_DEPTH = 32


class StoreDirectory:
    """Resolves Teams users to internal users and their reporting chain from ``internal_user``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def tenant_is_active(self, tenant_id: str) -> bool:
        with self._engine.connect() as conn:
            status = conn.execute(select(_TENANT.c.status).where(_TENANT.c.tenant_id == tenant_id)).scalar()
        return status == "active"

    def principal(self, tenant_id: str, aad_object_id: str) -> Principal | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(_USER.c.user_id, _USER.c.display_name, _USER.c.email, _USER.c.time_zone,
                       _USER.c.account_enabled)
                .where(and_(_USER.c.tenant_id == tenant_id, _USER.c.user_id == aad_object_id))
            ).first()
            if row is None or not row.account_enabled:
                return None
            options = conn.execute(select(_TENANT.c.options).where(_TENANT.c.tenant_id == tenant_id)).scalar()
            visible = self._chain(conn, tenant_id, row.user_id)
        admins = (options or {}).get(ADMINS_OPTION, [])
        is_admin = isinstance(admins, list) and row.user_id in admins
        role: Role = "admin" if is_admin else ("manager" if len(visible) > 1 else "rep")
        return Principal(tenant_id=tenant_id, user_id=row.user_id, display_name=row.display_name,
                         email=row.email, role=role, visible_user_ids=frozenset(visible),
                         time_zone=row.time_zone)

    def managers(self, tenant_id: str) -> list[str]:
        """Users someone reports to (the digest's recipients), enabled ones only."""
        with self._engine.connect() as conn:
            bosses = set(conn.execute(select(_USER.c.manager_id).where(and_(
                _USER.c.tenant_id == tenant_id, _USER.c.manager_id.is_not(None)))).scalars())
            rows = conn.execute(select(_USER.c.user_id, _USER.c.account_enabled).where(and_(
                _USER.c.tenant_id == tenant_id, _USER.c.user_id.in_(sorted(bosses))))).all()
        return sorted(r.user_id for r in rows if r.account_enabled)

    @staticmethod
    def _chain(conn: Any, tenant_id: str, user_id: str) -> set[str]:
        """The user and everyone who reports to them, directly or not (breadth first, cycle-safe)."""
        seen = {user_id}
        frontier = [user_id]
        for _ in range(_MAX_DEPTH):
            if not frontier:
                break
            rows = conn.execute(
                select(_USER.c.user_id).where(and_(_USER.c.tenant_id == tenant_id,
                                                   _USER.c.manager_id.in_(frontier)))
            ).scalars().all()
            frontier = [r for r in rows if r not in seen]
            seen.update(frontier)
        return seen


class StoreConversations:
    """Conversation references in ``conversation_ref``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(self, record: ConversationRecord, *, at: datetime) -> None:
        values = {
            "tenant_id": record.tenant_id,
            "conversation_id": record.conversation_id[:512],
            "conversation_type": record.conversation_type[:16],
            "user_aad_id": record.user_aad_id,
            "service_url": record.service_url,
            "channel_id": record.channel_id[:32],
            "bot_id": record.bot_id,
            "locale": (record.locale or None) and record.locale[:16],
            "reference": record.reference,
            "updated_at": at,
        }
        with self._engine.begin() as conn:
            stmt = dialect_insert(conn, _REF).values(installed_at=at, **values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[_REF.c.tenant_id, _REF.c.conversation_id],
                set_={k: stmt.excluded[k] for k in values if k not in ("tenant_id", "conversation_id")},
            )
            conn.execute(stmt)

    def remove(self, tenant_id: str, conversation_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(_REF).where(and_(_REF.c.tenant_id == tenant_id,
                                                 _REF.c.conversation_id == conversation_id)))

    def touch_locale(self, tenant_id: str, conversation_id: str, locale: str) -> None:
        """Remember the latest locale seen in a conversation (digests use it)."""
        with self._engine.begin() as conn:
            conn.execute(update(_REF).where(and_(_REF.c.tenant_id == tenant_id,
                                                 _REF.c.conversation_id == conversation_id))
                         .values(locale=locale[:16]))

    def personal_for(self, tenant_id: str, user_aad_ids: Sequence[str]) -> list[ConversationRecord]:
        if not user_aad_ids:
            return []
        query = select(_REF).where(and_(_REF.c.tenant_id == tenant_id, _REF.c.conversation_type == "personal",
                                        _REF.c.user_aad_id.in_(list(user_aad_ids))))
        return self._records(query)

    def all_personal(self, tenant_id: str | None = None) -> list[ConversationRecord]:
        query = select(_REF).where(_REF.c.conversation_type == "personal")
        if tenant_id is not None:
            query = query.where(_REF.c.tenant_id == tenant_id)
        return self._records(query.order_by(_REF.c.tenant_id, _REF.c.conversation_id))

    def _records(self, query: Any) -> list[ConversationRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [ConversationRecord(tenant_id=r.tenant_id, conversation_id=r.conversation_id,
                                   service_url=r.service_url, conversation_type=r.conversation_type,
                                   user_aad_id=r.user_aad_id, channel_id=r.channel_id, bot_id=r.bot_id,
                                   locale=r.locale, reference=dict(r.reference or {})) for r in rows]


class StoreAccess:
    """The sharing rules, read from the store (rollups for contacts, CRM ownership and membership for records)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def may_see(self, tenant_id: str, target: TargetRef, visible: frozenset[str]) -> bool:
        if target.kind in ("account", "domain"):
            return True  # account-level aggregates are shared with every user of the tenant
        users = list(visible)
        with self._engine.connect() as conn:
            if target.kind == "contact":
                found = conn.execute(
                    select(_ROLLUP.c.user_id).where(and_(
                        _ROLLUP.c.tenant_id == tenant_id, _ROLLUP.c.contact_id == contact_key(target.key),
                        _ROLLUP.c.user_id.in_(users))).limit(1)).first()
                return found is not None
            table, key = (_LEAD, _LEAD.c.lead_id) if target.kind == "lead" else (_OPP, _OPP.c.opportunity_id)
            owner = conn.execute(select(table.c.owner_id).where(and_(table.c.tenant_id == tenant_id,
                                                                     key == target.key))).scalar()
            if owner in visible:
                return True
            emails = conn.execute(select(_USER.c.email).where(and_(_USER.c.tenant_id == tenant_id,
                                                                   _USER.c.user_id.in_(users)))).scalars().all()
            member = conn.execute(select(_MEMBER.c.address).where(and_(
                _MEMBER.c.tenant_id == tenant_id, _MEMBER.c.record_type == target.kind,
                _MEMBER.c.record_id == target.key, _MEMBER.c.side == "internal",
                _MEMBER.c.address.in_([normalise_address(e) for e in emails]))).limit(1)).first()
            return member is not None


class StoreTeamActivity:
    """Daily interactions of a set of users, summed from ``interaction_rollup`` (the digest's team chart)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def daily_activity(self, tenant_id: str, user_ids: frozenset[str], since: date, until: date
                       ) -> list[DayBreakdown]:
        from analytics.store.queries_relationships import rollups_for_users

        with self._engine.connect() as conn:
            rows = rollups_for_users(conn, tenant_id, user_ids, since=since)
        per_day: dict[date, dict[str, int]] = {}
        for r in rows:
            if r.day > until:
                continue
            counts = per_day.setdefault(r.day, {"email": 0, "meeting": 0, "call": 0})
            if r.kind in counts:
                counts[r.kind] += r.from_us + r.from_them
        return [DayBreakdown(d, c["email"], c["meeting"], c["call"]) for d, c in sorted(per_day.items())]


class StorePredictions:
    """Stored predictive scores with the flags the digest needs (likely, stuck) from ``score.details``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def stored(self, tenant_id: str, record_type: str, record_ids: Sequence[str]) -> dict[str, StoredPrediction]:
        out: dict[str, StoredPrediction] = {}
        ids = sorted(set(record_ids))
        with self._engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = conn.execute(select(_SCORE.c.record_id, _SCORE.c.value, _SCORE.c.label, _SCORE.c.details)
                                    .where(and_(_SCORE.c.tenant_id == tenant_id, _SCORE.c.score_kind == "predictive",
                                                _SCORE.c.record_type == record_type,
                                                _SCORE.c.record_id.in_(ids[start:start + 500]))))
                for r in rows:
                    details = r.details if isinstance(r.details, dict) else {}
                    out[r.record_id] = StoredPrediction(
                        r.record_id, r.value, r.label, bool(details.get("likely")), bool(details.get("stuck")),
                        str(details["stuck_reason"]) if details.get("stuck_reason") else None)
        return out


# --- Relationship answers cached per analytics refresh ---------------------------------------------------------

CACHE_ENTRIES = 20_000  # views kept (LRU), all tenants
CACHE_MAX_AGE = 300.0  # seconds a cached view is served even if no refresh happened (new syncs show within this)
GENERATION_TTL = 2.0  # seconds between reads of a tenant's refresh generation


class RefreshGenerations:
    """A tenant's analytics refresh generation: the time of its latest stored health score (None: never refreshed).

    Read at most every ``ttl`` seconds per tenant, so a refresh shows within that delay.
    """

    def __init__(self, engine: Engine, *, ttl: float = GENERATION_TTL,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._ttl = ttl
        self._monotonic = monotonic
        self._seen: dict[str, tuple[float, datetime | None]] = {}

    def of(self, tenant_id: str) -> datetime | None:
        now = self._monotonic()
        seen = self._seen.get(tenant_id)
        if seen is not None and now - seen[0] < self._ttl:
            return seen[1]
        with self._engine.connect() as conn:
            latest = latest_health_score_at(conn, tenant_id)  # incremental refreshes' scores included
        self._seen[tenant_id] = (now, latest)
        return latest


class _Lru:
    """A thread-safe LRU of values with the monotonic time they were stored."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, now: float, max_age: float) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if now - item[0] >= max_age:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: Hashable, now: float, value: Any) -> None:
        with self._lock:
            self._items[key] = (now, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class CachedRelationships:
    """:class:`analytics.query.RelationshipQueries` with answers cached per tenant refresh generation.

    A target's health (score, factors, KPIs, history) and who-knows answer are computed once per refresh
    generation (and at most :data:`CACHE_MAX_AGE` seconds ago), then served to every asker; the asker's own
    connection to the target is always read fresh (one indexed query). A tenant that was never refreshed is
    answered live every time. Concurrent askers of the same uncached target wait for one computation.
    """

    def __init__(self, queries: RelationshipQueries, generations: RefreshGenerations, *,
                 entries: int = CACHE_ENTRIES, max_age: float = CACHE_MAX_AGE,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.queries = queries
        self._generations = generations
        self._cache = _Lru(entries)
        self._max_age = max_age
        self._monotonic = monotonic
        self._inflight: dict[Hashable, threading.Lock] = {}
        self._inflight_lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        value = self._cache.get(key, self._monotonic(), self._max_age)
        if value is not None:
            self.hits += 1
            return cast(T, value)
        with self._inflight_lock:
            lock = self._inflight.setdefault(key, threading.Lock())
        try:
            with lock:  # one computation per key; the others wait for it and read the cache
                value = self._cache.get(key, self._monotonic(), self._max_age)
                if value is None:
                    self.misses += 1
                    value = compute()  # errors (target not found, …) are raised, never cached
                    self._cache.put(key, self._monotonic(), value)
                else:
                    self.hits += 1
        finally:
            with self._inflight_lock:
                if self._inflight.get(key) is lock and not lock.locked():
                    del self._inflight[key]
        return cast(T, value)

    def resolve_target(self, tenant_id: str, text: str) -> TargetRef:
        generation = self._generations.of(tenant_id)
        if generation is None:
            return self.queries.resolve_target(tenant_id, text)
        return self._cached(("resolve", tenant_id, " ".join(text.split()).lower(), generation),
                            lambda: self.queries.resolve_target(tenant_id, text))

    def health(self, tenant_id: str, target: TargetRef | str, *, viewer_user_id: str | None = None,
               now: datetime) -> HealthView:
        ref = target if isinstance(target, TargetRef) else self.resolve_target(tenant_id, target)
        generation = self._generations.of(tenant_id)
        if generation is None:
            return self.queries.health(tenant_id, ref, viewer_user_id=viewer_user_id, now=now)

        def compute() -> tuple[HealthView, tuple[int, ...]]:
            return self.queries.health_with_contacts(tenant_id, ref, now=now)

        view, contact_ids = self._cached(("health", tenant_id, ref, generation), compute)
        viewer = (self.queries.viewer_connection(tenant_id, contact_ids, viewer_user_id, now)
                  if viewer_user_id is not None else None)
        return replace(view, viewer_connection=viewer)

    def who_knows(self, tenant_id: str, target: TargetRef | str, *, now: datetime) -> WhoKnowsView:
        ref = target if isinstance(target, TargetRef) else self.resolve_target(tenant_id, target)
        generation = self._generations.of(tenant_id)
        if generation is None:
            return self.queries.who_knows(tenant_id, ref, now=now)
        # Keyed by who is left out now, too: an opt-out or a disabled account shows at the next ask, not when the
        # cached answer expires (stored answers are a read, so a new key costs little).
        left_out = self.queries.who_knows_left_out(tenant_id)
        return self._cached(("who", tenant_id, ref, generation, left_out),
                            lambda: self.queries.who_knows(tenant_id, ref, now=now))

    def my_accounts(self, tenant_id: str, user_id: str, now: datetime) -> MyRecordsView:
        return self.queries.my_accounts(tenant_id, user_id, now)

"""Users' opt-outs (table ``user_opt_out``), each change recorded as an ``audit_event`` in the same transaction.

Nothing else needs to change when a row is written or removed: every who-knows answer (live, stored views, intro
buttons, two-hop paths) reads ``user_opt_out`` at the ask (``queries_relationships.opted_out_users``), so an
opt-out leaves the user out at once, past mail included, and an opt-in brings them back just as fast. The mail
itself is still synced and still counts in relationship health: an opt-out is about what colleagues are shown.

Used by the Teams bot (a user for themself) and by ``rapport users`` (an admin for anyone).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, func, select
from sqlalchemy.engine import Engine

from analytics.errors import NotFound
from analytics.store import models
from analytics.store.ingest import dialect_insert
from analytics.store.queries_relationships import WHO_KNOWS_OPT_OUT_SCOPES

OPT_OUT = models.table_of(models.UserOptOut)
USER = models.table_of(models.InternalUser)
AUDIT = models.table_of(models.AuditEvent)

WHO_KNOWS = "who_knows"
TALKING_POINTS = "talking_points"
EVERYTHING = "all"
SCOPES = (WHO_KNOWS, TALKING_POINTS, EVERYTHING)

# The scopes whose row turns a feature off for a user. Who knows whom takes the query's own list, so what the
# answers leave out and what this module reports can never disagree.
COVERING: dict[str, tuple[str, ...]] = {
    WHO_KNOWS: tuple(WHO_KNOWS_OPT_OUT_SCOPES),
    TALKING_POINTS: (TALKING_POINTS, EVERYTHING),
    EVERYTHING: (EVERYTHING,),
}

OPT_OUT_ACTION = "privacy.opt_out"
OPT_IN_ACTION = "privacy.opt_in"


@dataclass(frozen=True, slots=True)
class UserRef:
    """An internal user, as an admin names them (by email)."""

    tenant_id: str
    user_id: str
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class OptOut:
    """One opt-out row, with the user's name and email (empty when the user is no longer in the directory)."""

    tenant_id: str
    user_id: str
    scope: str
    since: datetime
    name: str
    email: str


def check_scope(scope: str) -> str:
    """``scope`` if it is one of :data:`SCOPES`, else ValueError naming them."""
    if scope not in SCOPES:
        raise ValueError(f"unknown opt-out scope {scope!r}: expected one of {', '.join(SCOPES)}")
    return scope


def find_users(conn: Connection, email: str, tenant_id: str | None = None) -> list[UserRef]:
    """The internal users with this email address (any case), in ``tenant_id`` or in every tenant."""
    where = [func.lower(USER.c.email) == email.strip().lower()]
    if tenant_id is not None:
        where.append(USER.c.tenant_id == tenant_id)
    rows = conn.execute(select(USER.c.tenant_id, USER.c.user_id, USER.c.email, USER.c.display_name)
                        .where(and_(*where)).order_by(USER.c.tenant_id, USER.c.user_id)).all()
    return [UserRef(r.tenant_id, r.user_id, r.email, r.display_name or "") for r in rows]


def set_opt_out(conn: Connection, tenant_id: str, user_id: str, scope: str, *, now: datetime,
                actor: str) -> bool:
    """Record that the user opted out of ``scope``; True if that is new (and audited), False if they already
    were (of that scope, or of everything, which covers it): nothing is written then.

    Idempotent under concurrency too: two processes recording the same opt-out insert one row (``ON CONFLICT DO
    NOTHING``) and one audit event. NotFound if the user is not in the tenant's directory: a row for nobody
    would silently protect no one."""
    check_scope(scope)
    email = conn.execute(select(USER.c.email).where(and_(USER.c.tenant_id == tenant_id,
                                                         USER.c.user_id == user_id))).scalar_one_or_none()
    if email is None:
        raise NotFound(f"no user {user_id} in tenant {tenant_id}")
    if is_opted_out(conn, tenant_id, user_id, scope):
        return False
    inserted = conn.execute(dialect_insert(conn, OPT_OUT)
                            .values(tenant_id=tenant_id, user_id=user_id, scope=scope, opted_out_at=now)
                            .on_conflict_do_nothing(index_elements=["tenant_id", "user_id", "scope"])).rowcount
    if not inserted:
        return False
    _audit(conn, tenant_id, now, actor, OPT_OUT_ACTION, user_id, {"scope": scope, "email": email})
    return True


def clear_opt_out(conn: Connection, tenant_id: str, user_id: str, scopes: Sequence[str], *, now: datetime,
                  actor: str) -> tuple[str, ...]:
    """Remove the user's opt-outs of these scopes; the scopes that were removed (audited when any)."""
    removed = tuple(s for s in dict.fromkeys(check_scope(s) for s in scopes)
                    if conn.execute(delete(OPT_OUT).where(and_(OPT_OUT.c.tenant_id == tenant_id,
                                                               OPT_OUT.c.user_id == user_id,
                                                               OPT_OUT.c.scope == s))).rowcount)
    if removed:
        _audit(conn, tenant_id, now, actor, OPT_IN_ACTION, user_id, {"scopes": list(removed)})
    return removed


def list_opt_outs(conn: Connection, tenant_id: str | None = None, user_id: str | None = None) -> list[OptOut]:
    """Opt-outs, by tenant, user name and scope; of one tenant and / or one user when given."""
    joined = OPT_OUT.outerjoin(USER, and_(USER.c.tenant_id == OPT_OUT.c.tenant_id,
                                          USER.c.user_id == OPT_OUT.c.user_id))
    q = select(OPT_OUT.c.tenant_id, OPT_OUT.c.user_id, OPT_OUT.c.scope, OPT_OUT.c.opted_out_at,
               USER.c.display_name, USER.c.email).select_from(joined)
    if tenant_id is not None:
        q = q.where(OPT_OUT.c.tenant_id == tenant_id)
    if user_id is not None:
        q = q.where(OPT_OUT.c.user_id == user_id)
    rows = conn.execute(q).all()
    found = [OptOut(r.tenant_id, r.user_id, r.scope, r.opted_out_at, r.display_name or "", r.email or "")
             for r in rows]
    return sorted(found, key=lambda o: (o.tenant_id, o.name.lower(), o.email.lower(), o.user_id, o.scope))


def is_opted_out(conn: Connection, tenant_id: str, user_id: str, feature: str = WHO_KNOWS) -> bool:
    """Whether the user is out of ``feature`` (its own scope, or everything)."""
    scopes = COVERING[check_scope(feature)]
    found = conn.execute(select(OPT_OUT.c.scope).where(and_(
        OPT_OUT.c.tenant_id == tenant_id, OPT_OUT.c.user_id == user_id, OPT_OUT.c.scope.in_(scopes))).limit(1))
    return found.first() is not None


class OptOuts:
    """The functions above over an engine, one transaction per call (the bot's store-backed privacy port)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def opt_out(self, tenant_id: str, user_id: str, scope: str, *, now: datetime, actor: str) -> bool:
        with self._engine.begin() as conn:
            return set_opt_out(conn, tenant_id, user_id, scope, now=now, actor=actor)

    def opt_in(self, tenant_id: str, user_id: str, scopes: Sequence[str], *, now: datetime,
               actor: str) -> tuple[str, ...]:
        with self._engine.begin() as conn:
            return clear_opt_out(conn, tenant_id, user_id, scopes, now=now, actor=actor)

    def opt_outs_of(self, tenant_id: str, user_id: str) -> list[OptOut]:
        with self._engine.connect() as conn:
            return list_opt_outs(conn, tenant_id, user_id)


def _audit(conn: Connection, tenant_id: str, now: datetime, actor: str, action: str, target: str,
           details: dict[str, object]) -> None:
    # A random id: opting out, in and out again within one clock tick must still leave three rows.
    conn.execute(AUDIT.insert().values(tenant_id=tenant_id, event_id=f"privacy-{uuid.uuid4().hex}", at=now,
                                       actor=actor[:128], action=action, target=target, details=details))

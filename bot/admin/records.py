"""Recording a confirmed consent: the ``tenant`` row and a ``consent_record`` keyed by the state's nonce.

Both are written in one transaction, after checking that the nonce was never recorded, so a callback either
records everything or nothing. The nonce check spans every tenant (a replayed state cannot be reused for a
different ``tenant`` either); the primary key ``(tenant_id, consent_id)`` also stops two concurrent callbacks
with the same state and tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from analytics.store import models
from analytics.store.ingest import dialect_insert
from bot.admin.errors import ReplayedState
from bot.admin.grant import AppIdentity

_TENANT = models.table_of(models.Tenant)
_CONSENT = models.table_of(models.ConsentRecord)


@dataclass(frozen=True, slots=True)
class RecordedConsent:
    """What the callback recorded."""

    tenant_id: str
    nonce: str
    scopes: tuple[str, ...]
    new_tenant: bool


def nonce_used(engine: Engine, nonce: str) -> bool:
    """Whether a consent was already recorded with this state nonce (for any tenant)."""
    with engine.connect() as conn:
        return _nonce_used(conn, nonce)


def _nonce_used(conn: Connection, nonce: str) -> bool:
    return conn.execute(select(_CONSENT.c.consent_id).where(_CONSENT.c.consent_id == nonce).limit(1)).first() \
        is not None


def record_consent(engine: Engine, *, tenant_id: str, nonce: str, scopes: Sequence[str], app: AppIdentity,
                   subject_policy: str, now: datetime) -> RecordedConsent:
    """Insert or re-activate the tenant with the deployment's Graph app, and the consent record; all or nothing.

    A tenant that consents again (e.g. after permissions were added) keeps its name, options and subject
    policy; its credentials, endpoints, granted scopes and ``consented_at`` are updated.
    """
    granted = sorted(set(scopes))
    try:
        with engine.begin() as conn:
            if _nonce_used(conn, nonce):
                raise ReplayedState(nonce)
            existing = conn.execute(select(_TENANT.c.tenant_id).where(_TENANT.c.tenant_id == tenant_id)).first()
            credentials: dict[str, Any] = {
                "status": "active", "client_id": app.client_id, "auth_kind": app.auth_kind,
                "client_secret": None if app.certificate_path else app.client_secret,
                "certificate_path": app.certificate_path or None,
                "graph_base_url": app.graph_base_url.rstrip("/"), "authority": app.authority.rstrip("/"),
                "granted_scopes": granted, "consented_at": now,
            }
            if existing is None:
                conn.execute(dialect_insert(conn, _TENANT).values(
                    tenant_id=tenant_id, display_name="", subject_policy=subject_policy, options={},
                    created_at=now, **credentials))
            else:
                conn.execute(update(_TENANT).where(_TENANT.c.tenant_id == tenant_id).values(**credentials))
            conn.execute(_CONSENT.insert().values(tenant_id=tenant_id, consent_id=nonce, granted_at=now,
                                                  scopes=granted, admin=None))
    except IntegrityError as err:  # a concurrent callback with the same state won the race
        raise ReplayedState(nonce) from err
    return RecordedConsent(tenant_id, nonce, tuple(granted), existing is None)

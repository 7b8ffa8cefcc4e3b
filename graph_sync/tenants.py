"""Tenants the sync serves: the ``tenant`` table, read and written as :class:`TenantConfig` records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.engine import Engine

from analytics.store import models
from analytics.store.ingest import dialect_insert
from graph_sync.auth import TenantCredentials

TENANT = models.table_of(models.Tenant)
DEFAULT_GRAPH = "https://graph.microsoft.com/v1.0"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"


@dataclass(frozen=True)
class TenantConfig:
    """One tenant's sync configuration (the secret is kept out of ``repr``)."""

    tenant_id: str
    display_name: str
    status: str
    subject_policy: str
    client_id: str
    auth_kind: str
    graph_base_url: str
    authority: str
    granted_scopes: tuple[str, ...]
    certificate_path: str | None = None
    client_secret: str | None = None

    def __repr__(self) -> str:
        return f"TenantConfig({self.tenant_id!r}, {self.display_name!r}, auth={self.auth_kind})"

    @property
    def credentials(self) -> TenantCredentials:
        return TenantCredentials(self.tenant_id, self.client_id, self.auth_kind, self.client_secret,
                                 self.certificate_path, self.authority)

    def has_scope(self, *scopes: str) -> bool | None:
        """Whether one of ``scopes`` was granted; ``None`` when the grant is not recorded (then we try)."""
        if not self.granted_scopes:
            return None
        return any(s in self.granted_scopes for s in scopes)


def add_tenant(
    engine: Engine,
    *,
    tenant_id: str,
    client_id: str,
    now: datetime,
    client_secret: str | None = None,
    certificate_path: str | None = None,
    graph_base_url: str | None = None,
    authority: str | None = None,
    display_name: str = "",
    subject_policy: str = "hash",
    granted_scopes: Sequence[str] = (),
    emulator: bool = False,
) -> TenantConfig:
    """Insert or update a tenant. Exactly one of a secret and a certificate path is required."""
    if bool(client_secret) == bool(certificate_path):
        raise ValueError("give exactly one of a client secret and a certificate path")
    kind = "certificate" if certificate_path else ("emulator" if emulator else "secret")
    row: dict[str, Any] = {
        "tenant_id": tenant_id, "display_name": display_name, "status": "active",
        "subject_policy": subject_policy, "client_id": client_id, "auth_kind": kind,
        "client_secret": client_secret, "certificate_path": certificate_path,
        "graph_base_url": (graph_base_url or DEFAULT_GRAPH).rstrip("/"),
        "authority": (authority or DEFAULT_AUTHORITY).rstrip("/"),
        "granted_scopes": list(granted_scopes), "options": {}, "created_at": now,
    }
    with engine.begin() as conn:
        ins = dialect_insert(conn, TENANT)
        update = {k: ins.excluded[k] for k in row if k not in ("tenant_id", "created_at", "options")}
        conn.execute(ins.on_conflict_do_update(index_elements=["tenant_id"], set_=update), [row])
        return _load(conn, tenant_id)[0]


def list_tenants(engine: Engine, *, active_only: bool = False) -> list[TenantConfig]:
    """Every tenant (or only the active ones), ordered by id."""
    with engine.connect() as conn:
        return _load(conn, None, active_only=active_only)


def _load(conn: Connection, tenant_id: str | None, *, active_only: bool = False) -> list[TenantConfig]:
    q = select(TENANT).order_by(TENANT.c.tenant_id)
    if tenant_id is not None:
        q = q.where(TENANT.c.tenant_id == tenant_id)
    if active_only:
        q = q.where(TENANT.c.status == "active")
    return [
        TenantConfig(
            tenant_id=r["tenant_id"], display_name=r["display_name"], status=r["status"],
            subject_policy=r["subject_policy"], client_id=r["client_id"], auth_kind=r["auth_kind"],
            graph_base_url=r["graph_base_url"], authority=r["authority"],
            granted_scopes=tuple(r["granted_scopes"] or ()), certificate_path=r["certificate_path"],
            client_secret=r["client_secret"],
        )
        for r in conn.execute(q).mappings()
    ]

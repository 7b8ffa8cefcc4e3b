"""The tenant's directory: verified domains, users (which mailboxes to sync) and the manager chain.

Users come from ``GET /users`` (paged, ``$select``); managers, and mailbox purposes that the user list does not
carry, come through JSON ``$batch`` (20 sub-requests per POST, each throttled on its own and retried here).
The result is written to ``tenant_domain`` and ``internal_user`` and returned as a
:class:`~graph_sync.normalise.Directory` plus the mailboxes to sync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Engine

from analytics.settings import Settings
from analytics.store import models
from analytics.store.ids import normalise_address
from analytics.store.ingest import dialect_insert
from graph_sync.client import GraphClient
from graph_sync.errors import Throttled
from graph_sync.normalise import Directory, Mailbox, _bool, _str

log = logging.getLogger(__name__)
USER = models.table_of(models.InternalUser)
DOMAIN = models.table_of(models.TenantDomain)
BATCH_SIZE = 20
MAX_BATCH_ROUNDS = 6


@dataclass(frozen=True)
class DirectoryUser:
    """A user of the tenant as the sync needs it."""

    user_id: str
    email: str
    display_name: str
    account_enabled: bool
    purpose: str  # user | shared | room | equipment | unknown
    job_title: str | None
    department: str | None
    time_zone: str | None
    manager_id: str | None = None
    upn: str = ""


@dataclass(frozen=True)
class DirectorySnapshot:
    directory: Directory
    users: tuple[DirectoryUser, ...]
    mailboxes: tuple[Mailbox, ...]  # users whose mailboxes are synced


def _user_of(item: Mapping[str, Any]) -> DirectoryUser | None:
    uid = _str(item.get("id"))
    if uid is None:
        return None
    email = _str(item.get("mail")) or _str(item.get("userPrincipalName")) or ""
    settings = item.get("mailboxSettings")
    purpose, tz = "unknown", None
    if isinstance(settings, Mapping):
        purpose = _str(settings.get("userPurpose")) or "unknown"
        tz = _str(settings.get("timeZone"))
    enabled = item.get("accountEnabled")
    return DirectoryUser(uid, email, _str(item.get("displayName")) or "",
                         True if enabled is None else _bool(enabled), purpose,
                         _str(item.get("jobTitle")), _str(item.get("department")), tz,
                         upn=_str(item.get("userPrincipalName")) or "")


def should_sync(user: DirectoryUser, settings: Settings) -> bool:
    """Whether a user's mailbox is synced, by the ``sync_skip_*`` settings."""
    if not user.email:
        return False
    if settings.sync_skip_disabled and not user.account_enabled:
        return False
    if settings.sync_skip_shared and user.purpose == "shared":
        return False
    return not (settings.sync_skip_rooms and user.purpose in ("room", "equipment"))


async def _all_pages(client: GraphClient, *urls: str) -> list[list[Mapping[str, Any]]]:
    """Several collections at once; all are read to the end before a failure of one is raised (no request is
    left running behind the caller's back)."""
    got: list[Any] = await asyncio.gather(*(client.get_collection(u) for u in urls), return_exceptions=True)
    for answer in got:
        if isinstance(answer, BaseException):
            raise answer
    return got


async def _batch_get(client: GraphClient, paths: Mapping[str, str]) -> dict[str, tuple[int, Any]]:
    """GET many relative paths through ``$batch``; retries throttled sub-requests. Returns id → (status, body)."""
    pending = dict(paths)
    results: dict[str, tuple[int, Any]] = {}
    for _ in range(MAX_BATCH_ROUNDS):
        if not pending:
            break
        retry: dict[str, str] = {}
        keys = list(pending)
        chunks = [keys[i:i + BATCH_SIZE] for i in range(0, len(keys), BATCH_SIZE)]
        # The batches go out concurrently (the worker's global limit still applies to each POST).
        answers = await asyncio.gather(*(client.get_json(client.batch_url(), body={
            "requests": [{"id": k, "method": "GET", "url": pending[k]} for k in chunk]}) for chunk in chunks))
        for chunk, answer in zip(chunks, answers, strict=True):
            responses = answer.get("responses", []) if isinstance(answer, Mapping) else []
            seen = set()
            for r in responses if isinstance(responses, list) else []:
                if not isinstance(r, Mapping) or str(r.get("id")) not in pending:
                    continue
                rid, status = str(r.get("id")), int(r.get("status") or 0)
                seen.add(rid)
                if status in (429, 503, 504):
                    retry[rid] = pending[rid]
                else:
                    results[rid] = (status, r.get("body"))
            retry.update({k: pending[k] for k in chunk if k not in seen and k not in results})
        pending = retry
    if pending:
        raise Throttled(429, "batchThrottled", f"{len(pending)} sub-requests still throttled", client.batch_url(),
                        retry_after=60.0)
    return results


async def fetch_directory(client: GraphClient, tenant_id: str, settings: Settings) -> DirectorySnapshot:
    """Read domains, users, mailbox purposes and managers from Graph."""
    # Domains and users do not depend on each other: one round trip for both.
    domains, user_items = await _all_pages(client, client.domains_url(), client.users_url())
    verified = frozenset(str(d["id"]).lower() for d in domains
                         if isinstance(d.get("id"), str) and _bool(d.get("isVerified")))
    users = [u for u in (_user_of(i) for i in user_items) if u is not None]

    paths = {f"m:{u.user_id}": f"/users/{u.user_id}/manager?$select=id" for u in users}
    paths.update({f"s:{u.user_id}": f"/users/{u.user_id}/mailboxSettings" for u in users if u.purpose == "unknown"})
    answers = await _batch_get(client, paths)
    resolved: list[DirectoryUser] = []
    for u in users:
        status, body = answers.get(f"m:{u.user_id}", (404, None))
        manager = _str(body.get("id")) if status == 200 and isinstance(body, Mapping) else None
        purpose, tz = u.purpose, u.time_zone
        if f"s:{u.user_id}" in answers:
            s_status, s_body = answers[f"s:{u.user_id}"]
            if s_status == 200 and isinstance(s_body, Mapping):
                purpose = _str(s_body.get("userPurpose")) or "user"
                tz = _str(s_body.get("timeZone"))
            else:
                purpose = "user"
        resolved.append(DirectoryUser(u.user_id, u.email, u.display_name, u.account_enabled, purpose,
                                      u.job_title, u.department, tz, manager, u.upn))
    by_address: dict[str, str] = {}
    for u in resolved:
        for addr in (u.email, u.upn):
            if addr:
                by_address[normalise_address(addr)] = u.user_id
    directory = Directory(tenant_id, verified, by_address)
    mailboxes = tuple(Mailbox(u.user_id, u.email) for u in resolved if should_sync(u, settings))
    return DirectorySnapshot(directory, tuple(resolved), mailboxes)


def store_directory(engine: Engine, snapshot: DirectorySnapshot, now: datetime) -> None:
    """Replace the tenant's domains and upsert its users, in one transaction."""
    tid = snapshot.directory.tenant_id
    with engine.begin() as conn:
        # Several workers store the same snapshot at once: delete only what is gone and insert only what is new
        # (a delete-all then insert-all lets two transactions insert the same rows: a unique violation).
        domains = sorted(snapshot.directory.internal_domains)
        conn.execute(delete(DOMAIN).where(DOMAIN.c.tenant_id == tid, DOMAIN.c.domain.not_in(domains)))
        if domains:
            conn.execute(dialect_insert(conn, DOMAIN).on_conflict_do_nothing(index_elements=["tenant_id", "domain"]),
                         [{"tenant_id": tid, "domain": d, "is_default": False} for d in domains])
        rows = [{
            "tenant_id": tid, "user_id": u.user_id, "email": normalise_address(u.email), "display_name": u.display_name,
            "manager_id": u.manager_id, "department": u.department, "job_title": u.job_title,
            "mailbox_kind": u.purpose if u.purpose in ("user", "shared", "room", "equipment") else "user",
            "account_enabled": u.account_enabled, "time_zone": u.time_zone, "updated_at": now,
        } for u in snapshot.users]
        if rows:
            ins = dialect_insert(conn, USER)
            keep = ("tenant_id", "user_id")
            conn.execute(ins.on_conflict_do_update(
                index_elements=["tenant_id", "user_id"],
                set_={k: ins.excluded[k] for k in rows[0] if k not in keep}), rows)

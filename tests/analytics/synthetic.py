"""Load a generated synthetic tenant (``generate_tenant``) into the store, for ground-truth tests and benchmarks.

This is a test-side stand-in for the sync worker: it reads the tenant directory's Graph JSON (users, domains,
per-mailbox mail and calendar JSONL) and the CRM CSVs, turns each item into an :class:`ActivityIn` and ingests
them in batches with the store's own ``ingest_activities``. Only what relationship analytics needs is read.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from analytics.relationships.who_knows import is_automated_address
from analytics.store import models
from analytics.store.ids import contact_key, domain_of
from analytics.store.ingest import dialect_insert, ingest_activities
from analytics.store.records import ActivityIn, ParticipantIn

KEY = "synthetic-tenant-key"


def parse_time(value: str) -> datetime:
    """Graph instants ("…Z") and event times ("2026-05-08T06:30:00.0000000" in UTC)."""
    text = value.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Directory:
    tenant_id: str
    domains: frozenset[str]
    users: dict[str, str]  # address -> user id
    bulk: frozenset[str]

    def person(self, address: str, name: str, role: str) -> ParticipantIn:
        address = address.lower()
        if domain_of(address) in self.domains:
            return ParticipantIn(address, role, "internal", name, user_id=self.users.get(address))  # type: ignore[arg-type]
        return ParticipantIn(address, role, "external", name)  # type: ignore[arg-type]


def _addr(obj: Any) -> tuple[str, str] | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("emailAddress"), dict):
        return None
    e = obj["emailAddress"]
    return (str(e.get("address") or ""), str(e.get("name") or "")) if e.get("address") else None


def mail_activity(item: dict[str, Any], mailbox: str, d: Directory) -> ActivityIn:
    sender = _addr(item.get("from"))
    parts = [d.person(*sender, "from")] if sender else []
    for role, key in (("to", "toRecipients"), ("cc", "ccRecipients"), ("bcc", "bccRecipients")):
        parts += [d.person(*a, role) for r in item.get(key) or [] if (a := _addr(r))]
    sender_address = sender[0].lower() if sender else ""
    internal_sender = bool(parts) and parts[0].side == "internal"
    subject = item.get("subject") or ""
    is_reply = subject.lower().startswith(("re:", "回复:"))
    return ActivityIn(
        mailbox_id=mailbox, resource="messages", source_id=item["id"], kind="email",
        start_at=parse_time(item.get("sentDateTime") or item["receivedDateTime"]),
        direction="outbound" if internal_sender else "inbound", participants=tuple(parts),
        internet_message_id=item.get("internetMessageId"), conversation_id=item.get("conversationId"),
        initiator_side=None if is_reply else ("us" if internal_sender else "them"), is_reply=is_reply,
        is_bulk=sender_address in d.bulk or is_automated_address(sender_address), subject=subject,
        folder_id=item.get("parentFolderId"))


def event_activity(item: dict[str, Any], mailbox: str, d: Directory) -> ActivityIn:
    organizer = _addr(item.get("organizer"))
    parts = [d.person(*organizer, "organizer")] if organizer else []
    for a in item.get("attendees") or []:
        addr = _addr(a)
        if addr and a.get("type") != "resource" and (not organizer or addr[0].lower() != organizer[0].lower()):
            parts.append(d.person(*addr, "attendee"))
    start = parse_time(item["start"]["dateTime"])
    end = parse_time(item["end"]["dateTime"])
    ours = bool(parts) and parts[0].side == "internal"
    return ActivityIn(
        mailbox_id=mailbox, resource="events", source_id=item["id"], kind="meeting", start_at=start, end_at=end,
        duration_minutes=(end - start).total_seconds() / 60, direction="outbound" if ours else "inbound",
        participants=tuple(parts), ical_uid=item.get("iCalUId"), initiator_side="us" if ours else "them",
        is_cancelled=bool(item.get("isCancelled")), subject=item.get("subject"))


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def activities(tenant_dir: Path, d: Directory) -> Iterator[ActivityIn]:
    """Every mailbox copy of every mail and event of the tenant directory, one mailbox after another."""
    for path in sorted((tenant_dir / "mail").glob("*.jsonl")):
        for item in _jsonl(path):
            yield mail_activity(item, path.stem, d)
    for path in sorted((tenant_dir / "events").glob("*.jsonl")):
        for item in _jsonl(path):
            yield event_activity(item, path.stem, d)


def directory(tenant_dir: Path) -> Directory:
    truth = json.loads((tenant_dir / "ground_truth.json").read_text(encoding="utf-8"))
    domains = frozenset(r["id"].lower() for r in _jsonl(tenant_dir / "domains.jsonl"))
    users = {r["mail"].lower(): r["id"] for r in _jsonl(tenant_dir / "users.jsonl")}
    return Directory(truth["tenant"]["id"], domains, users, frozenset(a.lower() for a in truth["bulk_senders"]))


def load_directory_rows(engine: Engine, tenant_dir: Path, d: Directory, now: datetime) -> None:
    """Tenant, domains, users, CRM accounts (with their domains) and contacts' explicit account links."""
    users = list(_jsonl(tenant_dir / "users.jsonl"))
    with open(tenant_dir / "crm" / "accounts.csv", encoding="utf-8") as f:
        accounts = list(csv.DictReader(f))
    with open(tenant_dir / "crm" / "contacts.csv", encoding="utf-8") as f:
        contacts = list(csv.DictReader(f))
    with engine.begin() as conn:
        conn.execute(models.Tenant.__table__.insert().values(
            tenant_id=d.tenant_id, display_name="Synthetic", created_at=now, granted_scopes=[], options={}))
        conn.execute(models.TenantDomain.__table__.insert(), [
            {"tenant_id": d.tenant_id, "domain": dom, "is_default": False} for dom in sorted(d.domains)])
        conn.execute(models.InternalUser.__table__.insert(), [
            {"tenant_id": d.tenant_id, "user_id": u["id"], "email": u["mail"].lower(),
             "display_name": u["displayName"], "account_enabled": u.get("accountEnabled", True),
             "mailbox_kind": (u.get("mailboxSettings") or {}).get("userPurpose", "user")} for u in users])
        conn.execute(models.Account.__table__.insert(), [
            {"tenant_id": d.tenant_id, "account_id": a["account_id"], "name": a["name"], "source": "crm",
             "owner_id": d.users.get(a["owner_email"].lower()), "fields": {}} for a in accounts])
        domain_rows = {a["domain"].lower(): a["account_id"] for a in accounts}
        conn.execute(models.AccountDomain.__table__.insert(), [
            {"tenant_id": d.tenant_id, "domain": dom, "account_id": acc} for dom, acc in sorted(domain_rows.items())])
        stmt = dialect_insert(conn, models.table_of(models.Contact)).on_conflict_do_nothing(
            index_elements=["tenant_id", "contact_id"])
        conn.execute(stmt, [
            {"tenant_id": d.tenant_id, "contact_id": contact_key(c["email"]), "email": c["email"].lower(),
             "domain": domain_of(c["email"]), "display_name": c["name"], "account_id": c["account_id"],
             "sender_class": "person", "fields": {}} for c in contacts])


def load_tenant(engine: Engine, tenant_dir: Path, *, now: datetime, batch_size: int = 5000,
                limit: int | None = None) -> tuple[str, dict[str, Any]]:
    """Load ``tenant_dir`` into the store; returns the tenant id and the parsed ground truth."""
    d = directory(tenant_dir)
    load_directory_rows(engine, tenant_dir, d, now)
    batch: list[ActivityIn] = []
    for seen, a in enumerate(activities(tenant_dir, d), start=1):
        batch.append(a)
        if len(batch) >= batch_size:
            _ingest(engine, d.tenant_id, batch, now)
            batch = []
        if limit is not None and seen >= limit:
            break
    _ingest(engine, d.tenant_id, batch, now)
    if engine.dialect.name == "postgresql":
        # Planner statistics for the freshly loaded tables, as autovacuum gathers them a minute after a bulk
        # sync: without them PostgreSQL plans the per-contact reads as scans (≈190 ms instead of ≈7 ms each on
        # the small tenant), which made the tests that compare many live answers take minutes.
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    truth = json.loads((tenant_dir / "ground_truth.json").read_text(encoding="utf-8"))
    return d.tenant_id, truth


def _ingest(engine: Engine, tenant_id: str, batch: list[ActivityIn], now: datetime) -> None:
    if batch:
        with engine.begin() as conn:
            ingest_activities(conn, tenant_id, batch, now=now, subject_key=KEY, subject_policy="drop")

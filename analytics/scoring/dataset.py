"""Read leads and opportunities (with their contact, account and stage history) from the store as records."""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from analytics.scoring.mapping import RecordType
from analytics.scoring.records import ScoringRecord
from analytics.store import models

LEAD = models.table_of(models.Lead)
OPP = models.table_of(models.Opportunity)
STAGE = models.table_of(models.OpportunityStage)
MEMBER = models.table_of(models.CrmMember)
CONTACT = models.table_of(models.Contact)
ACCOUNT = models.table_of(models.Account)

LABELS: dict[str, dict[str, int | None]] = {
    "lead": {"qualified": 1, "disqualified": 0, "open": None},
    "opportunity": {"won": 1, "lost": 0, "open": None},
}


def _by_key(conn: Connection, table: Any, key: Any, tenant_id: str, keys: Collection[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    items = list(keys)
    for start in range(0, len(items), 500):
        for row in conn.execute(select(table).where(table.c.tenant_id == tenant_id,
                                                    key.in_(items[start:start + 500]))):
            out[getattr(row, key.name)] = row
    return out


def _finite(doc: dict[str, Any] | None) -> dict[str, Any]:
    """A fields document without NaN or infinite numbers (older imports accepted "NaN" and "inf" as numbers;
    they are missing values, and an infinity would stop training)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in (doc or {}).items()}


def load_records(conn: Connection, tenant_id: str, record_type: RecordType,
                 record_ids: Collection[str] | None = None) -> list[ScoringRecord]:
    """Every lead or opportunity of the tenant (or those named), as :class:`ScoringRecord` without KPIs."""
    table: Any = LEAD if record_type == "lead" else OPP
    key: Any = LEAD.c.lead_id if record_type == "lead" else OPP.c.opportunity_id
    query = select(table).where(table.c.tenant_id == tenant_id)
    rows: list[Any]
    if record_ids is None:
        rows = [*conn.execute(query)]
    else:
        rows = [*_by_key(conn, table, key, tenant_id, record_ids).values()]
    ids = [getattr(r, key.name) for r in rows]
    emails: dict[str, str] = {}
    if record_type == "lead":
        emails = {r.lead_id: r.contact_email for r in rows if r.contact_email}
    else:
        for start in range(0, len(ids), 500):
            for m in conn.execute(select(MEMBER.c.record_id, MEMBER.c.address).where(
                    MEMBER.c.tenant_id == tenant_id, MEMBER.c.record_type == record_type,
                    MEMBER.c.role == "stakeholder", MEMBER.c.record_id.in_(ids[start:start + 500]))
                    .order_by(MEMBER.c.address)):
                emails.setdefault(m.record_id, m.address)
    contacts = _by_key(conn, CONTACT, CONTACT.c.email, tenant_id, set(emails.values()))
    accounts = _by_key(conn, ACCOUNT, ACCOUNT.c.account_id, tenant_id, {r.account_id for r in rows if r.account_id})
    history: dict[str, list[Any]] = {}
    if record_type == "opportunity":
        for start in range(0, len(ids), 500):
            for s in conn.execute(select(STAGE).where(STAGE.c.tenant_id == tenant_id,
                                                      STAGE.c.opportunity_id.in_(ids[start:start + 500]))
                                  .order_by(STAGE.c.opportunity_id, STAGE.c.seq)):
                history.setdefault(s.opportunity_id, []).append((s.stage, s.entered_at))
    out = []
    for r in rows:
        rid = getattr(r, key.name)
        email = emails.get(rid)
        contact = contacts.get(email) if email else None
        account = accounts.get(r.account_id) if r.account_id else None
        amount = getattr(r, "amount", None)
        out.append(ScoringRecord(
            record_id=rid, created_at=r.created_at, label=LABELS[record_type].get(r.status),
            closed_at=r.closed_at, owner=r.owner_id,
            amount=amount if amount is None or math.isfinite(amount) else None,
            stage=getattr(r, "stage", None), fields=_finite(r.fields), contact_email=email,
            contact_name=contact.display_name if contact is not None and contact.display_name else None,
            contact_fields=_finite(contact.fields) if contact is not None else {},
            account_fields=_finite(account.fields) if account is not None else {},
            stage_history=tuple(history.get(rid, ())),
        ))
    out.sort(key=lambda rec: rec.record_id)
    return out

"""Recompute stored health scores from the rollups: everything (``rapport analytics refresh``) or incrementally.

The sync keeps ``interaction_rollup`` exact in the ingest transaction, so scores never need the raw activities:

* :func:`full_refresh` lets the database sum the rollups per contact, day and kind over the scoring horizon (one
  ``GROUP BY``), derives accounts by adding their contacts' days, reads per-user rows only for leads and
  opportunities (whose scope is their owner and team), scores every record and writes ``score`` and
  ``score_history`` in one transaction.
* :func:`incremental_refresh` does the same for the records a batch touched: the batch's contacts, their
  accounts (all of those accounts' contacts) and the leads and opportunities they are on.
  :func:`contacts_in_batch` gives the contacts of an ingest batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from analytics.query import CLOSED_LEAD, CLOSED_OPPORTUNITY, daily_counts
from analytics.relationships import health as health_math
from analytics.relationships.config import HealthConfig, health_config
from analytics.relationships.who_knows import is_automated
from analytics.settings import Settings
from analytics.store import queries_relationships as q
from analytics.store.ids import contact_key
from analytics.store.records import ActivityIn


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """How many records of each type were scored."""

    contacts: int = 0
    accounts: int = 0
    leads: int = 0
    opportunities: int = 0

    @property
    def total(self) -> int:
        return self.contacts + self.accounts + self.leads + self.opportunities


def contacts_in_batch(batch: Iterable[ActivityIn]) -> set[int]:
    """The contact ids of the external people on an ingest batch (what :func:`incremental_refresh` takes)."""
    return {contact_key(p.address) for a in batch for p in a.participants if p.side == "external"}


def _score_row(record_type: str, record_id: str, result: health_math.HealthResult) -> q.ScoreRow:
    details: dict[str, Any] = {
        "previous": result.previous_score,
        "factors": [{"name": f.name, "value": round(f.value, 4), "weight": round(f.weight, 4),
                     "points": round(f.points, 1), "change": result.changes.get(f.name)} for f in result.factors],
    }
    return q.ScoreRow(record_type, record_id, result.score, result.state, result.trend, details)


def _closed_row(record_type: str, record_id: str) -> q.ScoreRow:
    return q.ScoreRow(record_type, record_id, None, "Not computed", None, {"reason": "closed"})


def _to_days(rows: Iterable[tuple[int, date, str, int, int]]) -> dict[int, list[health_math.DayCount]]:
    out: dict[int, list[health_math.DayCount]] = defaultdict(list)
    day_count = health_math.DayCount
    for contact_id, day, kind, us, them in rows:
        out[contact_id].append(day_count(day, kind, us, them))
    return out


def _merge(parts: Iterable[Sequence[health_math.DayCount]]) -> list[health_math.DayCount]:
    acc: dict[tuple[date, str], list[int]] = {}
    for days in parts:
        for d in days:
            a = acc.setdefault((d.day, d.kind), [0, 0])
            a[0] += d.from_us
            a[1] += d.from_them
    return [health_math.DayCount(d, k, us, them) for (d, k), (us, them) in acc.items()]


class _Scorer:
    """Scores records of one tenant as of one day, from per-contact days."""

    def __init__(self, conn: Connection, tenant_id: str, config: HealthConfig, now: datetime) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self.config = config
        self.as_of = now.date()
        self.since = self.as_of - timedelta(days=health_math.history_days_needed(config))
        self.rows: list[q.ScoreRow] = []

    def score(self, record_type: str, record_id: str, days: Sequence[health_math.DayCount]) -> None:
        result = health_math.evaluate(days, self.as_of, self.config, record_type)
        self.rows.append(_score_row(record_type, record_id, result))

    def contacts(self, contacts: Iterable[q.ContactRow], per_contact: Mapping[int, list[Any]]) -> int:
        """Score each (non-automated) contact that has data."""
        scored = 0
        for c in contacts:
            days = per_contact.get(c.contact_id)
            if days is not None and not is_automated(c):
                self.score("contact", c.email, days)
                scored += 1
        return scored

    def accounts(self, contacts: Iterable[q.ContactRow], per_contact: Mapping[int, list[Any]],
                 account_of: Mapping[str, str], only: Collection[str] | None = None) -> int:
        """Score accounts from the sum of their contacts' days (those with data, or every one in ``only``)."""
        by_account: dict[str, list[list[health_math.DayCount]]] = {a: [] for a in only or ()}
        for c in contacts:
            account_id = c.account_id or account_of.get(c.domain)
            if account_id is None or (only is not None and account_id not in by_account):
                continue
            if c.contact_id in per_contact and not is_automated(c):
                by_account.setdefault(account_id, []).append(per_contact[c.contact_id])
        for account_id, parts in by_account.items():
            self.score("account", account_id, _merge(parts))
        return len(by_account)

    def crm_records(self, records: Sequence[q.CrmRecordRow]) -> tuple[int, int]:
        """Score leads and opportunities from their own people's rollups (closed ones: not computed)."""
        scopes: list[tuple[q.CrmRecordRow, list[int], frozenset[str] | None]] = []
        emails: set[str] = set()
        for rec in records:
            emails.update(rec.external_addresses)
            if rec.contact_email:
                emails.add(rec.contact_email.lower())
        by_email = {c.email: c for c in q.contacts_by_emails(self.conn, self.tenant_id, emails)}
        internal = {a for rec in records for a in rec.internal_addresses}
        user_of = q.user_ids_by_email(self.conn, self.tenant_id, internal)
        for rec in records:
            mine = set(rec.external_addresses) | ({rec.contact_email.lower()} if rec.contact_email else set())
            ids = [by_email[e].contact_id for e in sorted(mine) if e in by_email]
            team = {user_of[a] for a in rec.internal_addresses if a in user_of}
            if rec.owner_id:
                team.add(rec.owner_id)
            scopes.append((rec, ids, frozenset(team) if team else None))
        needed = sorted({cid for _, ids, _ in scopes for cid in ids})
        rows = q.rollups_for_contacts(self.conn, self.tenant_id, needed, since=self.since, until=self.as_of)
        per_contact: dict[int, list[q.RollupRow]] = defaultdict(list)
        for r in rows:
            per_contact[r.contact_id].append(r)
        counts = {"lead": 0, "opportunity": 0}
        for rec, ids, users in scopes:
            counts[rec.record_type] += 1
            closed = CLOSED_LEAD if rec.record_type == "lead" else CLOSED_OPPORTUNITY
            if rec.status in closed:
                self.rows.append(_closed_row(rec.record_type, rec.record_id))
                continue
            days = daily_counts((r for cid in ids for r in per_contact.get(cid, ())), users)
            self.score(rec.record_type, rec.record_id, days)
        return counts["lead"], counts["opportunity"]


def _config(conn: Connection, tenant_id: str, settings: Settings) -> HealthConfig:
    return health_config(q.tenant_options(conn, tenant_id), window_days=settings.analytics_window_days)


def full_refresh(engine: Engine, tenant_id: str, settings: Settings, *, now: datetime) -> RefreshResult:
    """Recompute and store the health of every contact, account, lead and opportunity of the tenant."""
    with engine.begin() as conn:
        scorer = _Scorer(conn, tenant_id, _config(conn, tenant_id, settings), now)
        per_contact = _to_days(q.daily_per_contact(conn, tenant_id, since=scorer.since))
        contacts = [c for c in q.all_contacts(conn, tenant_id) if c.contact_id in per_contact]
        n_contacts = scorer.contacts(contacts, per_contact)
        n_accounts = scorer.accounts(contacts, per_contact, q.account_domains(conn, tenant_id))
        records = [*q.crm_records(conn, tenant_id, "lead"), *q.crm_records(conn, tenant_id, "opportunity")]
        n_leads, n_opps = scorer.crm_records(records)
        q.save_health_scores(conn, tenant_id, scorer.rows, now=now)
    return RefreshResult(n_contacts, n_accounts, n_leads, n_opps)


def incremental_refresh(engine: Engine, tenant_id: str, settings: Settings, contact_ids: Collection[int], *,
                        now: datetime) -> RefreshResult:
    """Recompute and store the health of the records that involve ``contact_ids`` (see the module docstring)."""
    if not contact_ids:
        return RefreshResult()
    with engine.begin() as conn:
        scorer = _Scorer(conn, tenant_id, _config(conn, tenant_id, settings), now)
        touched = q.contacts_by_ids(conn, tenant_id, contact_ids)
        account_of = q.account_domains(conn, tenant_id)
        account_ids = sorted({a for c in touched.values()
                              if (a := c.account_id or account_of.get(c.domain)) is not None})
        everyone = dict(touched)
        everyone.update((c.contact_id, c) for c in q.contacts_of_accounts(conn, tenant_id, account_ids))
        per_contact = _to_days(q.daily_per_contact(conn, tenant_id, since=scorer.since, contact_ids=list(everyone)))
        n_contacts = scorer.contacts(touched.values(), per_contact)
        # Accounts are scored from all their contacts, which is why their untouched contacts were read too.
        scorer.accounts(everyone.values(), per_contact, account_of, only=account_ids)
        records = _records_involving(conn, tenant_id, touched.values(), account_ids)
        n_leads, n_opps = scorer.crm_records(records)
        q.save_health_scores(conn, tenant_id, scorer.rows, now=now)
    return RefreshResult(n_contacts, len(account_ids), n_leads, n_opps)


def _records_involving(conn: Connection, tenant_id: str, contacts: Iterable[q.ContactRow],
                       account_ids: Collection[str]) -> list[q.CrmRecordRow]:
    ids = q.crm_records_for(conn, tenant_id, [c.email for c in contacts], account_ids)
    leads = [i for t, i in ids if t == "lead"]
    opps = [i for t, i in ids if t == "opportunity"]
    return [*q.crm_records(conn, tenant_id, "lead", leads), *q.crm_records(conn, tenant_id, "opportunity", opps)]

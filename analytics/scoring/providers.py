"""Feature providers: extra per-record numbers computed elsewhere, plugged in through one small seam.

A provider answers ``features(tenant_id, records, now) → {record_id: {name: value}}`` for each record *as of* its
closing (closed records) or ``now`` (open ones), so nothing that happened after an outcome leaks into training.

:class:`RelationshipKpiProvider` computes the relationship KPIs of issue 5 (emails each way, meetings, calls,
response times and rates, days since the last interaction) for many records at once, with the same rules as the
query API (``analytics.relationships.kpis``) but a fixed number of queries per chunk of records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Connection, Engine

from analytics.relationships.config import health_config
from analytics.relationships.kpis import RecordPeople, compute_kpis
from analytics.scoring.records import ScoringRecord
from analytics.settings import Settings
from analytics.store import queries_relationships as rq

FeatureRows = dict[str, dict[str, float | None]]


class FeatureProvider(Protocol):
    """Adds named numeric features to records."""

    name: str

    def features(self, tenant_id: str, record_type: str, records: Sequence[ScoringRecord],
                 now: datetime) -> FeatureRows:
        """Per record id, feature name → value (``None`` when unknown)."""
        ...


def kpi_features(kpis: Any, as_of: datetime) -> dict[str, float | None]:
    """The numeric features of one ``analytics.views.KpiView`` (duck-typed: this layer does not import it)."""
    us, them = kpis.us, kpis.them
    last = kpis.last_interaction
    return {
        "emails_from_us": float(us.emails_sent),
        "emails_from_them": float(them.emails_sent),
        "meetings_organised_by_us": float(us.meetings_organised),
        "meetings_organised_by_them": float(them.meetings_organised),
        "calls_from_us": float(us.calls_made),
        "calls_from_them": float(them.calls_made),
        "interactions_they_initiated": float(them.initiated),
        "our_response_hours": us.avg_first_response_hours,
        "their_response_hours": them.avg_first_response_hours,
        "their_response_rate": them.response_rate,
        "days_since_last_interaction": (as_of - last.at).total_seconds() / 86400.0 if last is not None else None,
    }


class RelationshipKpiProvider:
    """Relationship KPIs (as of each record's closing or now), computed in bulk from the store.

    The same scope and KPI rules as ``analytics.query.RelationshipQueries.health`` (the record's contact and
    stakeholders, else its account's contacts; its owner and internal members, else every user), but batched:
    records are taken in chunks of nearby as-of times, and each chunk costs a fixed handful of queries (records
    with their people, contacts, users, one activity read over the chunk's span) instead of several per record.
    """

    name = "relationship"

    def __init__(self, engine: Engine, window_days: int, chunk: int = 250) -> None:
        self._engine = engine
        self._window_days = window_days
        self._chunk = chunk

    def features(self, tenant_id: str, record_type: str, records: Sequence[ScoringRecord],
                 now: datetime) -> FeatureRows:
        """KPIs of each record over the window ending at the record's closing (or ``now``)."""
        out: FeatureRows = {}
        ordered = sorted(records, key=lambda r: (r.as_of(now), r.record_id))
        with self._engine.connect() as conn:
            config = health_config(rq.tenant_options(conn, tenant_id), window_days=self._window_days)
            account_of_domain = rq.account_domains(conn, tenant_id)
            for start in range(0, len(ordered), self._chunk):
                chunk = ordered[start:start + self._chunk]
                out.update(self._chunk_features(conn, tenant_id, record_type, chunk, now, config.window_days,
                                                account_of_domain))
        return out

    @staticmethod
    def _chunk_features(conn: Connection, tenant_id: str, record_type: str, chunk: Sequence[ScoringRecord],
                        now: datetime, window_days: int, account_of_domain: dict[str, str]) -> FeatureRows:
        rows = {r.record_id: r for r in rq.crm_records(conn, tenant_id, record_type, [c.record_id for c in chunk])}
        emails = {e for r in rows.values() for e in _external_emails(r)}
        by_email = {c.email.lower(): c for c in rq.contacts_by_emails(conn, tenant_id, emails)} if emails else {}
        fallback = {r.account_id for r in rows.values()
                    if r.account_id and not any(e in by_email for e in _external_emails(r))}
        by_account: dict[str, list[rq.ContactRow]] = {}
        for c in rq.contacts_of_accounts(conn, tenant_id, fallback) if fallback else []:
            owner = c.account_id or account_of_domain.get(c.domain)
            if owner is not None:
                by_account.setdefault(owner, []).append(c)
        internal = {a for r in rows.values() for a in r.internal_addresses}
        user_of = rq.user_ids_by_email(conn, tenant_id, internal) if internal else {}
        people: dict[str, RecordPeople] = {}
        for record_id, r in rows.items():
            contacts = [by_email[e] for e in _external_emails(r) if e in by_email]
            if not contacts and r.account_id:
                contacts = by_account.get(r.account_id, [])
            users = {user_of[a] for a in r.internal_addresses if a in user_of}
            if r.owner_id:
                users.add(r.owner_id)
            people[record_id] = RecordPeople(frozenset(c.contact_id for c in contacts),
                                             frozenset(users) if users else None)
        as_of = {c.record_id: c.as_of(now) for c in chunk if c.record_id in rows}
        if not as_of:
            return {}
        ids = {i for p in people.values() for i in p.contact_ids}
        span_start = min(as_of.values()) - timedelta(days=window_days)
        span_end = max(as_of.values()) + timedelta(seconds=1)
        activities = rq.activities_for_contacts(conn, tenant_id, ids, start=span_start, end=span_end) if ids else []
        by_contact: dict[int, list[rq.ActivityRow]] = {}
        for a in activities:
            for cid in {p.contact_id for p in a.participants if p.contact_id is not None}:
                by_contact.setdefault(cid, []).append(a)
        out: FeatureRows = {}
        for record_id, when in as_of.items():
            mine: dict[int, rq.ActivityRow] = {}
            for cid in people[record_id].contact_ids:
                for a in by_contact.get(cid, ()):
                    mine[a.activity_id] = a
            acts = sorted(mine.values(), key=lambda a: (a.start_at, a.activity_id))
            kpis = compute_kpis(acts, people[record_id], as_of=when, window_days=window_days)
            out[record_id] = kpi_features(kpis, when)
        return out


def _external_emails(row: rq.CrmRecordRow) -> list[str]:
    """The record's customer addresses, as the query API's scope takes them."""
    found = set(row.external_addresses) | ({row.contact_email.lower()} if row.contact_email else set())
    return sorted(found)


def default_providers(engine: Engine, settings: Settings) -> list[FeatureProvider]:
    """The providers of this installation: the relationship KPIs (computed from the ingested activities)."""
    return [RelationshipKpiProvider(engine, settings.analytics_window_days)]


def with_features(records: Sequence[ScoringRecord], rows: FeatureRows) -> list[ScoringRecord]:
    """Copies of ``records`` with provider features merged into :attr:`ScoringRecord.relationship`."""
    out = []
    for r in records:
        extra = rows.get(r.record_id)
        out.append(replace(r, relationship={**r.relationship, **extra}) if extra else r)
    return out


def enrich(providers: Sequence[FeatureProvider], tenant_id: str, record_type: str,
           records: Sequence[ScoringRecord], now: datetime) -> list[ScoringRecord]:
    """Records with every provider's features."""
    out = list(records)
    for provider in providers:
        out = with_features(out, provider.features(tenant_id, record_type, out, now))
    return out

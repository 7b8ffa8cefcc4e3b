"""Feature providers: extra per-record numbers computed elsewhere, plugged in through one small seam.

A provider answers ``features(tenant_id, records, now) → {record_id: {name: value}}`` for each record *as of* its
closing (closed records) or ``now`` (open ones), so nothing that happened after an outcome leaks into training.

:class:`RelationshipKpiProvider` reads the relationship KPIs of the analytics query API (``analytics.query``,
issue 5). It is looked up at run time: without that module scoring works on CRM fields alone, and with it the
KPIs become features (emails each way, meetings, calls, response times and rates, days since the last
interaction).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from analytics.errors import NotFound
from analytics.scoring.records import ScoringRecord
from analytics.settings import Settings

log = logging.getLogger(__name__)

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
    """Relationship KPIs from ``analytics.query.RelationshipQueries`` (as of each record's closing or now)."""

    name = "relationship"

    def __init__(self, queries: Any, target_factory: Any) -> None:
        self._queries = queries
        self._target = target_factory

    def features(self, tenant_id: str, record_type: str, records: Sequence[ScoringRecord],
                 now: datetime) -> FeatureRows:
        """KPIs of each record over the query API's window ending at the record's closing (or ``now``)."""
        out: FeatureRows = {}
        for record in records:
            as_of = record.as_of(now)
            # closed=True: the query API then skips the health score and returns the KPIs only.
            ref = self._target(kind=record_type, key=record.record_id, label=record.record_id, closed=True)
            try:
                view = self._queries.health(tenant_id, ref, now=as_of)
            except NotFound:  # the record is unknown to the query API: no KPIs, not an error
                continue
            out[record.record_id] = kpi_features(view.kpis, as_of)
        return out


def default_providers(engine: Engine, settings: Settings) -> list[FeatureProvider]:
    """The providers available in this installation (none when the analytics query API is absent)."""
    try:
        query = importlib.import_module("analytics.query")
        views = importlib.import_module("analytics.views")
    except ImportError:
        log.info("analytics.query not installed: scoring without relationship KPIs")
        return []
    return [RelationshipKpiProvider(query.RelationshipQueries(engine, settings), views.TargetRef)]


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

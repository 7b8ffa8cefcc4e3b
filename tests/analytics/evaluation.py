"""Relationship analytics against a synthetic tenant's ground truth (used by tests and the benchmark report).

* trends: the stored health trend of each account and contact vs its planted trajectory (improving → Improving,
  steady → Steady, declining and dormant → Declining), precision and recall per state;
* connectors: how often the planted strongest connector of a contact is ranked first, and in the top 5;
* response times: the median first-response time of each side of each relationship vs the realised median the
  generator reports, within one minute;
* link prediction: rank colleagues for each contact from the rollups before the link cut; the relevant ones are
  the colleagues who correspond with the contact after it; recall@5 and MRR, ours vs a raw message count.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from analytics.refresh import full_refresh
from analytics.relationships import who_knows as wk
from analytics.relationships.kpis import RecordPeople, compute_kpis
from analytics.settings import Settings
from analytics.store import models
from analytics.store import queries_relationships as q
from analytics.store.ids import contact_key

from .synthetic import parse_time

EXPECTED_TREND = {"improving": "Improving", "steady": "Steady", "declining": "Declining", "dormant": "Declining"}
STATES = ("Improving", "Steady", "Declining")


@dataclass(frozen=True)
class TrendReport:
    """Confusion of planted trajectory → computed trend, and precision / recall per trend state."""

    confusion: dict[str, Counter[str]]
    precision: dict[str, float]
    recall: dict[str, float]
    n: int

    @property
    def accuracy(self) -> float:
        hits = sum(self.confusion[t][EXPECTED_TREND[t]] for t in self.confusion if t in EXPECTED_TREND)
        return hits / self.n if self.n else 0.0


def _trend_report(pairs: list[tuple[str, str]]) -> TrendReport:
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for planted, got in pairs:
        confusion[planted][got] += 1
    precision, recall = {}, {}
    for state in STATES:
        predicted = sum(c[state] for c in confusion.values())
        relevant = sum(sum(c.values()) for t, c in confusion.items() if EXPECTED_TREND.get(t) == state)
        hits = sum(c[state] for t, c in confusion.items() if EXPECTED_TREND.get(t) == state)
        precision[state] = hits / predicted if predicted else 0.0
        recall[state] = hits / relevant if relevant else 0.0
    return TrendReport(dict(confusion), precision, recall, len(pairs))


def _stored_trends(engine: Engine, tenant_id: str, record_type: str) -> dict[str, str | None]:
    t = models.Score.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.record_id, t.c.trend).where(
            t.c.tenant_id == tenant_id, t.c.score_kind == "health", t.c.record_type == record_type))
        return {r.record_id: r.trend for r in rows}


def classify(before: int, recent: int, truth: dict[str, Any]) -> str:
    """The generator's published trajectory rule (``trajectory_rule`` in ground truth) on interaction counts."""
    rule = truth["trajectory_rule"]
    w = truth["windows"]
    before_days = (parse_time(w["recent_start"]) - parse_time(w["span_start"])).days
    if recent == 0:
        return "dormant" if before else "none"
    if before == 0:
        return "new"
    ratio = (recent / w["recent_days"]) / (before / before_days)
    if ratio >= rule["improving_at_least"]:
        return "improving"
    if ratio <= rule["declining_at_most"]:
        return "declining"
    low, high = rule["steady_between"]
    return "steady" if low <= ratio <= high else "ambiguous"


def trend_reports(engine: Engine, tenant_id: str, truth: dict[str, Any], settings: Settings,
                  now: datetime) -> tuple[TrendReport, TrendReport]:
    """(accounts, contacts) after a full refresh as of ``now``. A contact's planted trajectory is its strongest
    relationship's; like accounts, a contact is kept only when its realised counts (all its relationships
    together, classified by the generator's published rule) show that trajectory."""
    full_refresh(engine, tenant_id, settings, now=now)
    accounts = _stored_trends(engine, tenant_id, "account")
    account_pairs = [(a["trajectory"], accounts.get(a["id"]) or "Not enough info") for a in truth["accounts"]
                     if a["trajectory"] in EXPECTED_TREND and a["realised"]["trajectory"] == a["trajectory"]]
    contacts = _stored_trends(engine, tenant_id, "contact")
    rels: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in truth["relationships"]:
        rels[r["contact_email"]].append(r)
    contact_pairs = []
    for email, rs in rels.items():
        top = next(r for r in rs if r["strongest"])
        before = sum(r["realised"]["interactions_before"] for r in rs)
        recent = sum(r["realised"]["interactions_recent"] for r in rs)
        if top["trajectory"] in EXPECTED_TREND and classify(before, recent, truth) == top["trajectory"]:
            contact_pairs.append((top["trajectory"], contacts.get(email) or "Not enough info"))
    return _trend_report(account_pairs), _trend_report(contact_pairs)


@dataclass(frozen=True)
class ConnectorReport:
    first: float
    top5: float
    n: int


def connector_report(engine: Engine, tenant_id: str, truth: dict[str, Any], now: datetime) -> ConnectorReport:
    """Share of contacts whose planted strongest connector our who-knows ranks first / in the top 5."""
    with engine.connect() as conn:
        rows = q.rollups_for_contacts(conn, tenant_id, [contact_key(c["email"]) for c in truth["contacts"]],
                                      until=now.date())
    by_contact: dict[int, list[q.RollupRow]] = defaultdict(list)
    for r in rows:
        by_contact[r.contact_id].append(r)
    first = top5 = 0
    for c in truth["contacts"]:
        ranked = [e.user_id for e in wk.edges(by_contact[contact_key(c["email"])], as_of=now.date())]
        first += bool(ranked) and ranked[0] == c["strongest_connector"]
        top5 += c["strongest_connector"] in ranked[:wk.TOP_N]
    n = len(truth["contacts"])
    return ConnectorReport(first / n, top5 / n, n)


@dataclass(frozen=True)
class ResponseReport:
    within_minute: float  # share of (relationship, side) medians within one minute of the realised value
    n: int
    worst_minutes: float


def response_report(engine: Engine, tenant_id: str, truth: dict[str, Any], now: datetime) -> ResponseReport:
    """Median first-response time per relationship and side (KPIs scoped to the pair) vs ground truth."""
    span_start = parse_time(truth["windows"]["span_start"])
    days = (now - span_start).days + 2
    by_contact: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in truth["relationships"]:
        by_contact[r["contact_email"]].append(r)
    hits = n = 0
    worst = 0.0
    with engine.connect() as conn:
        for email, rels in by_contact.items():
            cid = contact_key(email)
            acts = q.activities_for_contacts(conn, tenant_id, [cid], start=span_start - timedelta(days=1),
                                             end=now + timedelta(days=1))
            for r in rels:
                k = compute_kpis(acts, RecordPeople(frozenset({cid}), frozenset({r["user_id"]})), as_of=now,
                                 window_days=days)
                for side, kpis in (("user", k.us), ("contact", k.them)):
                    expected = r["realised"][f"{side}_median_first_response_minutes"]
                    if expected is None:
                        continue
                    got = kpis.median_first_response_hours
                    n += 1
                    err = abs(got * 60 - expected) if got is not None else float("inf")
                    worst = max(worst, err)
                    hits += err <= 1.0
    return ResponseReport(hits / n if n else 0.0, n, worst)


@dataclass(frozen=True)
class LinkReport:
    recall_at_5: float
    mrr: float
    baseline_recall_at_5: float
    baseline_mrr: float
    contacts: int


def _rank_metrics(ranked: list[str], relevant: set[str]) -> tuple[float, float]:
    top = ranked[:5]
    recall = len(relevant & set(top)) / len(relevant)
    rr = next((1.0 / (i + 1) for i, u in enumerate(ranked) if u in relevant), 0.0)
    return recall, rr


def link_prediction(engine: Engine, tenant_id: str, truth: dict[str, Any]) -> LinkReport:
    """Who corresponds with each contact after the link cut, predicted from the rollups before it."""
    cut = parse_time(truth["windows"]["link_cut"])
    before_day = cut.date() - timedelta(days=1)
    emails = [c["email"] for c in truth["contacts"]]
    with engine.connect() as conn:
        rows = q.rollups_for_contacts(conn, tenant_id, [contact_key(e) for e in emails])
    history: dict[int, list[q.RollupRow]] = defaultdict(list)
    after: dict[int, set[str]] = defaultdict(set)
    for r in rows:
        if r.day <= before_day:
            history[r.contact_id].append(r)
        elif r.from_us + r.from_them > 0:
            after[r.contact_id].add(r.user_id)
    ours: list[tuple[float, float]] = []
    base: list[tuple[float, float]] = []
    for e in emails:
        cid = contact_key(e)
        relevant = after.get(cid)
        if not relevant or not history.get(cid):
            continue
        ranked = [x.user_id for x in wk.edges(history[cid], as_of=before_day)]
        ours.append(_rank_metrics(ranked, relevant))
        base.append(_rank_metrics(wk.message_count_ranking(history[cid], as_of=before_day), relevant))
    n = len(ours)

    def mean(xs: list[float]) -> float:
        return sum(xs) / n if n else 0.0

    return LinkReport(mean([r for r, _ in ours]), mean([m for _, m in ours]),
                      mean([r for r, _ in base]), mean([m for _, m in base]), n)

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
    relationship's (both halves of a handed-over one); like accounts, a contact is kept only when its realised
    counts (all its relationships and one-way sequences together, classified by the generator's published rule)
    show that trajectory."""
    full_refresh(engine, tenant_id, settings, now=now)
    accounts = _stored_trends(engine, tenant_id, "account")
    account_pairs = [(a["trajectory"], accounts.get(a["id"]) or "Not enough info") for a in truth["accounts"]
                     if a["trajectory"] in EXPECTED_TREND and a["realised"]["trajectory"] == a["trajectory"]]
    contacts = _stored_trends(engine, tenant_id, "contact")
    rels: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in truth["relationships"]:
        rels[r["contact_email"]].append(r)
    contact_pairs = []
    for w in truth.get("outreach", []):  # one-way sequences are mail with the contact too
        rels[w["contact_email"]].append({"realised": w})
    planted = {c["email"]: c.get("trajectory") or next(
        r["trajectory"] for r in rels[c["email"]] if r.get("strongest")) for c in truth["contacts"]}
    for email, rs in rels.items():
        before = sum(r["realised"]["interactions_before"] for r in rs)
        recent = sum(r["realised"]["interactions_recent"] for r in rs)
        if planted[email] in EXPECTED_TREND and classify(before, recent, truth) == planted[email]:
            contact_pairs.append((planted[email], contacts.get(email) or "Not enough info"))
    return _trend_report(account_pairs), _trend_report(contact_pairs)


@dataclass(frozen=True)
class ConnectorReport:
    first: float
    top5: float
    n: int
    # Contacts whose account changed owner: the planted strongest is the new owner, who may not yet have
    # overtaken the previous owner's history (reported apart; ``first``/``top5`` cover the other contacts).
    handed_over_first: float = 0.0
    handed_over_top5: float = 0.0
    handed_over_n: int = 0


def connector_report(engine: Engine, tenant_id: str, truth: dict[str, Any], now: datetime) -> ConnectorReport:
    """Share of contacts whose planted strongest connector our who-knows ranks first / in the top 5."""
    with engine.connect() as conn:
        rows = q.rollups_for_contacts(conn, tenant_id, [contact_key(c["email"]) for c in truth["contacts"]],
                                      until=now.date())
    by_contact: dict[int, list[q.RollupRow]] = defaultdict(list)
    for r in rows:
        by_contact[r.contact_id].append(r)
    hits: dict[bool, list[int]] = {False: [0, 0, 0], True: [0, 0, 0]}  # handed over -> first, top 5, n
    for c in truth["contacts"]:
        ranked = [e.user_id for e in wk.edges(by_contact[contact_key(c["email"])], as_of=now.date())]
        h = hits[bool(c.get("handed_over_from"))]
        h[0] += bool(ranked) and ranked[0] == c["strongest_connector"]
        h[1] += c["strongest_connector"] in ranked[:wk.TOP_N]
        h[2] += 1
    (first, top5, n), (hfirst, htop5, hn) = hits[False], hits[True]
    return ConnectorReport(first / n if n else 0.0, top5 / n if n else 0.0, n,
                           hfirst / hn if hn else 0.0, htop5 / hn if hn else 0.0, hn)


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
    # The same with "corresponds" read strictly: mail in both directions (or a meeting) after the cut.
    two_way_recall_at_5: float = 0.0
    two_way_mrr: float = 0.0
    two_way_baseline_recall_at_5: float = 0.0
    two_way_baseline_mrr: float = 0.0
    two_way_contacts: int = 0


def _rank_metrics(ranked: list[str], relevant: set[str]) -> tuple[float, float]:
    top = ranked[:5]
    recall = len(relevant & set(top)) / len(relevant)
    rr = next((1.0 / (i + 1) for i, u in enumerate(ranked) if u in relevant), 0.0)
    return recall, rr


def _means(results: list[tuple[float, float]]) -> tuple[float, float]:
    n = len(results)
    return (sum(r for r, _ in results) / n, sum(m for _, m in results) / n) if n else (0.0, 0.0)


def link_prediction(engine: Engine, tenant_id: str, truth: dict[str, Any]) -> LinkReport:
    """Who corresponds with each contact after the link cut, predicted from the rollups before it.

    Relevant: the colleagues with any interaction with the contact after the cut (and, for the two-way
    figures, those who both wrote to and heard from the contact, or met them). Both rankings see the same rows
    before the cut; the baseline is the raw interaction count (``who_knows.message_count_ranking``)."""
    cut = parse_time(truth["windows"]["link_cut"])
    before_day = cut.date() - timedelta(days=1)
    emails = [c["email"] for c in truth["contacts"]]
    with engine.connect() as conn:
        rows = q.rollups_for_contacts(conn, tenant_id, [contact_key(e) for e in emails])
    history: dict[int, list[q.RollupRow]] = defaultdict(list)
    after: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in rows:
        if r.day <= before_day:
            history[r.contact_id].append(r)
        elif r.from_us + r.from_them > 0:
            both = r.kind != "email"  # a meeting or call is an exchange by itself
            a = after[r.contact_id][r.user_id]
            a[0] += r.from_us + both
            a[1] += r.from_them + both
    ours: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    base: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for e in emails:
        cid = contact_key(e)
        if not history.get(cid):
            continue
        ranked = [x.user_id for x in wk.edges(history[cid], as_of=before_day)]
        counted = wk.message_count_ranking(history[cid], as_of=before_day)
        for two_way in (False, True):
            relevant = {u for u, (us, them) in after.get(cid, {}).items() if not two_way or min(us, them) > 0}
            if relevant:
                ours[two_way].append(_rank_metrics(ranked, relevant))
                base[two_way].append(_rank_metrics(counted, relevant))
    return LinkReport(*_means(ours[False]), *_means(base[False]), len(ours[False]),
                      *_means(ours[True]), *_means(base[True]), len(ours[True]))

"""Materialise health answers per record after a refresh, so asking for a record's health reads one row.

A health answer (:meth:`analytics.query.RelationshipQueries.health`) needs the record's score and factors (from
its rollups), its KPIs (from the window's activities with their participants) and its stored score history.
Live, that costs 10–400 ms for a large account. :func:`update_after_refresh` writes, after each refresh, the
answer every record would get live at the refresh instant ``T`` (``health_refresh.incremental_at``, else
``full_at``) into ``health_view``; :mod:`analytics.stored_views` has the encoding and the rule for serving it.

Records: every contact that is not an automated sender (an incremental refresh never rescores those, so their
answers stay live), every account, every domain that is asked as such (one without an account, not a free-mail
provider's: the query refuses those), every lead and opportunity. Each record's scope (its people) is the live
answer's (``RelationshipQueries._scope``).

* After a **full** refresh (or whenever the stored views are not those of the previous refresh) every view is
  rebuilt in one pass: the horizon's rollups in one statement, summed per record with array operations and
  scored with ``health.evaluate_batch`` (what ``health.evaluate`` runs for one); the KPI window's activities
  in one statement over the start-time index, each handed to the records whose people are on it; the score
  history in one statement.
* After an **incremental** refresh only the records it rescored (``RefreshResult.records``) are rebuilt, from
  their own people's rows: their rollups in chunked statements, the KPI window's activities of all their
  contacts at once (``queries_relationships.window_activities_of_contacts``), handed out as in the full pass; the views of its contacts' asked domains are dropped (answered live until the next
  full materialisation: see ``_targets_of``).

The computation reads in one connection; the views are written in a short transaction that first locks the
tenant's ``health_view_mark`` row (materialisations of one tenant take turns) and re-checks it.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from analytics.domains import is_free_mail_domain
from analytics.query import CLOSED_LEAD, CLOSED_OPPORTUNITY, LOOKAHEAD_DAYS, health_view_of
from analytics.refresh import RefreshResult
from analytics.relationships import health as health_math
from analytics.relationships.config import health_config
from analytics.relationships.health import Counts, IntArray
from analytics.relationships.kpis import RecordPeople, compute_kpis
from analytics.relationships.who_knows import is_automated
from analytics.settings import Settings
from analytics.store import queries_relationships as q
from analytics.stored_views import FORMAT, body_format, encode
from analytics.stored_who_knows import FORMAT as WHO_KNOWS_FORMAT
from analytics.stored_who_knows import body_format as who_knows_format
from analytics.views import TargetRef
from analytics.who_knows_views import WhoTarget, answers


@dataclass(frozen=True, slots=True)
class ViewsResult:
    """What a materialisation did: how many views it wrote, for which refresh instant, how long it took."""

    views: int = 0
    full: bool = False
    refreshed_at: datetime | None = None
    seconds: float = 0.0
    skipped: str | None = None  # why nothing was written (already current, no refresh yet, …)
    who_knows: int = 0  # who-knows answers written with the views (analytics.who_knows_views)
    who_knows_seconds: float = 0.0  # the part of ``seconds`` spent computing them
    two_hop: int = 0  # of them, records nobody available knew (a two-hop path computed)


@dataclass(frozen=True, slots=True)
class _Target:
    """A record as a health answer sees it: its reference, health expectation key and people."""

    ref: TargetRef
    record_type: str
    contact_ids: tuple[int, ...]
    user_ids: frozenset[str] | None


# --- Entry points ---------------------------------------------------------------------------------------------------


def latest_refresh(engine: Engine, tenant_id: str) -> datetime | None:
    """The tenant's latest refresh instant: read it before a refresh and pass it to :func:`update_after_refresh`."""
    with engine.connect() as conn:
        return q.latest_health_refresh(conn, tenant_id)


def update_after_refresh(engine: Engine, tenant_id: str, settings: Settings, result: RefreshResult, *,
                         previous: datetime | None, now: datetime) -> ViewsResult:
    """Bring the stored views up to the refresh that just ran at ``now`` (``result``), whose predecessor was at
    ``previous`` (:func:`latest_refresh` before it). Only the records it rescored when the views were those of
    ``previous`` and no other refresh ran since; every record otherwise."""
    with engine.connect() as conn:
        latest = q.latest_health_refresh(conn, tenant_id)
        marked = q.health_view_mark(conn, tenant_id)
    if latest is None:
        return ViewsResult(skipped="no health refresh yet")
    # A refresh that rescored something changed views even when it ran at the instant the views are marked for
    # (two refreshes with the same --as-of, a clock that did not move): the mark alone cannot tell.
    changed = result.full or bool(result.records)
    if marked == latest and not changed:
        return ViewsResult(refreshed_at=latest, skipped="views already current")
    if not result.full and result.records and previous is not None and marked == previous and latest == now:
        return materialise(engine, tenant_id, settings, records=result.records, expect_mark=previous,
                           rewrite=True)
    return materialise(engine, tenant_id, settings, rewrite=changed)


def ensure_current(engine: Engine, tenant_id: str, settings: Settings) -> ViewsResult:
    """Every view rebuilt unless they are already those of the latest refresh, in the current body format
    (a deployment's first start or upgrade, benchmarks)."""
    with engine.connect() as conn:
        latest = q.latest_health_refresh(conn, tenant_id)
        marked = q.health_view_mark(conn, tenant_id)
        sample = q.any_health_view_body(conn, tenant_id)
        who_sample = q.any_who_knows_view_body(conn, tenant_id)
    if latest is None:
        return ViewsResult(skipped="no health refresh yet")
    # Health views without who-knows answers: written before these were (a store migrated since).
    who_current = (who_sample is None and sample is None) or (
        who_sample is not None and who_knows_format(who_sample) == WHO_KNOWS_FORMAT)
    if marked == latest and (sample is None or body_format(sample) == FORMAT) and who_current:
        return ViewsResult(refreshed_at=latest, skipped="views already current")
    return materialise(engine, tenant_id, settings, rewrite=True)


def materialise(engine: Engine, tenant_id: str, settings: Settings, *,
                records: Collection[tuple[str, str]] | None = None,
                expect_mark: datetime | None = None, rewrite: bool = False) -> ViewsResult:
    """Write the views of every record (``records`` None) or of these (record type, id) pairs (dropping their
    contacts' domains' views), as of the tenant's latest refresh instant. With ``records``, nothing is written unless
    the views are still marked for ``expect_mark`` (else a later call rebuilds them all). ``rewrite``: even
    if they are marked as current (written in an older body format)."""
    started = time.perf_counter()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # one snapshot for every read below
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            at = q.latest_health_refresh(conn, tenant_id)
            if at is None:
                return ViewsResult(skipped="no health refresh yet")
            targets, contacts, dropped = ((*_all_targets(conn, tenant_id), []) if records is None
                                          else _targets_of(conn, tenant_id, records))
            views = _views(conn, tenant_id, settings, targets, at, every_record=records is None)
            who_started = time.perf_counter()
            who = answers(conn, tenant_id, [WhoTarget(t.ref.kind, t.ref.key, t.contact_ids) for t in targets],
                          contacts, at, every_contact=records is None)
            who_seconds = time.perf_counter() - who_started
    with engine.begin() as conn:
        marked = q.health_view_mark(conn, tenant_id, lock=True)
        if marked == at and not rewrite:
            return ViewsResult(refreshed_at=at, skipped="views already current")
        if records is not None and marked != expect_mark:
            return ViewsResult(refreshed_at=at, skipped="views not those of the previous refresh")
        gone = [("domain", d) for d in dropped]
        q.write_who_knows_views(conn, tenant_id, who.bodies, computed_at=at, every_record=records is None,
                                dropped=gone)
        q.write_health_views(conn, tenant_id, views, computed_at=at, every_record=records is None, dropped=gone)
    return ViewsResult(len(views), records is None, at, time.perf_counter() - started, who_knows=len(who.bodies),
                       who_knows_seconds=who_seconds, two_hop=who.two_hop)


# --- Targets --------------------------------------------------------------------------------------------------------


class _People:
    """Contacts grouped as the live answer scopes them: per account, per domain, by email."""

    def __init__(self, contacts: Iterable[q.ContactRow], domains: Mapping[str, str]) -> None:
        self.by_email: dict[str, q.ContactRow] = {}
        self.of_account: dict[str, list[int]] = {}
        self.of_domain: dict[str, list[int]] = {}
        for c in contacts:
            self.by_email[c.email] = c
            self.of_domain.setdefault(c.domain, []).append(c.contact_id)
            account_id = c.account_in(domains)
            if account_id is not None:
                self.of_account.setdefault(account_id, []).append(c.contact_id)

    def crm_target(self, rec: q.CrmRecordRow, user_of: Mapping[str, str]) -> _Target:
        """``RelationshipQueries._record_scope``: its people by email, else its account's; owner and team."""
        emails = set(rec.external_addresses) | ({rec.contact_email.lower()} if rec.contact_email else set())
        ids = [self.by_email[e].contact_id for e in emails if e in self.by_email]
        if not ids and rec.account_id:
            ids = self.of_account.get(rec.account_id, [])
        users = {user_of[a] for a in rec.internal_addresses if a in user_of}
        if rec.owner_id:
            users.add(rec.owner_id)
        closed = rec.status in (CLOSED_LEAD if rec.record_type == "lead" else CLOSED_OPPORTUNITY)
        ref = TargetRef(rec.record_type, rec.record_id, rec.label, closed)  # type: ignore[arg-type]
        return _Target(ref, rec.record_type, tuple(sorted(ids)), frozenset(users) if users else None)


def _asked_domains(domains: Iterable[str], account_domains: Mapping[str, str], accounts: Collection[str]) -> list[str]:
    """Domains that resolve as a domain target: no account (or a dangling one) and a dot in the name. Not a
    free-mail provider's: the query refuses those (``analytics.query.PersonalMailDomain``) before reading a view,
    and their scopes (thousands of unrelated people) were the most expensive records to compute."""
    return sorted(d for d in set(domains)
                  if "." in d and " " not in d and account_domains.get(d) not in accounts
                  and not is_free_mail_domain(d))


def _all_targets(conn: Connection, tenant_id: str) -> tuple[list[_Target], dict[int, q.ContactRow]]:
    contacts = q.all_contacts_fast(conn, tenant_id)
    account_domains = q.account_domains_fast(conn, tenant_id)
    accounts = {a.account_id: a for a in q.accounts(conn, tenant_id)}
    people = _People(contacts.values(), account_domains)
    out = [_Target(TargetRef("contact", c.email, c.display_name or c.email), "contact", (c.contact_id,), None)
           for c in contacts.values() if not is_automated(c)]
    out += [_Target(TargetRef("account", a.account_id, a.name), "account",
                    tuple(sorted(people.of_account.get(a.account_id, []))), None) for a in accounts.values()]
    out += [_Target(TargetRef("domain", d, d), "domain", tuple(sorted(people.of_domain[d])), None)
            for d in _asked_domains(people.of_domain, account_domains, accounts)]
    crm = [*q.crm_records(conn, tenant_id, "lead"), *q.crm_records(conn, tenant_id, "opportunity")]
    user_of = q.user_ids_by_email(conn, tenant_id, {a for rec in crm for a in rec.internal_addresses})
    out += [people.crm_target(rec, user_of) for rec in crm]
    return out, contacts


def _targets_of(conn: Connection, tenant_id: str, records: Collection[tuple[str, str]]
                ) -> tuple[list[_Target], dict[int, q.ContactRow], list[str]]:
    """The targets of some records, with every contact their scopes need; and their contacts' asked domains,
    whose views are dropped rather than rebuilt (a domain's scope can be thousands of contacts: rebuilding the
    free-mail ones after every sync round cost more than all the other records together; they are answered live
    until the next full materialisation)."""
    emails = {i for t, i in records if t == "contact"}
    account_ids = {i for t, i in records if t == "account"}
    crm = [*q.crm_records(conn, tenant_id, "lead", [i for t, i in records if t == "lead"]),
           *q.crm_records(conn, tenant_id, "opportunity", [i for t, i in records if t == "opportunity"])]
    account_domains = q.account_domains_fast(conn, tenant_id)
    accounts = {a.account_id: a for a in q.accounts(conn, tenant_id)}
    crm_emails = {e for rec in crm for e in rec.external_addresses}
    crm_emails |= {rec.contact_email.lower() for rec in crm if rec.contact_email}
    found = q.contacts_by_emails(conn, tenant_id, emails | crm_emails)
    fallback = {rec.account_id for rec in crm if rec.account_id}  # a record with none of its people known
    contacts = {c.contact_id: c for c in found}
    contacts.update((c.contact_id, c) for c in q.contacts_of_accounts(conn, tenant_id, account_ids | fallback))
    domains = _asked_domains({c.domain for c in found if c.email in emails}, account_domains, accounts)
    people = _People(contacts.values(), account_domains)
    out = [_Target(TargetRef("contact", c.email, c.display_name or c.email), "contact", (c.contact_id,), None)
           for e in sorted(emails) if (c := people.by_email.get(e)) is not None and not is_automated(c)]
    out += [_Target(TargetRef("account", a, accounts[a].name), "account",
                    tuple(sorted(people.of_account.get(a, []))), None) for a in sorted(account_ids) if a in accounts]
    user_of = q.user_ids_by_email(conn, tenant_id, {a for rec in crm for a in rec.internal_addresses})
    out += [people.crm_target(rec, user_of) for rec in crm]
    return out, contacts, domains


# --- Views ----------------------------------------------------------------------------------------------------------


def _views(conn: Connection, tenant_id: str, settings: Settings, targets: Sequence[_Target], at: datetime, *,
           every_record: bool) -> list[tuple[str, str, bytes]]:
    config = health_config(q.tenant_options(conn, tenant_id), window_days=settings.analytics_window_days)
    needed = None if every_record else {cid for t in targets for cid in t.contact_ids}
    since = at.date() - timedelta(days=health_math.history_days_needed(config))
    (contact, user, day, kind, us, them), users = q.rollup_user_day_counts(
        conn, tenant_id, since=since, until=at.date(), contact_ids=needed)
    counts = _record_counts(targets, contact, user, day, kind, us, them, users)
    results = health_math.evaluate_batch(counts, [t.record_type for t in targets], at.date(), config)

    start, end = at - timedelta(days=config.window_days), at + timedelta(days=LOOKAHEAD_DAYS)
    activities = (q.window_activities(conn, tenant_id, start=start, end=end) if needed is None
                  else q.window_activities_of_contacts(conn, tenant_id, needed, start=start, end=end))
    per_target = _activities_per_target(targets, activities)
    keys = [(t.ref.kind, t.ref.key) for t in targets]
    histories = q.health_histories(conn, tenant_id, None if every_record else keys)
    out: list[tuple[str, str, bytes]] = []
    for i, t in enumerate(targets):
        kpis = compute_kpis(per_target[i], RecordPeople(frozenset(t.contact_ids), t.user_ids), as_of=at,
                            window_days=config.window_days)
        view = health_view_of(t.ref, None if t.ref.closed else results[i], kpis, histories.get(keys[i], []), at)
        out.append((t.ref.kind, t.ref.key, encode(view, t.contact_ids)))
    return out


def _record_counts(targets: Sequence[_Target], contact: IntArray, user: IntArray, day: IntArray, kind: IntArray,
                   us: IntArray, them: IntArray, users: Sequence[str]) -> Counts:
    """Each target's rollup rows (its contacts', of its users only when it has users) as one ``Counts``."""
    order = np.argsort(contact, kind="stable")
    sorted_contact = contact[order]
    user_code = {u: i for i, u in enumerate(users)}
    rows_parts: list[IntArray] = []
    record_parts: list[IntArray] = []
    # Targets without a user filter, all at once: each (target, contact) pair takes the contact's row range.
    pair_target = np.array([i for i, t in enumerate(targets) if t.user_ids is None for _ in t.contact_ids],
                           dtype=np.int64)
    pair_contact = np.array([c for t in targets if t.user_ids is None for c in t.contact_ids], dtype=np.int64)
    lo = np.searchsorted(sorted_contact, pair_contact, side="left")
    hi = np.searchsorted(sorted_contact, pair_contact, side="right")
    sizes = hi - lo
    if sizes.sum():
        starts = np.repeat(lo - np.cumsum(sizes) + sizes, sizes)  # each row's offset from its pair's start
        rows_parts.append(order[starts + np.arange(int(sizes.sum()))])
        record_parts.append(np.repeat(pair_target, sizes))
    # Leads and opportunities: their people's rows with their own users only.
    for i, t in enumerate(targets):
        if t.user_ids is None:
            continue
        allowed = np.array([user_code[u] for u in t.user_ids if u in user_code], dtype=np.int64)
        for cid in t.contact_ids:
            rows = order[np.searchsorted(sorted_contact, cid, side="left"):
                         np.searchsorted(sorted_contact, cid, side="right")]
            rows = rows[np.isin(user[rows], allowed)]
            if len(rows):
                rows_parts.append(rows)
                record_parts.append(np.full(len(rows), i, dtype=np.int64))
    if not rows_parts:
        empty = np.zeros(0, dtype=np.int64)
        return Counts(empty, empty, empty, empty, empty)
    rows = np.concatenate(rows_parts)
    return Counts(np.concatenate(record_parts), day[rows], kind[rows], us[rows], them[rows])


def _activities_per_target(targets: Sequence[_Target], activities: Sequence[q.ActivityRow]
                           ) -> list[list[q.ActivityRow]]:
    """Each target's activities (those with any of its contacts on them), in the order read (start time)."""
    of_contact: dict[int, list[int]] = {}
    for i, t in enumerate(targets):
        for cid in t.contact_ids:
            of_contact.setdefault(cid, []).append(i)
    out: list[list[q.ActivityRow]] = [[] for _ in targets]
    for a in activities:
        chosen: set[int] = set()
        for p in a.participants:
            if p.contact_id is not None and p.contact_id in of_contact:
                chosen.update(of_contact[p.contact_id])
        for i in chosen:
            out[i].append(a)
    return out

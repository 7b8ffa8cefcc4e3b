"""Recompute stored health scores from the rollups: everything (``rapport analytics refresh --full``) or
incrementally (``rapport analytics refresh`` once aggregates exist, and ``rapport sync --watch`` after each round
that stored or removed items).

The sync keeps ``interaction_rollup`` exact in the ingest transaction, so scores never need the raw activities.
A score is a function of the record's daily counts per kind and side over the scoring horizon
(``health.history_days_needed``, 270 days by default); ``health.score_batch`` computes it for many records at
once with array operations, exactly as ``health.evaluate`` does for one.

* :func:`full_refresh` reads the rollups of the horizon as integer columns straight into arrays and sums them
  per contact, day and kind with NumPy, derives accounts by adding their contacts' days, reads
  per-user rows only for leads and opportunities (whose scope is their owner and team), scores every record,
  and writes ``score`` and the per-record aggregates ``health_state`` (each contact's and account's daily
  counts from the horizon's first day on, packed) in one transaction; scores of an earlier UTC day that it
  replaces go to ``score_history`` first (a current score is its own day's point in the history: see
  ``queries_relationships.write_health_scores``). It empties the rollup change journal ``rollup_change``:
  everything in it is in the rollups it just read.
* :func:`incremental_refresh` consumes the journal (the ingest adds every rollup difference to it in the
  sync's transaction), adds the changes to the stored aggregates of the contacts they concern and of those
  contacts' accounts, rescores exactly those records from their updated aggregates — no history is re-read —
  and rescores the leads and opportunities those contacts are on from their own people's rollups. Without
  stored aggregates covering the horizon (no full refresh yet, or an earlier ``now``) it does a full refresh.
  It stores what it added to each record's aggregate as a new ``health_delta`` row (numbered by
  ``health_refresh.increments``) instead of rewriting the record's ``health_state`` row: the rows of one
  refresh share a few new pages, where rewriting states dirtied one page (accounts: an overflow chain) per
  record — half of what the refresh wrote on the large benchmark tenant. A record's aggregate is its state
  plus its deltas; a record that already has ``_MAX_DELTAS`` of them gets its whole aggregate written as its
  state instead (its deltas deleted), and a full refresh drops them all. Its scores go to
  ``health_score_change`` (one small row per record, the ``details`` document's numbers packed by
  ``health_factors``, not formatted) instead of the records' ``score`` rows; every reader of health scores
  merges the two (``queries_relationships.stored_health`` and friends), and the next full refresh rewrites
  ``score`` and empties ``health_score_change``.

Aggregates follow the scope at the time of the last full refresh: a contact linked to another account later
(a CRM import) moves with the next full refresh. Packed series: int32 rows (day ordinal, kind index, from us,
from them), one per day and kind with a non-zero count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from analytics.query import CLOSED_LEAD, CLOSED_OPPORTUNITY
from analytics.relationships import health as health_math
from analytics.relationships.config import HealthConfig, health_config
from analytics.relationships.health import Counts, IntArray, Settled
from analytics.relationships.who_knows import is_automated
from analytics.settings import Settings
from analytics.store import health_factors
from analytics.store import queries_relationships as q

T = TypeVar("T")
log = logging.getLogger(__name__)
_SERIALIZATION_RETRIES = 3


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """How many records of each type were scored, and whether every record was (a full refresh)."""

    contacts: int = 0
    accounts: int = 0
    leads: int = 0
    opportunities: int = 0
    full: bool = False
    # (record type, record id) of every record scored; empty after a full refresh (then every record was)
    records: frozenset[tuple[str, str]] = frozenset()

    @property
    def total(self) -> int:
        return self.contacts + self.accounts + self.leads + self.opportunities


_Scored = tuple[str, str, float | None, str | None, str | None, str]  # type, id, value, state, trend, details
_Changed = tuple[str, str, float | None, str | None, str | None, bytes | None]  # … packed factors (None: closed)


def _closed_row(record_type: str, record_id: str) -> _Scored:
    return (record_type, record_id, None, "Not computed", None, '{"reason": "closed"}')


# --- Columnar daily counts ----------------------------------------------------------------------------------------

_EMPTY = np.zeros(0, dtype=np.int64)


def _counts(parts: Iterable[Counts]) -> Counts:
    chosen = [p for p in parts if len(p)]
    if not chosen:
        return Counts(_EMPTY, _EMPTY, _EMPTY, _EMPTY, _EMPTY)
    return Counts(*(np.concatenate([getattr(p, f) for p in chosen]) for f in
                    ("record", "day", "kind", "from_us", "from_them")))


def _summed(c: Counts) -> Counts:
    """One entry per (record, day, kind), sorted by record, zero entries dropped."""
    if not len(c):
        return c
    base = int(c.day.min())
    key = (c.record << 27) | ((c.day - base) << 3) | c.kind
    keys, inverse = np.unique(key, return_inverse=True)
    us = np.bincount(inverse, weights=c.from_us, minlength=len(keys)).astype(np.int64)
    them = np.bincount(inverse, weights=c.from_them, minlength=len(keys)).astype(np.int64)
    keep = (us != 0) | (them != 0)
    keys = keys[keep]
    return Counts(keys >> 27, ((keys >> 3) & ((1 << 24) - 1)) + base, keys & 7, us[keep], them[keep])


def _aggregate(parts: Iterable[Counts]) -> Counts:
    """Records' aggregates from their parts (stored state, stored deltas, this refresh's delta), for scoring.

    Scoring adds up the entries of a (record, day, kind) itself, which gives exactly the totals' results while
    no entry is negative; a negative one (a mail removed or merged away) must be netted against the others
    first (a day whose counts cancel out is a day without contact), so only then are they summed here."""
    c = _counts(parts)
    if len(c) and (int(c.from_us.min()) < 0 or int(c.from_them.min()) < 0):
        return _summed(c)
    return c


def _pack(c: Counts, n: int) -> list[bytes]:
    """Each record's entries of a :func:`_summed` ``Counts`` as a packed series."""
    table = np.stack([c.day, c.kind, c.from_us, c.from_them], axis=1).astype(np.int32)
    bounds = np.searchsorted(c.record, np.arange(n + 1))
    return [table[bounds[i]:bounds[i + 1]].tobytes() for i in range(n)]


def _unpack(records: Sequence[int], series: Sequence[bytes]) -> Counts:
    """The packed series of several records (``records[i]`` owns ``series[i]``) as one ``Counts``."""
    if not series:
        return _counts(())
    table = np.frombuffer(b"".join(series), dtype=np.int32).reshape(-1, 4).astype(np.int64)
    lengths = np.array([len(b) // 16 for b in series], dtype=np.int64)
    owner = np.repeat(np.asarray(records, dtype=np.int64), lengths)
    return Counts(owner, table[:, 0], table[:, 1], table[:, 2], table[:, 3])


def _unpack_parts(at: Mapping[str, int], stored: Mapping[str, q.StoredAggregate],
                  part: Callable[[str, q.StoredAggregate], bytes | None]) -> Counts:
    """One part (``part(record id, aggregate)``: its state, its change since the full refresh, …) of the stored
    aggregates of the records ``at`` indexes, as one ``Counts``."""
    owners: list[int] = []
    series: list[bytes] = []
    for record_id, aggregate in stored.items():
        if chosen := part(record_id, aggregate):
            owners.append(at[record_id])
            series.append(chosen)
    return _unpack(owners, series)


def _from_columns(record: IntArray, day: IntArray, kind: IntArray, us: IntArray, them: IntArray,
                  keep: Any = None) -> Counts:
    if keep is None:
        return Counts(record, day, kind, us, them)
    return Counts(record[keep], day[keep], kind[keep], us[keep], them[keep])


# --- Scoring --------------------------------------------------------------------------------------------------------


class _Batch:
    """Records to score together: their keys, types and daily counts, group by group (a record type's records
    at a time), each group with the :class:`~analytics.relationships.health.Settled` part of its scores when the
    caller has it (else it is computed from the group's counts)."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, str]] = []  # (record type, record id)
        self.parts: list[Counts] = []  # each group's counts, its records numbered from 0
        self.given: list[Settled | None] = []
        self.sizes: list[int] = []
        self.closed: list[_Scored] = []
        self.settled: list[Settled] = []  # each group's settled part, once scored

    def add(self, record_type: str, ids: Sequence[str], counts: Counts, settled: Settled | None = None) -> int:
        """Add records ``ids``; ``counts.record`` indexes ``ids``; ``settled``: their settled part, if known.
        Returns the index of the group."""
        self.keys.extend((record_type, i) for i in ids)
        self.parts.append(counts)
        self.given.append(settled)
        self.sizes.append(len(ids))
        return len(self.parts) - 1

    def _scores(self, as_of: date, config: HealthConfig) -> health_math.BatchScores:
        types = [t for t, _ in self.keys]
        shifted: list[Counts] = []
        self.settled = []
        offset = 0
        for counts, given, n in zip(self.parts, self.given, self.sizes, strict=True):
            shifted.append(Counts(counts.record + offset, counts.day, counts.kind, counts.from_us,
                                  counts.from_them))
            self.settled.append(given if given is not None else
                                health_math.settle(counts, types[offset:offset + n], as_of, config))
            offset += n
        return health_math.score_settled(_counts(shifted), types, as_of, config,
                                         health_math.Settled.concat(self.settled))

    def score(self, as_of: date, config: HealthConfig) -> list[_Scored]:
        """Every record's score with its ``details`` as JSON text (a full refresh's ``score`` rows)."""
        scores = self._scores(as_of, config)
        rows = [(t, i, value, state, trend, details) for (t, i), (value, state, trend, details)
                in zip(self.keys, scores.details_json(config), strict=True)]
        return rows + self.closed

    def score_packed(self, as_of: date, config: HealthConfig) -> list[_Changed]:
        """Every record's score with the numbers of its ``details`` packed (``health_factors``; None for a
        closed record): what an incremental refresh stores, without formatting a document per record."""
        scores = self._scores(as_of, config)
        now = scores.now
        values = [None if v != v else v for v in now.score.tolist()]  # NaN: not enough information
        factors = health_factors.pack(scores.then.score, now.values, now.weights, now.points, scores.changes())
        rows: list[_Changed] = [(t, i, value, state, trend, packed) for (t, i), value, state, trend, packed
                                in zip(self.keys, values, scores.state(config), scores.trend, factors, strict=True)]
        return rows + [(t, i, value, state, trend, None) for t, i, value, state, trend, _ in self.closed]


def _scope(contact: q.ContactRow, domains: Mapping[str, str]) -> tuple[str, str | None] | None:
    """What a refresh scores a contact's rollups as: its email (the contact record) and its account (None: none);
    None for an automated sender, whose traffic no health score counts."""
    return None if is_automated(contact) else (contact.email, contact.account_in(domains))


def _config(conn: Connection, tenant_id: str, settings: Settings) -> HealthConfig:
    return health_config(q.tenant_options(conn, tenant_id), window_days=settings.analytics_window_days)


def _crm_records(conn: Connection, tenant_id: str, batch: _Batch, records: Sequence[q.CrmRecordRow],
                 since: date) -> tuple[int, int]:
    """Add leads and opportunities, scored from their own people's rollups (closed ones: not computed)."""
    emails: set[str] = set()
    for rec in records:
        emails.update(rec.external_addresses)
        if rec.contact_email:
            emails.add(rec.contact_email.lower())
    by_email = {c.email: c for c in q.contacts_by_emails(conn, tenant_id, emails)}
    user_of = q.user_ids_by_email(conn, tenant_id, {a for rec in records for a in rec.internal_addresses})
    counts = {"lead": 0, "opportunity": 0}
    scopes: list[tuple[q.CrmRecordRow, list[int], frozenset[str] | None]] = []
    for rec in records:
        counts[rec.record_type] += 1
        closed = CLOSED_LEAD if rec.record_type == "lead" else CLOSED_OPPORTUNITY
        if rec.status in closed:
            batch.closed.append(_closed_row(rec.record_type, rec.record_id))
            continue
        mine = set(rec.external_addresses) | ({rec.contact_email.lower()} if rec.contact_email else set())
        ids = [by_email[e].contact_id for e in sorted(mine) if e in by_email]
        team = {user_of[a] for a in rec.internal_addresses if a in user_of}
        if rec.owner_id:
            team.add(rec.owner_id)
        scopes.append((rec, ids, frozenset(team) if team else None))
    needed = {cid for _, ids, _ in scopes for cid in ids}
    (contact, user, day, kind, us, them), users = q.user_day_counts(conn, tenant_id, needed, since=since)
    user_code = {u: i for i, u in enumerate(users)}
    order = np.argsort(contact, kind="stable")
    contact_sorted = contact[order]
    parts: list[IntArray] = []
    records_of: list[IntArray] = []
    for n, (_rec, ids, members) in enumerate(scopes):
        for cid in ids:
            lo = np.searchsorted(contact_sorted, cid, side="left")
            hi = np.searchsorted(contact_sorted, cid, side="right")
            rows = order[lo:hi]
            if members is not None and len(rows):
                allowed = np.array([user_code[u] for u in members if u in user_code], dtype=np.int64)
                rows = rows[np.isin(user[rows], allowed)]
            if len(rows):
                parts.append(rows)
                records_of.append(np.full(len(rows), n, dtype=np.int64))
    for record_type in ("lead", "opportunity"):
        chosen = [n for n, (rec, _, _) in enumerate(scopes) if rec.record_type == record_type]
        local = np.full(len(scopes), -1, dtype=np.int64)
        local[chosen] = np.arange(len(chosen))
        if parts:
            rows = np.concatenate(parts)
            rec_index = local[np.concatenate(records_of)]
            keep = rec_index >= 0
            c = _from_columns(rec_index, day[rows], kind[rows], us[rows], them[rows], keep)
        else:
            c = _counts(())
        batch.add(record_type, [scopes[n][0].record_id for n in chosen], c)
    return counts["lead"], counts["opportunity"]


def _all_crm_records(conn: Connection, tenant_id: str, ids: Iterable[tuple[str, str]] | None = None
                     ) -> list[q.CrmRecordRow]:
    if ids is None:
        return [*q.crm_records(conn, tenant_id, "lead"), *q.crm_records(conn, tenant_id, "opportunity")]
    chosen = list(ids)
    leads = [i for t, i in chosen if t == "lead"]
    opps = [i for t, i in chosen if t == "opportunity"]
    return [*q.crm_records(conn, tenant_id, "lead", leads), *q.crm_records(conn, tenant_id, "opportunity", opps)]


def _settled_counts(record_type: str, ids: Sequence[str], at: Mapping[str, int],
                    stored: Mapping[str, q.StoredAggregate], delta: Counts, earlier: Counts, kept: _SettledMemory,
                    as_of: date, config: HealthConfig) -> tuple[Counts, Settled]:
    """The counts and settled parts to rescore records ``ids`` from on the day of the full refresh whose
    settled parts ``kept`` holds: a record whose changes since then (``earlier``, and this refresh's ``delta``)
    all lie after the day its settled part depends on takes it from ``kept`` and only its live days from the
    stored aggregate; any other record (a change reaching back that far, or a record new since) its whole
    aggregate and a settled part computed from it."""
    then_day = as_of.toordinal() - config.trend_days
    rows = np.array([kept.rows.get(i, -1) for i in ids], dtype=np.int64)
    reuse = rows >= 0
    for part in (delta, earlier):
        reuse[part.record[part.day <= then_day]] = False
    bases = _unpack_parts(at, stored, lambda i, a: kept.live.get(i) if reuse[at[i]] else a.base)
    counts = _aggregate([delta, earlier, bases])
    if reuse.all():  # the usual round: new mail and meetings only
        return counts, kept.settled.take(rows)
    own = ~reuse[counts.record]
    computed = health_math.settle(_from_columns(counts.record, counts.day, counts.kind, counts.from_us,
                                                counts.from_them, own), [record_type] * len(ids), as_of, config)
    if not reuse.any():
        return counts, computed
    return counts, kept.settled.take(np.maximum(rows, 0)).where(reuse, computed)


# --- Transactions ---------------------------------------------------------------------------------------------------


def _transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in one transaction that sees one snapshot of the store.

    The refresh first empties or consumes the change journal, then reads: on SQLite that first write takes the
    database's write lock, so no sync commits in between; on PostgreSQL the transaction is REPEATABLE READ, and
    a sync that changed a journal row concurrently makes it fail with a serialization error: it is retried.
    """
    for attempt in range(_SERIALIZATION_RETRIES):
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            try:
                with conn.begin():
                    return work(conn)
            except DBAPIError as err:
                code = getattr(err.orig, "sqlstate", None)
                if code not in ("40001", "40P01") or attempt == _SERIALIZATION_RETRIES - 1:
                    raise
    raise AssertionError("unreachable")


# --- Full refresh ---------------------------------------------------------------------------------------------------


def full_refresh(engine: Engine, tenant_id: str, settings: Settings, *, now: datetime) -> RefreshResult:
    """Recompute and store the health of every contact, account, lead and opportunity of the tenant, and the
    per-record aggregates incremental refreshes start from."""
    return _transaction(engine, lambda conn: _full(conn, tenant_id, settings, now))[0]


def _full(conn: Connection, tenant_id: str, settings: Settings, now: datetime,
          keep: bool = False) -> tuple[RefreshResult, _Warm | None]:
    """The full refresh; ``keep``: also return what a :class:`HealthRefresher` remembers of it."""
    config = _config(conn, tenant_id, settings)
    as_of = now.date()
    since = as_of - timedelta(days=health_math.history_days_needed(config))
    q.clear_rollup_changes(conn, tenant_id)  # everything in it is in the rollups read next
    contact_col, day, kind, us, them = q.contact_day_counts(conn, tenant_id, since=since)
    uniq, inverse = np.unique(contact_col, return_inverse=True)
    directory = (q.contacts_by_ids_fast(conn, tenant_id, uniq.tolist()) if len(uniq) < 2000
                 else q.all_contacts_fast(conn, tenant_id))
    domains = q.account_domains_fast(conn, tenant_id)
    contact_index = np.full(len(uniq), -1, dtype=np.int64)
    account_index = np.full(len(uniq), -1, dtype=np.int64)
    contact_ids: list[str] = []
    account_ids: dict[str, int] = {}
    scopes: dict[int, tuple[str, str | None] | None] = {}  # what a refresher remembers (``_Warm.scope_of``)
    for i, cid in enumerate(uniq.tolist()):
        c = directory.get(cid)
        if c is None or is_automated(c):
            if c is not None:
                scopes[cid] = None
            continue
        contact_index[i] = len(contact_ids)
        contact_ids.append(c.email)
        account_id = c.account_in(domains)
        scopes[cid] = (c.email, account_id)
        if account_id is not None:
            account_index[i] = account_ids.setdefault(account_id, len(account_ids))
    batch = _Batch()
    rec = contact_index[inverse]
    contacts = _summed(_from_columns(rec, day, kind, us, them, rec >= 0))
    contact_group = batch.add("contact", contact_ids, contacts)
    rec = account_index[inverse]
    accounts = _summed(_from_columns(rec, day, kind, us, them, rec >= 0))
    account_group = batch.add("account", list(account_ids), accounts)
    n_leads, n_opps = _crm_records(conn, tenant_id, batch, _all_crm_records(conn, tenant_id), since)
    rows = batch.score(as_of, config)
    q.write_health_scores(conn, tenant_id, rows, now=now)
    contact_series = _pack(contacts, len(contact_ids))
    account_series = _pack(accounts, len(account_ids))
    states = [("contact", i, s) for i, s in zip(contact_ids, contact_series, strict=True)]
    states += [("account", i, s) for i, s in zip(account_ids, account_series, strict=True)]
    q.replace_health_states(conn, tenant_id, states, since=since, now=now)
    result = RefreshResult(len(contact_ids), len(account_ids), n_leads, n_opps, full=True)
    if not keep:
        return result, None
    warm = _Warm(q.health_refresh_token(conn, tenant_id), since, now, directory, domains, {
        "contact": {i: q.StoredAggregate(b, None) for i, b in zip(contact_ids, contact_series, strict=True)},
        "account": {i: q.StoredAggregate(b, None) for i, b in zip(account_ids, account_series, strict=True)}},
        scopes)
    live_from = _live_from(as_of, config)
    for record_type, ids, counts, settled in (("contact", contact_ids, contacts, batch.settled[contact_group]),
                                              ("account", list(account_ids), accounts, batch.settled[account_group])):
        recent = _from_columns(counts.record, counts.day, counts.kind, counts.from_us, counts.from_them,
                               counts.day >= live_from)
        warm.settled[record_type] = _SettledMemory({i: n for n, i in enumerate(ids)}, settled,
                                                   dict(zip(ids, _pack(recent, len(ids)), strict=True)))
    return result, warm


# --- What a running sync calls --------------------------------------------------------------------------------------


def _utc_day(at: datetime) -> date:
    return (at.astimezone(UTC) if at.tzinfo is not None else at).date()


def _last_full_day(engine: Engine, tenant_id: str) -> date | None:
    """The UTC day of the tenant's last full refresh (None before the first)."""
    with engine.connect() as conn:
        marks = q.health_refresh_since(conn, tenant_id)
    return None if marks is None else _utc_day(marks[1])


def daily_full_refresh_due(engine: Engine, tenant_id: str, *, now: datetime) -> bool:
    """Whether the tenant's last full refresh ran on an earlier UTC day than ``now`` (False before the first).

    An incremental refresh rescores only the records the sync touched; a score is a function of the day
    (interactions decay with age, the trend compares windows ending today), so without a daily full refresh a
    relationship nobody touches would keep the score of the day it was last touched and never turn Declining."""
    last = _last_full_day(engine, tenant_id)
    return last is not None and last < _utc_day(now)


def refresh_due(engine: Engine, tenant_id: str, *, now: datetime) -> bool:
    """Whether a watching sync must refresh the tenant after a round that ingested nothing: its health was never
    refreshed (its mail came in through another process: the first sync the admin-consent flow starts, or a
    one-shot `rapport sync`), or :func:`daily_full_refresh_due`."""
    last = _last_full_day(engine, tenant_id)
    return last is None or last < _utc_day(now)


def refresh_for_now(engine: Engine, tenant_id: str, settings: Settings, *, now: datetime) -> RefreshResult:
    """The refresh a continuously running sync does after a round: a full refresh for the first refresh of each
    UTC day (:func:`daily_full_refresh_due`), an incremental one otherwise."""
    if daily_full_refresh_due(engine, tenant_id, now=now):
        return full_refresh(engine, tenant_id, settings, now=now)
    return incremental_refresh(engine, tenant_id, settings, now=now)


# --- Incremental refresh --------------------------------------------------------------------------------------------


def incremental_refresh(engine: Engine, tenant_id: str, settings: Settings, *, now: datetime) -> RefreshResult:
    """Fold the rollup changes since the last refresh into the stored aggregates and rescore the records they
    touch (see the module docstring); a full refresh when no stored aggregates cover the scoring horizon."""
    return _transaction(engine, lambda conn: _incremental(conn, tenant_id, settings, now, None))[0]


def _incremental(conn: Connection, tenant_id: str, settings: Settings, now: datetime, warm: _Warm | None,
                 remember: bool = False) -> tuple[RefreshResult, _Warm | _Patch | None]:
    """An incremental refresh; with ``warm`` (a :class:`HealthRefresher`'s memory, used only while the store's
    ``health_refresh`` row is still the one it saw last) the aggregates and the contact directory come from
    memory instead of the store. Returns what a refresher (``remember``) keeps once the transaction commits."""
    config = _config(conn, tenant_id, settings)
    as_of = now.date()
    if warm is not None and (current := q.health_refresh_token(conn, tenant_id)) != warm.token:
        warm.superseded_by = current  # another process refreshed since: its aggregates are in the store, not here
        warm = None
    marks = (warm.since, warm.full_at) if warm is not None else q.health_refresh_since(conn, tenant_id)
    if marks is None or marks[0] > as_of - timedelta(days=health_math.history_days_needed(config)):
        return _full(conn, tenant_id, settings, now, keep=remember)
    covered, full_at = marks
    changes = [c for c in q.take_rollup_changes(conn, tenant_id) if c[2] >= covered.toordinal()]
    if not changes:
        return RefreshResult(), warm
    touched = {c[0] for c in changes}
    found: dict[int, q.ContactRow] = {}
    scope: dict[int, tuple[str, str | None] | None]  # contact id → (email, account id); None: not scored
    if warm is None:
        domains = q.account_domains_fast(conn, tenant_id)
        scope = {cid: _scope(c, domains) for cid, c in q.contacts_by_ids_fast(conn, tenant_id, touched).items()}
    else:  # contacts new since the full refresh are looked up; they join the memory once this commits
        unknown = touched - warm.people.keys()
        found = q.contacts_by_ids_fast(conn, tenant_id, unknown) if unknown else {}
        scope = {cid: warm.scope_of(cid, found) for cid in touched}
    people = {cid: s for cid, s in scope.items() if s is not None}
    contact_ids = sorted(email for email, _ in people.values())
    contact_at = {e: i for i, e in enumerate(contact_ids)}
    account_ids = sorted({a for _, a in people.values() if a is not None})
    account_at = {a: i for i, a in enumerate(account_ids)}

    delta_contact: list[int] = []
    delta_account: list[int] = []
    delta_rows: list[tuple[int, int, int, int]] = []
    for cid, _user, day, kind, us, them in changes:
        person = people.get(cid)
        if person is None:
            continue
        email, account_id = person
        delta_contact.append(contact_at[email])
        delta_account.append(-1 if account_id is None else account_at[account_id])
        delta_rows.append((day, kind, us, them))
    table = np.array(delta_rows, dtype=np.int64).reshape(-1, 4)
    to_account = np.array(delta_account, dtype=np.int64)
    delta_c = _summed(_from_columns(np.array(delta_contact, dtype=np.int64), table[:, 0], table[:, 1], table[:, 2],
                                    table[:, 3]))
    delta_a = _summed(_from_columns(to_account, table[:, 0], table[:, 1], table[:, 2], table[:, 3], to_account >= 0))
    if warm is None:
        stored_c = q.health_states(conn, tenant_id, "contact", contact_ids)
        stored_a = q.health_states(conn, tenant_id, "account", account_ids)
    else:
        stored_c = warm.aggregates_of("contact", contact_ids)
        stored_a = warm.aggregates_of("account", account_ids)
    batch = _Batch()
    earlier: dict[str, Counts] = {}  # each record's change since the full refresh, before this one
    for record_type, ids, at, delta, stored in (("contact", contact_ids, contact_at, delta_c, stored_c),
                                                ("account", account_ids, account_at, delta_a, stored_a)):
        earlier[record_type] = _unpack_parts(at, stored, lambda _i, a: a.changed)
        kept = warm.settled.get(record_type) if warm is not None else None
        if kept is not None and kept.settled.as_of == as_of:
            counts, settled = _settled_counts(record_type, ids, at, stored, delta, earlier[record_type], kept,
                                              as_of, config)
            batch.add(record_type, ids, counts, settled)
        else:
            batch.add(record_type, ids, _aggregate([delta, earlier[record_type],
                                                    _unpack_parts(at, stored, lambda _i, a: a.base)]))
    involved = q.crm_records_for(conn, tenant_id, contact_ids, account_ids)
    since = as_of - timedelta(days=health_math.history_days_needed(config))
    n_leads, n_opps = _crm_records(conn, tenant_id, batch, _all_crm_records(conn, tenant_id, involved), since)
    rows = batch.score_packed(as_of, config)
    # Each contact's and account's change since the full refresh, stored with its score: the earlier change plus
    # this refresh's, summed (a few recent days: the row stays small). Lists in the batch's order: its rows are
    # the contacts, then the accounts, then leads and opportunities (no aggregate of their own).
    changed: dict[str, list[bytes]] = {}
    for record_type, ids, delta in (("contact", contact_ids, delta_c), ("account", account_ids, delta_a)):
        total = _summed(_counts([delta, earlier[record_type]]))
        changed[record_type] = _pack(total, len(ids))
    series: list[bytes | None] = [*changed["contact"], *changed["account"]]
    series += [None] * (len(rows) - len(series))
    # A full refresh copies every score of an earlier UTC day into the history; when it ran on now's day (and
    # later refreshes never run on an earlier day: they would be full ones), no score can need that copy.
    full_today = full_at.astimezone(UTC).date() >= now.astimezone(UTC).date()
    q.write_health_score_changes(conn, tenant_id, [(*r, b) for r, b in zip(rows, series, strict=True)], now=now,
                                 earlier_days=not full_today)
    increments = q.mark_incremental_refresh(conn, tenant_id, now=now)
    result = RefreshResult(len(contact_ids), len(account_ids), n_leads, n_opps,
                           records=frozenset((r[0], r[1]) for r in rows))
    if warm is None:
        return result, None
    updates = {t: dict(zip(ids, [q.StoredAggregate(base.base if (base := stored.get(i)) is not None else None, b)
                                 for i, b in zip(ids, changed[t], strict=True)], strict=True))
               for t, ids, stored in (("contact", contact_ids, stored_c), ("account", account_ids, stored_a))}
    # the row as it is now: an incremental refresh changes only its count (and time, which the token leaves out)
    token = None if warm.token is None else (*warm.token[:2], increments)
    return result, _Patch(token, found, scope, updates)


# --- A refresher that remembers -------------------------------------------------------------------------------------


def _live_from(as_of: date, config: HealthConfig) -> int:
    """The first day (ordinal) scoring as of ``as_of`` reads once a record's settled part is known: the scoring
    window's and the trend's recent period's first day."""
    return as_of.toordinal() - max(config.window_days, config.recent_days, config.trend_days) + 1


@dataclass(frozen=True, slots=True)
class _SettledMemory:
    """What a full refresh leaves a :class:`HealthRefresher` to rescore a record type's records on its day from:
    their settled parts (``health.Settled``, row ``rows[record id]``) and each one's stored aggregate from
    :func:`_live_from` on (``live``). A record rescored later that day after changes on later days only —
    what a watching sync's rounds bring — needs only those days: about a third of its aggregate by default,
    and one snapshot instead of two."""

    rows: dict[str, int]
    settled: Settled
    live: dict[str, bytes]


@dataclass(slots=True)
class _Warm:
    """What a :class:`HealthRefresher`'s last refresh read or wrote: the store's ``health_refresh`` row after it
    (``token``), what the aggregates cover, the contact directory and account domains of the full refresh, and
    every contact's and account's aggregate (state and change since the full refresh, as stored)."""

    token: tuple[Any, ...] | None
    since: date
    full_at: datetime
    people: dict[int, q.ContactRow]
    domains: dict[str, str]
    aggregates: dict[str, dict[str, q.StoredAggregate]]  # record type → record id → aggregate
    scopes: dict[int, tuple[str, str | None] | None] = field(default_factory=dict)  # memo of scope_of
    superseded_by: tuple[Any, ...] | None = None  # the store's row when it was found to differ from ``token``
    # record type → the settled part of the full refresh's scores (kept by a full refresh, not by a load)
    settled: dict[str, _SettledMemory] = field(default_factory=dict)

    @property
    def other_incremental(self) -> bool:
        """Whether it was superseded by another process's incremental refresh on the same full refresh (rather
        than by a full refresh, e.g. a daily `rapport analytics refresh --full` from cron)."""
        return (self.superseded_by is not None and self.token is not None
                and self.superseded_by[:2] == self.token[:2])

    def scope_of(self, contact_id: int, found: Mapping[int, q.ContactRow]) -> tuple[str, str | None] | None:
        """A contact's (email, account id) by the memory's directory and domains (``found``: contacts looked up
        since), None for an automated or unknown sender; memoised."""
        if contact_id in self.scopes:
            return self.scopes[contact_id]
        row = self.people.get(contact_id) or found.get(contact_id)
        return None if row is None else _scope(row, self.domains)

    def aggregates_of(self, record_type: str, ids: Iterable[str]) -> dict[str, q.StoredAggregate]:
        mine = self.aggregates[record_type]
        return {i: a for i in ids if (a := mine.get(i)) is not None}

    def patched(self, patch: _Patch) -> _Warm:
        self.token = patch.token
        self.people.update(patch.people)
        self.scopes.update(patch.scopes)
        for record_type, updates in patch.aggregates.items():
            self.aggregates[record_type].update(updates)
        return self


def _remembered(conn: Connection, tenant_id: str) -> _Warm | None:
    """A :class:`_Warm` of what the store holds now (None before the first full refresh)."""
    marks = q.health_refresh_since(conn, tenant_id)
    if marks is None:
        return None
    return _Warm(q.health_refresh_token(conn, tenant_id), marks[0], marks[1], q.all_contacts_fast(conn, tenant_id),
                 q.account_domains_fast(conn, tenant_id), q.all_health_states(conn, tenant_id))


@dataclass(frozen=True, slots=True)
class _Patch:
    """What an incremental refresh changed in a :class:`_Warm`, applied only once its transaction committed."""

    token: tuple[Any, ...] | None
    people: dict[int, q.ContactRow]
    scopes: dict[int, tuple[str, str | None] | None]
    aggregates: dict[str, dict[str, q.StoredAggregate]]


class HealthRefresher:
    """The refreshes of one tenant by a long-running process (``rapport sync --watch``), which keeps in memory
    the per-record aggregates and the contact directory that its own last refresh read or wrote.

    An incremental refresh then reads neither the touched records' stored aggregates nor their contacts: only
    the change journal, the CRM records involved and the ``health_refresh`` row — and that row decides whether
    the memory may be used at all: every refresh (full or incremental, by any process) changes it, so if it is
    not what this refresher saw after its own last refresh, another process refreshed in between and this one
    reads the store, exactly as :func:`incremental_refresh` does. The memory is replaced only after a refresh's
    transaction committed and forgotten when one fails. Its scope rules are the stored aggregates' (the module
    docstring): a contact's account is the one of the last full refresh; contacts that appeared since are looked
    up once. After its own full refresh it also keeps the records' settled parts (:class:`_SettledMemory`), so
    that the day's later rounds rescore a record changed only on recent days from its live days alone. Scores are
    identical to :func:`incremental_refresh`'s (tested). Memory: the aggregates the full refresh stores (≈ 20 MB
    on the large benchmark tenant), their live days and settled parts (≈ 5 MB more)."""

    def __init__(self, engine: Engine, tenant_id: str, settings: Settings) -> None:
        self.engine = engine
        self.tenant_id = tenant_id
        self.settings = settings
        self._warm: _Warm | None = None
        # Set once another process's incremental refresh was seen: then several processes refresh this tenant
        # (sync workers on PostgreSQL), memory would go stale after nearly every round, and only this process's own
        # full refresh fills it again. Another process's full refresh (cron, CLI) just has memory loaded again.
        self._shared = False

    @property
    def warm(self) -> bool:
        """Whether the next incremental refresh may start from memory (if nobody else refreshed meanwhile)."""
        return self._warm is not None

    def full(self, *, now: datetime) -> RefreshResult:
        """:func:`full_refresh`, keeping what it computed."""
        self._warm = None
        result, self._warm = _transaction(self.engine,
                                          lambda conn: _full(conn, self.tenant_id, self.settings, now, keep=True))
        return result

    def incremental(self, *, now: datetime) -> RefreshResult:
        """:func:`incremental_refresh`, from memory when it is still current."""
        warm, self._warm = self._warm, None  # a failed refresh leaves nothing half-applied behind
        result, kept = _transaction(self.engine,
                                    lambda conn: _incremental(conn, self.tenant_id, self.settings, now, warm,
                                                              remember=True))
        if isinstance(kept, _Patch):
            assert warm is not None
            self._warm = warm.patched(kept)
        else:
            self._warm = kept
        self._shared = self._shared or (warm is not None and warm.other_incremental)
        if self._warm is None and not self._shared:
            # Started after the day's full refresh (a restarted sync): load what the store holds, once. The refresh
            # itself has committed; failing to load only means the next one reads the store again.
            try:
                self._warm = _transaction(self.engine, lambda conn: _remembered(conn, self.tenant_id))
            except Exception:  # an optimisation's failure must not turn a committed refresh into an error
                log.warning("health aggregates not loaded into memory tenant=%s", self.tenant_id, exc_info=True)
        return result

    def for_now(self, *, now: datetime) -> RefreshResult:
        """:func:`refresh_for_now` through this refresher."""
        if daily_full_refresh_due(self.engine, self.tenant_id, now=now):
            return self.full(now=now)
        return self.incremental(now=now)

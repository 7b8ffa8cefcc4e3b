"""Materialise who-knows answers per record with the health views, so asking who knows a record reads one row.

A live who-knows answer (:meth:`analytics.query.RelationshipQueries.who_knows`) reads every rollup row of the
record's people since the beginning (1.7 ms p50, 3.5 ms p99 for a contact on the large benchmark store, far more
for a large account), on the bot's first ask of each refresh generation. :func:`answers` computes the stored
answers of many records at once; :func:`analytics.health_views.materialise` calls it for the records whose health
views it writes (same records, same read snapshot) and writes both in one transaction under one mark.
:mod:`analytics.stored_who_knows` has the encoding and the serving rule.

The batch: the rollups of every contact (of the records' contacts after an incremental refresh) up to the
refresh day are read in one statement as integer columns; each row's decayed, type-weighted counts are summed
per contact and user with NumPy (``bincount``, in row order), then per record and user over the record's people
(its scope as the live answer's, automated correspondents left out); the latest interaction per contact, user and
kind comes from one grouped statement. Each (record, user) sum becomes an edge through
:func:`analytics.relationships.who_knows.edge_of`, as in the live answer. Edges are stored for every user, nobody
left out (see :mod:`analytics.stored_who_knows`). The two-hop path of a record that nobody available knows is
computed per record by the live code (:func:`analytics.query.two_hop_hop`), handed the contacts' edges just
computed so that it reads only the co-participants and candidates, not their rollups again.

The sums are the live ones added in another order (per contact first): an edge's strength, rounded to 0.1, is
the live one; two colleagues whose connections differ in the last bit of a double could swap places.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import Connection

from analytics.query import two_hop_hop
from analytics.relationships import who_knows as wk
from analytics.relationships.config import DEFAULT_TYPE_WEIGHTS
from analytics.store import queries_relationships as q
from analytics.stored_who_knows import StoredPath, encode, excluded_fingerprint

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class WhoTarget:
    """A record as a who-knows answer sees it: its (record type, id) and the contact ids of its scope."""

    record_type: str
    record_id: str
    contact_ids: Sequence[int]


@dataclass(frozen=True, slots=True)
class Answers:
    """Stored bodies ``(record type, record id, body)`` and how many records needed a two-hop path."""

    bodies: list[tuple[str, str, bytes]]
    two_hop: int


def answers(conn: Connection, tenant_id: str, targets: Sequence[WhoTarget], contacts: Mapping[int, q.ContactRow],
            at: datetime, *, every_contact: bool) -> Answers:
    """The stored who-knows answers of ``targets`` as of ``at`` (``contacts``: every contact their scopes name).
    ``every_contact``: read every contact's rollups in one statement (a full pass) rather than the targets'."""
    as_of = at.date()
    automated = {cid for cid in {c for t in targets for c in t.contact_ids} if wk.is_automated(contacts[cid])}
    people = [[c for c in t.contact_ids if c not in automated] for t in targets]
    needed = None if every_contact else {c for p in people for c in p}
    edges = _edges_per_target(conn, tenant_id, people, as_of, needed)
    opted_out = q.opted_out_users(conn, tenant_id)
    excluded = opted_out | q.unavailable_users(conn, tenant_id)
    fingerprint = excluded_fingerprint(excluded)
    # Each contact's own edges (a contact target's scope is the contact): the hop candidates' edges, unread.
    known = {ids[0]: found for t, found, ids in zip(targets, edges, people, strict=True)
             if t.record_type == "contact" and len(ids) == 1}
    out: list[tuple[str, str, bytes]] = []
    two_hop = 0
    for t, found, ids in zip(targets, edges, people, strict=True):
        hop: tuple[str, StoredPath | None] | None = None
        if not any(e.user_id not in excluded for e in found):  # the live answer would look for a path
            two_hop += 1
            best = two_hop_hop(conn, tenant_id, [contacts[c] for c in ids], excluded, at, known)
            hop = (fingerprint, None if best is None else StoredPath(best.edge, best.via.display_name, best.via.email,
                                                                     best.link, best.relation))
        out.append((t.record_type, t.record_id, encode(found, hop)))
    return Answers(out, two_hop)


def _edges_per_target(conn: Connection, tenant_id: str, people: Sequence[Sequence[int]], as_of: date,
                      needed: set[int] | None) -> list[list[wk.Edge]]:
    """Every user's edge to each target's people (nobody left out), strongest first."""
    out: list[list[wk.Edge]] = [[] for _ in people]
    if needed is not None and not needed:
        return out
    (contact, user, day, kind, us, them), users, kinds = q.rollup_edge_rows(conn, tenant_id, until=as_of,
                                                                             contact_ids=needed)
    if not len(contact):
        return out
    n_users = len(users)
    # Each row's weight, as wk.edges computes it: the kind's weight times the decay of the row's age.
    kind_weight = np.array([DEFAULT_TYPE_WEIGHTS.get(k, 1.0) for k in kinds], dtype=np.float64)
    age = as_of.toordinal() - day
    decay = np.array([wk.decay(a) for a in range(int(age.max()) + 1)], dtype=np.float64)
    weight = kind_weight[kind] * decay[age]
    # Per contact and user (pairs sorted by contact, then user; contact ids are 63-bit: numbered densely).
    contact_id, contact_code = np.unique(contact, return_inverse=True)
    pair_key, pair_of_row = np.unique(contact_code * n_users + user, return_inverse=True)
    pair_us = np.bincount(pair_of_row, weights=weight * us)
    pair_them = np.bincount(pair_of_row, weights=weight * them)
    pair_count = np.bincount(pair_of_row, weights=(us + them).astype(np.float64))
    pair_contact, pair_user = pair_key // n_users, pair_key % n_users
    pair_last = _latest_per_pair(conn, tenant_id, as_of, needed, contact_id, pair_key, users, kinds)

    # Per target and user, over the target's people: each (target, contact) takes the contact's pairs.
    member_target = np.array([i for i, p in enumerate(people) for _ in p], dtype=np.int64)
    member_code = _codes(contact_id, np.array([c for p in people for c in p], dtype=np.int64))
    lo = np.searchsorted(pair_contact, member_code, side="left")
    sizes = np.searchsorted(pair_contact, member_code, side="right") - lo
    if not sizes.sum():
        return out
    starts = np.repeat(lo - np.cumsum(sizes) + sizes, sizes)
    member_pair = starts + np.arange(int(sizes.sum()))
    group_key, group_of = np.unique(np.repeat(member_target, sizes) * n_users + pair_user[member_pair],
                                    return_inverse=True)
    g_us = np.bincount(group_of, weights=pair_us[member_pair]).tolist()
    g_them = np.bincount(group_of, weights=pair_them[member_pair]).tolist()
    g_count = np.rint(np.bincount(group_of, weights=pair_count[member_pair])).astype(np.int64).tolist()
    g_last = np.full(len(group_key), -1, dtype=np.int64)
    np.maximum.at(g_last, group_of, pair_last[member_pair])
    ordered_kinds = sorted(kinds)
    n_kinds = len(ordered_kinds)
    for i, (key, last) in enumerate(zip(group_key.tolist(), g_last.tolist(), strict=True)):
        target, user_code = divmod(key, n_users)
        at, last_kind = ((None, None) if last < 0 else
                         (_EPOCH + timedelta(microseconds=last // n_kinds), ordered_kinds[last % n_kinds]))
        edge = wk.edge_of(users[user_code], g_us[i], g_them[i], g_count[i], at, last_kind)
        if edge is not None:
            out[target].append(edge)
    for found in out:
        found.sort(key=lambda e: (-e.raw, e.user_id))
    return out


def _codes(sorted_ids: q.IntArray, ids: q.IntArray) -> q.IntArray:
    """Each id's position in ``sorted_ids``, -1 when it is not there."""
    at = np.minimum(np.searchsorted(sorted_ids, ids), max(len(sorted_ids) - 1, 0))
    return np.where(sorted_ids[at] == ids, at, -1) if len(sorted_ids) else np.full(len(ids), -1, dtype=np.int64)


def _latest_per_pair(conn: Connection, tenant_id: str, as_of: date, needed: set[int] | None,
                     contact_id: q.IntArray, pair_key: q.IntArray, users: Sequence[str], kinds: Sequence[str]
                     ) -> q.IntArray:
    """Each pair's latest interaction as ``microseconds · kinds + kind rank`` (-1: none), so the greatest value
    is wk.edges' choice: the latest instant, of two kinds at the same instant the greater name."""
    user_code = {u: i for i, u in enumerate(users)}
    kind_rank = {k: i for i, k in enumerate(sorted(kinds))}
    rows = q.rollup_last_at(conn, tenant_id, until=as_of, contact_ids=needed)
    out = np.full(len(pair_key), -1, dtype=np.int64)
    if not rows:
        return out
    codes = _codes(contact_id, np.array([c for c, _u, _k, _at in rows], dtype=np.int64))
    keys = codes * len(users) + np.array([user_code[u] for _c, u, _k, _at in rows], dtype=np.int64)
    values = np.array([((last - _EPOCH) // _MICRO) * len(kinds) + kind_rank[k] for _c, _u, k, last in rows],
                      dtype=np.int64)
    np.maximum.at(out, np.searchsorted(pair_key, keys), values)
    return out

"""Stored who-knows answers: their encoding and the rule that says when one may be served.

:mod:`analytics.who_knows_views` writes, per record, with its health view (same records, same transaction, same
``health_view_mark``), what :meth:`analytics.query.RelationshipQueries.who_knows` needs to answer as of the
refresh instant ``T`` without reading a rollup:

* **every** colleague's connection (edge) to the record's people, strongest first, computed with *nobody* left
  out: a user's edge depends only on that user's own rollup rows, so leaving out opted-out and unavailable users
  at the ask gives exactly the edges the live answer keeps and counts;
* when nobody available at ``T`` knew the record's people, the two-hop path computed then, with a fingerprint
  of the users it left out (opted out, or unavailable: disabled, shared, room, equipment).

Names and emails of the colleagues are read from the directory at the ask, as the live answer does. The body is
zlib-compressed JSON; floats and times round-trip exactly.

**Serving rule.** A stored answer of a record is served for an ask at ``now`` when

1. the tenant's views are marked as written for its latest health refresh (``health_view_mark.refreshed_at``
   equals the latest of ``health_refresh``), and ``T <= now`` on the same UTC day as ``now`` (connections
   decay by the day) — the health views' rule (:func:`analytics.stored_views.is_current`);
2. the opted-out and unavailable users are read at the ask and left out of the stored edges then: an opt-out or
   a disabled account takes effect at once, with no refresh (the count of opted-out colleagues is the live one);
3. if nobody is left, the answer is a two-hop path, served only when the stored one was computed (nobody was
   left at ``T`` either) with the same set of left-out users (fingerprint), **and** by the latest
   materialisation (``T`` equals the mark): a path depends on *other* contacts' activity and co-participants,
   which an incremental refresh does not rescore this record for; an answer kept from an earlier refresh
   serves its edges, never its path.

Otherwise the answer is computed live, as before.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from analytics.relationships import who_knows as wk
from analytics.store import queries_relationships as q
from analytics.stored_views import is_current
from analytics.views import ColleagueView, IntroPathView, TargetRef, WhoKnowsView

FORMAT = 1  # bumped when the body's layout changes: older bodies are then ignored (answered live)


@dataclass(frozen=True, slots=True)
class StoredPath:
    """A two-hop path as stored: the colleague's edge to ``via`` and ``via``."""

    edge: wk.Edge
    via_name: str
    via_email: str
    via_link: int
    via_relation: str


def excluded_fingerprint(user_ids: Collection[str]) -> str:
    """A short digest of a set of user ids (the users a two-hop path left out)."""
    return hashlib.sha256("\n".join(sorted(user_ids)).encode()).hexdigest()[:24]


def encode(edges: Sequence[wk.Edge], hop: tuple[str, StoredPath | None] | None) -> bytes:
    """The stored body: every edge (nobody left out), strongest first; ``hop``: None when someone available knew
    the record's people at ``T`` (no path computed), else (fingerprint of the left-out users, the path or None)."""
    body: dict[str, Any] = {"format": FORMAT, "edges": [_edge_json(e) for e in edges], "hop": None}
    if hop is not None:
        fingerprint, path = hop
        body["hop"] = [fingerprint, None if path is None else [_edge_json(path.edge), path.via_name, path.via_email,
                                                               path.via_link, path.via_relation]]
    return zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 6)


def body_format(blob: bytes) -> int | None:
    value = json.loads(zlib.decompress(blob)).get("format")
    return value if isinstance(value, int) else None


def current_answer(conn: Connection, tenant_id: str, target: TargetRef, now: datetime) -> WhoKnowsView | None:
    """The stored answer for ``target`` if the serving rule allows it at ``now`` (module docstring), else None."""
    row = q.who_knows_view(conn, tenant_id, target.kind, target.key)
    if row is None or not is_current(row, now):
        return None
    body = json.loads(zlib.decompress(row.body))
    if body.get("format") != FORMAT:
        return None
    opted_out, unavailable = q.who_knows_left_out(conn, tenant_id)
    available = [e for e in body["edges"] if e[0] not in unavailable]
    kept = [e for e in available if e[0] not in opted_out]
    excluded = len(available) - len(kept)
    if kept:
        shown = [_edge(e) for e in kept[:wk.TOP_N]]
        return WhoKnowsView(target, tuple(colleague_views(conn, tenant_id, shown)), None, excluded, row.computed_at)
    hop = body["hop"]
    if hop is None or row.computed_at != row.marked_at or hop[0] != excluded_fingerprint(opted_out | unavailable):
        return None
    path = None
    if hop[1] is not None:
        edge, via_name, via_email, via_link, via_relation = hop[1]
        colleague = colleague_views(conn, tenant_id, [_edge(edge)])[0]
        path = IntroPathView(colleague, via_name, via_email, via_link, via_relation)
    return WhoKnowsView(target, (), path, excluded, row.computed_at)


def colleague_views(conn: Connection, tenant_id: str, edges: Sequence[wk.Edge]) -> list[ColleagueView]:
    """The edges as colleagues, with their names and emails from the directory now."""
    return colleagues_of(edges, q.users_by_id(conn, tenant_id, [e.user_id for e in edges]))


def colleagues_of(edges: Sequence[wk.Edge], directory: Mapping[str, q.UserRow]) -> list[ColleagueView]:
    out = []
    for e in edges:
        u = directory.get(e.user_id)
        out.append(ColleagueView(
            e.user_id, u.display_name if u else e.user_id, u.email if u else "", e.strength,
            e.level, e.last_at, e.last_kind, e.interactions, e.two_way))  # type: ignore[arg-type]
    return out


def _edge_json(e: wk.Edge) -> list[Any]:
    return [e.user_id, e.strength, e.raw, e.us, e.them, e.interactions,
            None if e.last_at is None else e.last_at.isoformat(), e.last_kind]


def _edge(d: list[Any]) -> wk.Edge:
    user_id, strength, raw, us, them, interactions, last_at, last_kind = d
    return wk.Edge(user_id, strength, raw, us, them, interactions,
                   None if last_at is None else datetime.fromisoformat(last_at), last_kind)

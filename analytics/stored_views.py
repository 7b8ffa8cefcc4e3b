"""Stored health answers: their encoding and the rule that says when one may be served.

:mod:`analytics.health_views` writes, per record, what :meth:`analytics.query.RelationshipQueries.health`
returns except the target (the caller's) and the asker's own connection, as of a refresh instant ``T``, with the
record's contact ids (what that connection is read for). The body is zlib-compressed JSON of plain values;
floats survive JSON exactly (``repr`` round trip) and times keep their microseconds and UTC offset, so a decoded
view equals the one that was encoded. A factor's explanation is stored as what it says (its key and numbers:
:class:`analytics.relationships.explanations.FactorExplanation`) and worded again when decoded, so a stored
answer can be shown in another language as a live one can; an explanation that is only text is stored as text.

**Freshness rule.** A stored view of a record is served for an ask at ``now`` when

1. the tenant's views are marked as written for its latest health refresh (``health_view_mark.refreshed_at``
   equals ``health_refresh.incremental_at``, else ``full_at``): a refresh whose views were not (yet) written
   disables every stored view of the tenant until they are;
2. ``T <= now`` and ``T`` falls on the same UTC day as ``now``: the score is a function of the day (as in the
   stored ``score``), and the KPI window slides with the day; a view is never served for an earlier instant;
3. for a lead or opportunity, it was closed at ``T`` exactly when the asked target is closed.

Otherwise the answer is computed live, as before. A served view is the live answer at ``T`` (its
``computed_at``): activities synced after the refresh show once the next refresh (after every sync round, in
``rapport sync --watch``) has rewritten the views of the records it rescored.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection

from analytics.relationships.explanations import FactorExplanation
from analytics.store import queries_relationships as q
from analytics.views import (
    DayBreakdown,
    FactorView,
    HealthPoint,
    HealthView,
    InteractionRef,
    KpiView,
    PersonCount,
    SideKpis,
    TargetRef,
)

# Bumped when the body's layout changes: older bodies are then ignored (answered live). 3: explanations as
# [key, numbers] instead of English text.
FORMAT = 3


@dataclass(frozen=True, slots=True)
class StoredHealth:
    """A decoded stored view: the answer without target and asker, and the record's contact ids."""

    view: HealthView
    contact_ids: tuple[int, ...]


def encode(view: HealthView, contact_ids: Sequence[int]) -> bytes:
    """The stored body of ``view`` (written field by field: a full materialisation encodes tens of thousands,
    and the generic :func:`analytics.views.to_jsonable` took half of the work)."""
    k = view.kpis
    body = {"format": FORMAT, "closed": view.target.closed, "score": view.score, "state": view.state,
            "trend": view.trend, "previous_score": view.previous_score,
            "factors": [[f.name, f.value, f.weight, f.points, f.change, _explanation_json(f.explanation)]
                        for f in view.factors],
            "kpis": [k.window_days, k.as_of.isoformat(), _side_json(k.us), _side_json(k.them), k.email_ratio,
                     _interaction_json(k.last_interaction), _interaction_json(k.next_interaction),
                     [[b.day.toordinal(), b.emails, b.meetings, b.calls] for b in k.breakdown]],
            "history": [[p.at.isoformat(), p.score, p.state] for p in view.history],
            "computed_at": view.computed_at.isoformat(), "contact_ids": sorted(contact_ids)}
    return zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 6)


def body_format(blob: bytes) -> int | None:
    value = json.loads(zlib.decompress(blob)).get("format")
    return value if isinstance(value, int) else None


def decode(blob: bytes, target: TargetRef) -> StoredHealth | None:
    """The stored view for ``target`` (None when it was written in another format or closed-ness differs)."""
    body = json.loads(zlib.decompress(blob))
    if body.get("format") != FORMAT or body["closed"] != target.closed:
        return None
    view = HealthView(target, body["score"], body["state"], body["trend"], body["previous_score"],
                      tuple(_factor(f) for f in body["factors"]), _kpis(body["kpis"]),
                      tuple(HealthPoint(_at(at), score, state) for at, score, state in body["history"]),
                      _at(body["computed_at"]), None)
    return StoredHealth(view, tuple(body["contact_ids"]))


def is_current(row: q.StoredViewRow, now: datetime) -> bool:
    """The freshness rule's points 1 and 2 (module docstring)."""
    at = row.computed_at
    return (row.marked_at == row.refreshed_at and at <= now
            and at.astimezone(UTC).date() == now.astimezone(UTC).date())


def current_view(conn: Connection, tenant_id: str, target: TargetRef, now: datetime) -> StoredHealth | None:
    """The stored view of ``target`` if the freshness rule allows serving it at ``now``, else None."""
    row = q.health_view(conn, tenant_id, target.kind, target.key)
    if row is None or not is_current(row, now):
        return None
    return decode(row.body, target)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _explanation_json(text: str) -> str | list[Any]:
    return [text.key, dict(text.args)] if isinstance(text, FactorExplanation) else text


def _factor(d: list[Any]) -> FactorView:
    name, value, weight, points, change, text = d
    explanation = text if isinstance(text, str) else FactorExplanation.of(text[0], **text[1])
    return FactorView(name, value, weight, points, change, explanation)


def _side_json(s: SideKpis) -> list[Any]:
    return [s.emails_sent, s.meetings_organised, s.calls_made, s.initiated, s.minutes_spent,
            s.avg_first_response_hours, s.response_rate, [[p.name, p.email, p.interactions] for p in s.most_contacted],
            s.median_first_response_hours]


def _side(d: list[Any]) -> SideKpis:
    emails, meetings, calls, initiated, minutes, avg, rate, people, median = d
    return SideKpis(emails, meetings, calls, initiated, minutes, avg, rate,
                    tuple(PersonCount(*p) for p in people), median)


def _interaction_json(i: InteractionRef | None) -> list[Any] | None:
    return None if i is None else [i.at.isoformat(), i.kind, i.side]


def _interaction(d: list[Any] | None) -> InteractionRef | None:
    return None if d is None else InteractionRef(_at(d[0]), d[1], d[2])


def _kpis(d: list[Any]) -> KpiView:
    window, as_of, us, them, ratio, last, nxt, breakdown = d
    return KpiView(window, _at(as_of), _side(us), _side(them), ratio, _interaction(last), _interaction(nxt),
                   tuple(DayBreakdown(date.fromordinal(day), e, m, c) for day, e, m, c in breakdown))

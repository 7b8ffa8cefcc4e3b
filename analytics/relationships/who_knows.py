"""Who knows whom, sans IO: connection strength between internal users and external people.

Strength of a user–contact pair, from the daily rollups:

* every interaction counts with its type weight (a meeting says more than an email) and decays with age
  (half-life 60 days), so recent contact counts more than old contact: relationships move (accounts change
  hands, people change role, new contacts ramp up) and who knows someone *now* is what an introduction needs —
  a colleague who mailed a contact weekly until four months ago weighs a quarter of one who does so now;
* ``us`` and ``them`` are the decayed, weighted counts of each direction; a two-way relationship weighs more:
  ``raw = (us + them) · (0.5 + reciprocity)`` with ``reciprocity = 2 · min(us, them) / (us + them)`` — one-way
  outreach counts half, a balanced exchange one and a half;
* the strength shown is ``100 · (1 − exp(−raw / 6))``, levels Strong ≥ 60, Moderate ≥ 30, else Weak.

Automated correspondents (bulk senders, no-reply addresses, distribution lists) and users who opted out are
left out before anything is computed, so an opt-out also removes that user's past edges.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from analytics.relationships.config import DEFAULT_TYPE_WEIGHTS
from analytics.store.queries_relationships import ContactRow, RollupRow

HALF_LIFE_DAYS = 60.0
STRENGTH_SCALE = 6.0
STRONG_FROM = 60.0
MODERATE_FROM = 30.0
TOP_N = 5

_AUTOMATED_LOCAL = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|mailer[-_.]daemon|postmaster|bounces?|notifications?|"
    r"alerts?|newsletter|news|marketing|info|updates?|digest|list|lists|announce|listserv|majordomo)"
    r"([-_.+].*)?$")
_AUTOMATED_CLASSES = frozenset({"bulk", "noreply", "list"})


def is_automated_address(email: str) -> bool:
    """An address whose local part says it is a machine or a list (no-reply@, newsletter@, mailer-daemon@, …)."""
    return bool(_AUTOMATED_LOCAL.match(email.strip().lower().partition("@")[0]))


def is_automated(contact: ContactRow) -> bool:
    """A bulk sender, a no-reply address or a distribution list: never someone a colleague "knows"."""
    return contact.sender_class in _AUTOMATED_CLASSES or is_automated_address(contact.email)


@dataclass(frozen=True, slots=True)
class Edge:
    """The connection of one user to a set of external people (a contact, or every contact of a company)."""

    user_id: str
    strength: float  # 0..100
    raw: float
    us: float  # decayed weighted outreach by the user
    them: float  # decayed weighted outreach by the external side
    interactions: int  # raw count, both directions
    last_at: datetime | None
    last_kind: str | None

    @property
    def two_way(self) -> bool:
        return self.us > 0 and self.them > 0

    @property
    def level(self) -> str:
        return level_of(self.strength)


def level_of(strength: float) -> str:
    if strength >= STRONG_FROM:
        return "Strong"
    if strength >= MODERATE_FROM:
        return "Moderate"
    return "Weak"


def decay(age_days: int) -> float:
    """The weight of an interaction ``age_days`` old (0 for today and the future)."""
    return float(0.5 ** (max(0, age_days) / HALF_LIFE_DAYS))


def _decay(day: date, as_of: date) -> float:
    return decay((as_of - day).days)


def edge_of(user_id: str, us: float, them: float, interactions: int, last_at: datetime | None,
            last_kind: str | None) -> Edge | None:
    """A user's edge from its decayed weighted sums (None when both are 0)."""
    total = us + them
    if total <= 0:
        return None
    raw = total * (0.5 + 2 * min(us, them) / total)
    strength = round(100.0 * (1.0 - math.exp(-raw / STRENGTH_SCALE)), 1)
    return Edge(user_id, strength, raw, us, them, interactions, last_at, last_kind)


def edges(
    rows: Iterable[RollupRow],
    *,
    as_of: date,
    excluded_users: Collection[str] = (),
    type_weights: Mapping[str, float] = DEFAULT_TYPE_WEIGHTS,
) -> list[Edge]:
    """The users' connections to the people in ``rows``, strongest first (rows after ``as_of`` are ignored)."""
    acc: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    last: dict[str, tuple[datetime, str]] = {}
    for r in rows:
        if r.day > as_of or r.user_id in excluded_users:
            continue
        w = type_weights.get(r.kind, 1.0) * _decay(r.day, as_of)
        a = acc.setdefault(r.user_id, [0.0, 0.0])
        a[0] += w * r.from_us
        a[1] += w * r.from_them
        counts[r.user_id] = counts.get(r.user_id, 0) + r.from_us + r.from_them
        # The latest interaction; of two kinds at the same instant the greater name, whatever the rows' order.
        if r.last_at is not None and (r.user_id not in last or (r.last_at, r.kind) > last[r.user_id]):
            last[r.user_id] = (r.last_at, r.kind)
    out: list[Edge] = []
    for user_id, (us, them) in acc.items():
        at, kind = last.get(user_id, (None, None))
        edge = edge_of(user_id, us, them, counts[user_id], at, kind)
        if edge is not None:
            out.append(edge)
    out.sort(key=lambda e: (-e.raw, e.user_id))
    return out


def message_count_ranking(rows: Iterable[RollupRow], *, as_of: date,
                          excluded_users: Collection[str] = ()) -> list[str]:
    """Baseline: users ranked by the raw number of interactions, no recency, no weighting, no reciprocity."""
    counts: dict[str, int] = {}
    for r in rows:
        if r.day <= as_of and r.user_id not in excluded_users:
            counts[r.user_id] = counts.get(r.user_id, 0) + r.from_us + r.from_them
    return [u for u, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n > 0]


@dataclass(frozen=True, slots=True)
class Hop:
    """A two-hop introduction path: ``edge.user_id`` knows ``via`` who is linked to the target."""

    edge: Edge
    via: ContactRow
    link: int  # activities ``via`` shared with the target; 0 when linked only by the company
    relation: str  # "shared interactions" | "same company"

    @property
    def rank_key(self) -> tuple[float, float, str]:
        # Both hops must hold: rank by the weaker one, then by the colleague's strength.
        link_strength = 100.0 * (1.0 - math.exp(-self.link / 2.0)) if self.link else 25.0
        return (-min(self.edge.strength, link_strength), -self.edge.strength, self.edge.user_id)


def best_hop(candidates: Iterable[Hop]) -> Hop | None:
    """The path whose weaker hop is strongest."""
    return min(candidates, key=lambda h: h.rank_key, default=None)

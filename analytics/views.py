"""What the analytics query API returns: immutable views for the bot, the CLI and digests.

Views are plain frozen dataclasses of built-in values (str, int, float, datetime, tuples), so a card renderer or
``--json`` output can serialise them without knowing the store. :func:`to_jsonable` does that conversion.

Vocabulary:

* a *target* is what a question is about: a contact (email), a company (domain or account) or a CRM record;
* a *side* is ``us`` (the tenant's users) or ``them`` (the customer's people);
* times are timezone-aware UTC; durations are minutes or hours as the field name says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

TargetKind = Literal["contact", "account", "domain", "lead", "opportunity"]
HealthState = Literal["Good", "Fair", "Poor", "Not enough info", "Not computed"]
Trend = Literal["Improving", "Steady", "Declining", "Not enough info"]
StrengthLevel = Literal["Strong", "Moderate", "Weak"]


@dataclass(frozen=True, slots=True)
class TargetRef:
    """A resolved target. ``key`` identifies it in the store (contact email, account id, domain, record id)."""

    kind: TargetKind
    key: str
    label: str  # what to show: a name (a lead: "Contact (Company)"), or the email / domain / id itself
    closed: bool = False  # a closed lead or opportunity: no health is computed


@dataclass(frozen=True, slots=True)
class PersonCount:
    """One person and how many interactions they had with the other side in the window."""

    name: str
    email: str
    interactions: int


@dataclass(frozen=True, slots=True)
class SideKpis:
    """What one side did in the window."""

    emails_sent: int
    meetings_organised: int
    calls_made: int
    initiated: int  # threads started, meetings organised, calls placed
    minutes_spent: float  # email 5 min to write and 2.5 to read; meetings × attendees for our side
    avg_first_response_hours: float | None  # None when this side never answered the other
    response_rate: float | None  # share of the other side's messages this side answered; None if none came
    most_contacted: tuple[PersonCount, ...]
    median_first_response_hours: float | None = None  # robust to the odd reply after a holiday


@dataclass(frozen=True, slots=True)
class DayBreakdown:
    """Interactions on one day, by type."""

    day: date
    emails: int
    meetings: int
    calls: int


@dataclass(frozen=True, slots=True)
class InteractionRef:
    """An interaction, as shown in "last" and "next"."""

    at: datetime
    kind: str  # email | meeting | call | task
    side: str | None  # who initiated it: us | them


@dataclass(frozen=True, slots=True)
class KpiView:
    """Relationship KPIs of a target over a window ending at ``as_of``."""

    window_days: int
    as_of: datetime
    us: SideKpis
    them: SideKpis
    email_ratio: float | None  # emails we sent / emails they sent; None when they sent none
    last_interaction: InteractionRef | None
    next_interaction: InteractionRef | None  # the next scheduled meeting
    breakdown: tuple[DayBreakdown, ...]  # one row per day of the window that had activity

    @property
    def total_interactions(self) -> int:
        return sum(d.emails + d.meetings + d.calls for d in self.breakdown)


@dataclass(frozen=True, slots=True)
class FactorView:
    """One input of the health formula: its 0–1 value, its weight and the points it gave, and how it moved."""

    name: str  # activity | recency | reciprocity | responsiveness
    value: float  # 0..1
    weight: float  # share of the score, weights sum to 1
    points: float  # value × weight × 100
    change: float | None  # points now minus points at the trend reference date
    explanation: str


@dataclass(frozen=True, slots=True)
class HealthPoint:
    """A stored score at one time (for charts)."""

    at: datetime
    score: float | None
    state: str | None


@dataclass(frozen=True, slots=True)
class HealthView:
    """Health of a target: score, state, trend, the factors behind it and its KPIs."""

    target: TargetRef
    score: float | None  # 0..100; None when not enough info or not computed
    state: HealthState
    trend: Trend
    previous_score: float | None  # the score at the trend reference date
    factors: tuple[FactorView, ...]  # largest movers first
    kpis: KpiView
    history: tuple[HealthPoint, ...]  # stored scores, oldest first
    computed_at: datetime
    viewer_connection: ColleagueView | None = None  # the asking user's own connection, when asked for


@dataclass(frozen=True, slots=True)
class ColleagueView:
    """An internal user who knows the target, with the strength of the connection."""

    user_id: str
    name: str
    email: str
    strength: float  # 0..100
    level: StrengthLevel
    last_interaction_at: datetime | None
    last_interaction_type: str | None  # email | meeting | call | task
    interactions: int  # both directions, whole history
    two_way: bool  # both sides reached out


@dataclass(frozen=True, slots=True)
class IntroPathView:
    """Two hops when nobody knows the target directly: colleague → one of their people → target."""

    colleague: ColleagueView  # strength here is the colleague's connection to ``via_email``
    via_name: str
    via_email: str
    via_link: int  # interactions that ``via`` shared with the target (0 when linked only by the company)
    via_relation: Literal["shared interactions", "same company"]


@dataclass(frozen=True, slots=True)
class WhoKnowsView:
    """Up to five colleagues who know the target, strongest first, or a two-hop path if there are none."""

    target: TargetRef
    colleagues: tuple[ColleagueView, ...]
    path: IntroPathView | None
    excluded_opted_out: int  # colleagues left out because they opted out (a count only, never names)
    computed_at: datetime


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """One of "my accounts": its stored health and when the user last interacted with it."""

    account_id: str
    name: str
    score: float | None
    state: str | None
    trend: str | None
    last_interaction_at: datetime | None
    interactions: int  # the user's interactions with the account in the window
    owned: bool  # the user is the CRM owner (else they only interact with it)


@dataclass(frozen=True, slots=True)
class LeadSummary:
    lead_id: str
    label: str  # the lead's name or topic, else "Contact name (Company)" as far as known, else the email
    status: str
    score: float | None
    state: str | None
    trend: str | None
    last_interaction_at: datetime | None


@dataclass(frozen=True, slots=True)
class OpportunitySummary:
    opportunity_id: str
    label: str  # the opportunity's name field or its id
    account_id: str | None
    stage: str | None
    status: str
    amount: float | None
    score: float | None
    state: str | None
    trend: str | None
    last_interaction_at: datetime | None


@dataclass(frozen=True, slots=True)
class MyRecordsView:
    """A user's accounts, leads and opportunities (open first), for "my accounts" and digests."""

    user_id: str
    accounts: tuple[AccountSummary, ...]
    leads: tuple[LeadSummary, ...]
    opportunities: tuple[OpportunitySummary, ...]



def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None or (b is not None and b > a) else a


def team_records(user_id: str, views: Sequence[MyRecordsView]) -> MyRecordsView:
    """Several users' records as one list (a manager's reporting chain): an account once, with their interactions
    summed, the latest one and ``owned`` when any of them owns it; a lead or opportunity once, with its latest
    interaction."""
    accounts: dict[str, AccountSummary] = {}
    leads: dict[str, LeadSummary] = {}
    opportunities: dict[str, OpportunitySummary] = {}
    for view in views:
        for a in view.accounts:
            seen = accounts.get(a.account_id)
            accounts[a.account_id] = a if seen is None else dataclasses.replace(
                seen, interactions=seen.interactions + a.interactions, owned=seen.owned or a.owned,
                last_interaction_at=_latest(seen.last_interaction_at, a.last_interaction_at))
        for lead in view.leads:
            known = leads.get(lead.lead_id)
            leads[lead.lead_id] = lead if known is None else dataclasses.replace(
                known, last_interaction_at=_latest(known.last_interaction_at, lead.last_interaction_at))
        for o in view.opportunities:
            had = opportunities.get(o.opportunity_id)
            opportunities[o.opportunity_id] = o if had is None else dataclasses.replace(
                had, last_interaction_at=_latest(had.last_interaction_at, o.last_interaction_at))
    ordered = sorted(accounts.values(), key=lambda a: (-a.interactions, a.name))
    return MyRecordsView(user_id, tuple(ordered), tuple(leads.values()), tuple(opportunities.values()))

def to_jsonable(value: Any) -> Any:
    """A view (or anything nested in one) as JSON-ready built-ins: dates as ISO strings, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, KpiView):
            out["total_interactions"] = value.total_interactions
        return out
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value

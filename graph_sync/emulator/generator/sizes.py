"""The three tenant sizes and every number that scales with them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Size = Literal["small", "demo", "large"]


@dataclass(frozen=True)
class Dynamics:
    """How relationships change over the history (docs/synthetic-tenant.md, "Relationships change").

    Rates are per year of history, so the 180-day small tenant sees half as many events per record.
    """

    handovers_per_account_year: float = 0.25  # an account's owner changes (territory or role change, departure)
    handover_margin_days: int = 30  # no handover in the first or the last 30 days of the history
    outreach_sequences_per_contact_year: float = 0.3  # unanswered one-way sequences from a non-connector
    outreach_messages: tuple[int, int] = (3, 8)  # messages in a sequence before the sender gives up
    outreach_gap_days: tuple[float, float] = (2.0, 7.0)  # days between two messages of a sequence
    new_start_after_cut_days: int = 30  # new weaker relationships start between the recent window and this


@dataclass(frozen=True)
class SizeProfile:
    """How big a generated tenant is. Rates are per 30 days; spans and windows are in days."""

    name: Size
    teams: int
    reps_per_team: int
    shared_mailboxes: int
    rooms: int
    disabled_users: int
    accounts: int
    contacts: int
    span_days: int  # history before "now"
    recent_days: int  # the trailing window in which trajectories show
    future_days: int  # scheduled meetings after "now"
    strongest_threads_per_30d: float  # median thread rate of a contact's strongest connection
    leads: int
    opportunities: int
    newsletters_per_user_per_30d: float
    internal_threads_per_user_per_30d: float
    dynamics: Dynamics = Dynamics()


PROFILES: dict[str, SizeProfile] = {
    "small": SizeProfile(
        name="small", teams=2, reps_per_team=3, shared_mailboxes=1, rooms=1, disabled_users=1,
        accounts=20, contacts=80, span_days=180, recent_days=90, future_days=30,
        strongest_threads_per_30d=2.0, leads=200, opportunities=160,
        newsletters_per_user_per_30d=4.0, internal_threads_per_user_per_30d=3.0,
    ),
    "demo": SizeProfile(
        name="demo", teams=4, reps_per_team=9, shared_mailboxes=2, rooms=3, disabled_users=2,
        accounts=300, contacts=1500, span_days=365, recent_days=90, future_days=45,
        strongest_threads_per_30d=2.0, leads=2000, opportunities=800,
        newsletters_per_user_per_30d=8.0, internal_threads_per_user_per_30d=6.0,
    ),
    "large": SizeProfile(
        name="large", teams=20, reps_per_team=10, shared_mailboxes=4, rooms=8, disabled_users=6,
        accounts=1400, contacts=7000, span_days=365, recent_days=90, future_days=45,
        strongest_threads_per_30d=2.0, leads=6000, opportunities=2500,
        newsletters_per_user_per_30d=12.0, internal_threads_per_user_per_30d=8.0,
    ),
}


def profile(size: str) -> SizeProfile:
    """The profile named ``size``; raises ``ValueError`` for an unknown size."""
    try:
        return PROFILES[size]
    except KeyError:
        raise ValueError(f"unknown tenant size {size!r}: expected one of {', '.join(PROFILES)}") from None

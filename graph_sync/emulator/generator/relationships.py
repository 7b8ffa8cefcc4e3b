"""Plant each contact's connectors and trajectories, then draw realisations until they show the plan.

Guarantees for every contact (checked here, reported in ground truth, asserted by the tests):

* its strongest connector has strictly more interactions than any other connector, the latest past
  interaction of all of them, and mail in both directions — where the account changed owner, the strongest
  relationship is split at the handover between the previous owner and the owner (the current strongest), and
  the two halves together have more interactions than any other connector;
* every relationship's realised counts classify (by :func:`simulate.classify`) as its planted trajectory (a
  handed-over relationship: its two halves together) — the generator re-draws a relationship up to
  ``MAX_DRAWS`` times; the few that still miss are reported with ``"realised_matches_plan": false`` rather
  than hidden.

One-way sequences (colleagues who are not connectors mailing the contact, who never answers) are drawn after
the relationships and count in the account's trajectory; they are not relationships.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace

from graph_sync.emulator.generator.model import Account, Contact, RelationshipPlan, Team, Trajectory, User
from graph_sync.emulator.generator.simulate import DAY, Clock, Realised, RelationshipSimulator, classify
from graph_sync.emulator.generator.sizes import Dynamics

MAX_DRAWS = 40
# Trajectory of a contact's strongest relationship given its account's trajectory.
STRONGEST_MIX: dict[str, tuple[tuple[Trajectory, float], ...]] = {
    "improving": (("improving", 0.75), ("steady", 0.25)),
    "steady": (("steady", 0.9), ("improving", 0.05), ("declining", 0.05)),
    "declining": (("declining", 0.75), ("steady", 0.25)),
    "dormant": (("dormant", 1.0),),
}
WEAKER_MIX: tuple[tuple[Trajectory, float], ...] = (
    ("steady", 0.45), ("declining", 0.2), ("improving", 0.1), ("dormant", 0.15), ("new", 0.1),
)
WEAKER_RATE_SHARE = (0.12, 0.3)  # a weaker connector's thread rate, as a share of the strongest's


@dataclass(frozen=True)
class Handover:
    """An account changes owner at ``at``: the previous owner's strongest relationships pass to the owner."""

    previous_owner_id: str
    owner_id: str
    at: float


@dataclass
class RelationshipOutcome:
    """A relationship's plan, what it produced and whether the realisation shows the plan."""

    plan: RelationshipPlan
    realised: Realised
    matches_plan: bool
    handover: Handover | None = None  # set on both halves of a handed-over relationship


@dataclass
class Outreach:
    """An unanswered one-way sequence: a colleague who is not a connector mails the contact, then gives up."""

    user_id: str
    realised: Realised


@dataclass
class ContactOutcome:
    """Everything one contact produced: its relationships (strongest first) and one-way sequences."""

    relationships: list[RelationshipOutcome]
    outreach: list[Outreach] = field(default_factory=list)

    @property
    def before(self) -> int:
        return sum(o.realised.before for o in self.relationships) + sum(o.realised.before for o in self.outreach)

    @property
    def recent(self) -> int:
        return sum(o.realised.recent for o in self.relationships) + sum(o.realised.recent for o in self.outreach)


def _pick(rng: random.Random, mix: tuple[tuple[Trajectory, float], ...]) -> Trajectory:
    x, acc = rng.random(), 0.0
    for value, w in mix:
        acc += w
        if x < acc:
            return value
    return mix[-1][0]


def plan_handovers(rng: random.Random, accounts: list[Account], teams: dict[str, Team], clock: Clock,
                   dynamics: Dynamics) -> dict[str, Handover]:
    """Accounts whose owner changed during the history (never a dormant one: nothing left to hand over).

    ``teams`` maps an owner to their team; the previous owner is another rep of that team, the date uniform
    over the history less ``handover_margin_days`` at each end."""
    span_days = (clock.now - clock.span_start) / DAY
    share = min(1.0, dynamics.handovers_per_account_year * span_days / 365)
    margin = dynamics.handover_margin_days * DAY
    out: dict[str, Handover] = {}
    for a in accounts:
        others = [r for r in teams[a.owner_id].rep_ids if r != a.owner_id]
        if rng.random() >= share or a.trajectory == "dormant" or not others:
            continue
        at = rng.uniform(clock.span_start + margin, clock.now - margin)
        out[a.id] = Handover(previous_owner_id=rng.choice(others), owner_id=a.owner_id, at=at)
    return out


def choose_connectors(rng: random.Random, contact: Contact, account: Account, team: Team,
                      exclude: frozenset[str] = frozenset()) -> list[str]:
    """User ids connected to ``contact``, strongest first: usually the account owner, sometimes a teammate.
    ``exclude`` (a previous owner) never appears: its relationship is the first half of the owner's."""
    owner = account.owner_id
    teammates = [r for r in team.rep_ids if r != owner and r not in exclude]
    x = rng.random()
    if x < 0.7 or not teammates:
        strongest = owner
    elif x < 0.9:
        strongest = rng.choice(teammates)
    else:
        strongest = team.manager_id
    connectors = [strongest]
    if strongest != owner:
        connectors.append(owner)
    extra = rng.choices((0, 1, 2), weights=(45, 40, 15))[0]
    pool = [u for u in [*teammates, team.manager_id] if u not in connectors and u not in exclude]
    connectors += rng.sample(pool, min(extra, len(pool)))
    return connectors


class ContactRealiser:
    """Plans and realises all relationships of one contact at a time."""

    def __init__(self, sim: RelationshipSimulator, strongest_rate: float, *, dynamics: Dynamics = Dynamics(),
                 handovers: dict[str, Handover] | None = None, users: dict[str, User] | None = None,
                 outreach_senders: list[User] | None = None) -> None:
        self.sim = sim
        self.rng = sim.rng
        self.clock: Clock = sim.clock
        self.strongest_rate = strongest_rate
        self.dynamics = dynamics
        self.handovers = handovers or {}
        self.users = users or {}
        self.outreach_senders = outreach_senders or []

    def _plan(self, user: User, contact: Contact, account: Account, *, strongest: bool, trajectory: Trajectory,
              rate: float, end: float) -> RelationshipPlan:
        c, rng = self.clock, self.rng
        before = contact.reply_rate
        shift = {"improving": 0.15, "declining": -0.3}.get(trajectory, 0.0)
        return RelationshipPlan(
            user_id=user.id, contact_email=contact.email, account_id=account.id, strongest=strongest,
            trajectory=trajectory, threads_per_30d=round(rate, 3), meetings_per_30d=round(rate * 0.25, 3),
            user_reply_rate=round(rng.uniform(0.8, 0.95) if strongest else rng.uniform(0.6, 0.85), 3),
            contact_reply_rate_before=before,
            contact_reply_rate_recent=round(min(0.95, max(0.1, before + shift)), 3),
            user_median_minutes=round(user.reply_median_minutes * math.exp(rng.gauss(0, 0.25)), 1),
            contact_median_minutes=round(contact.reply_median_minutes * math.exp(rng.gauss(0, 0.25)), 1),
            start=(rng.uniform(c.recent_start, c.link_cut + self.dynamics.new_start_after_cut_days * DAY)
                   if trajectory == "new" else c.span_start),
            end=min(end, c.recent_start - 7 * DAY) if trajectory == "dormant" else end,
        )

    def _draw(self, plan: RelationshipPlan, user: User, contact: Contact, account: Account,
              beat: tuple[int, float] | None) -> tuple[Realised, bool]:
        """Re-draw until the realisation classifies as planned (and, for a weaker one, stays below ``beat``)."""
        realised = Realised()
        for _ in range(MAX_DRAWS):
            realised = self.sim.realise(plan, user, contact, account)
            if classify(realised.before, realised.recent, self.clock) != plan.trajectory:
                continue
            if beat is None:
                if realised.user_to_contact and realised.contact_to_user:
                    return realised, True
            elif realised.total < beat[0] and (realised.last or 0) < beat[1]:
                return realised, True
        return realised, False

    def _draw_handover(self, before: RelationshipPlan, after: RelationshipPlan, contact: Contact,
                       account: Account, trajectory: str) -> tuple[Realised, Realised, bool]:
        """Re-draw both halves until together they classify as ``trajectory``, both have mail, and the new
        owner's has mail in both directions."""
        previous, owner = self.users[before.user_id], self.users[after.user_id]
        first, second = Realised(), Realised()
        for _ in range(MAX_DRAWS):
            first = self.sim.realise(before, previous, contact, account)
            second = self.sim.realise(after, owner, contact, account)
            if (classify(first.before + second.before, first.recent + second.recent, self.clock) == trajectory
                    and first.total and second.user_to_contact and second.contact_to_user):
                return first, second, True
        return first, second, False

    def _outreach(self, contact: Contact, account: Account, taken: set[str]) -> list[Outreach]:
        """Unanswered one-way sequences to ``contact`` from colleagues who are not its connectors."""
        c, d = self.clock, self.dynamics
        pool = [u for u in self.outreach_senders if u.id not in taken]
        years = (c.now - c.span_start) / DAY / 365
        n = int(self.sim.nprng.poisson(d.outreach_sequences_per_contact_year * years)) if pool else 0
        out: list[Outreach] = []
        for _ in range(n):
            user = self.rng.choice(pool)
            t = self.sim.working_time(c.span_start, c.now, user.tz_offset_hours)
            messages: list[tuple[float, bool]] = []
            realised = Realised(threads=[messages])
            for _ in range(self.rng.randint(*d.outreach_messages)):
                if t >= c.now:
                    break
                messages.append((t, True))
                realised.count(t, c)
                realised.user_to_contact += 1
                realised.contact_reply_chances += 1
                gap = self.rng.uniform(*d.outreach_gap_days) * DAY
                t = self.sim.working_time(t + gap, t + gap + DAY, user.tz_offset_hours)
            out.append(Outreach(user.id, realised))
        return out

    def realise(self, contact: Contact, account: Account, connectors: list[User]) -> ContactOutcome:
        """Every relationship of ``contact`` (the first is its strongest) and its one-way sequences."""
        rng, c = self.rng, self.clock
        rate = min(6.0, max(0.6, self.strongest_rate * math.exp(rng.gauss(0, 0.4))))
        strongest_user = connectors[0]
        trajectory = _pick(rng, STRONGEST_MIX[account.trajectory])
        plan = self._plan(strongest_user, contact, account, strongest=True, trajectory=trajectory, rate=rate,
                          end=c.now)
        handover = self.handovers.get(account.id)
        outcomes: list[RelationshipOutcome]
        if handover is not None and strongest_user.id == handover.owner_id:
            # One process, two people: the previous owner until the handover, the owner from it.
            previous = self.users[handover.previous_owner_id]
            before = replace(self._plan(previous, contact, account, strongest=True, trajectory=trajectory,
                                        rate=rate, end=handover.at), strongest=False)
            after = replace(plan, start=handover.at)
            first, top, ok = self._draw_handover(before, after, contact, account, trajectory)
            outcomes = [RelationshipOutcome(after, top, ok, handover), RelationshipOutcome(before, first, ok, handover)]
            beat = (first.total + top.total, top.last or c.span_start)
        else:
            top, ok = self._draw(plan, strongest_user, contact, account, None)
            outcomes = [RelationshipOutcome(plan, top, ok)]
            beat = (top.total, top.last or c.span_start)
        top_last = top.last or c.span_start
        for user in connectors[1:]:
            weaker: Trajectory
            if account.trajectory == "dormant" or top_last < c.recent_start:
                weaker = "dormant"
            elif top_last < c.now - 30 * DAY:
                weaker = rng.choice(("declining", "dormant"))
            else:
                weaker = _pick(rng, WEAKER_MIX)
            share = rng.uniform(*WEAKER_RATE_SHARE)
            weak = self._plan(user, contact, account, strongest=False, trajectory=weaker, rate=rate * share,
                              end=top_last - DAY)
            realised, ok = self._draw(weak, user, contact, account, beat)
            if not ok and weaker != "dormant":
                weak = self._plan(user, contact, account, strongest=False, trajectory="dormant",
                                  rate=rate * share, end=top_last - DAY)
                realised, ok = self._draw(weak, user, contact, account, beat)
            if not ok and realised.total >= beat[0]:
                continue  # it would steal the strongest spot: leave this weak tie out of the tenant
            outcomes.append(RelationshipOutcome(weak, realised, ok))
        taken = {o.plan.user_id for o in outcomes}
        return ContactOutcome(outcomes, self._outreach(contact, account, taken))


ACCOUNT_DRAWS = 8


def realise_account(realiser: ContactRealiser, account: Account,
                    members: list[tuple[Contact, list[User]]]) -> tuple[list[ContactOutcome], bool]:
    """All relationships of an account's contacts, re-drawn (up to ``ACCOUNT_DRAWS`` times) until the account's
    summed interactions (one-way sequences included) classify as its planted trajectory too."""
    drawn: list[ContactOutcome] = []
    for _ in range(ACCOUNT_DRAWS):
        drawn = [realiser.realise(contact, account, connectors) for contact, connectors in members]
        before = sum(o.before for o in drawn)
        recent = sum(o.recent for o in drawn)
        if classify(before, recent, realiser.clock) == account.trajectory:
            return drawn, True
    return drawn, False

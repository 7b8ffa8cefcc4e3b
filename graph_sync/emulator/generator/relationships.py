"""Plant each contact's connectors and trajectories, then draw realisations until they show the plan.

Guarantees for every contact (checked here, reported in ground truth, asserted by the tests):

* its strongest connector has strictly more interactions than any other connector, the latest past
  interaction of all of them, and mail in both directions;
* every relationship's realised counts classify (by :func:`simulate.classify`) as its planted trajectory —
  the generator re-draws a relationship up to ``MAX_DRAWS`` times; the few that still miss are reported with
  ``"realised_matches_plan": false`` rather than hidden.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from graph_sync.emulator.generator.model import Account, Contact, RelationshipPlan, Team, Trajectory, User
from graph_sync.emulator.generator.simulate import DAY, Clock, Realised, RelationshipSimulator, classify

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


@dataclass
class RelationshipOutcome:
    """A relationship's plan, what it produced and whether the realisation shows the plan."""

    plan: RelationshipPlan
    realised: Realised
    matches_plan: bool


def _pick(rng: random.Random, mix: tuple[tuple[Trajectory, float], ...]) -> Trajectory:
    x, acc = rng.random(), 0.0
    for value, w in mix:
        acc += w
        if x < acc:
            return value
    return mix[-1][0]


def choose_connectors(rng: random.Random, contact: Contact, account: Account, team: Team) -> list[str]:
    """User ids connected to ``contact``, strongest first: usually the account owner, sometimes a teammate."""
    owner = account.owner_id
    teammates = [r for r in team.rep_ids if r != owner]
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
    pool = [u for u in [*teammates, team.manager_id] if u not in connectors]
    connectors += rng.sample(pool, min(extra, len(pool)))
    return connectors


class ContactRealiser:
    """Plans and realises all relationships of one contact at a time."""

    def __init__(self, sim: RelationshipSimulator, strongest_rate: float) -> None:
        self.sim = sim
        self.rng = sim.rng
        self.clock: Clock = sim.clock
        self.strongest_rate = strongest_rate

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
            start=c.link_cut if trajectory == "new" else c.span_start,
            end=min(end, c.recent_start - 7 * DAY) if trajectory == "dormant" else end,
        )

    def _draw(self, plan: RelationshipPlan, user: User, contact: Contact, account: Account,
              beat: Realised | None) -> tuple[Realised, bool]:
        """Re-draw until the realisation classifies as planned (and, for a weaker one, stays below ``beat``)."""
        realised = Realised()
        for _ in range(MAX_DRAWS):
            realised = self.sim.realise(plan, user, contact, account)
            if classify(realised.before, realised.recent, self.clock) != plan.trajectory:
                continue
            if beat is None:
                if realised.user_to_contact and realised.contact_to_user:
                    return realised, True
            elif realised.total < beat.total and (realised.last or 0) < (beat.last or 0):
                return realised, True
        return realised, False

    def realise(self, contact: Contact, account: Account, connectors: list[User]) -> list[RelationshipOutcome]:
        """Every relationship of ``contact``; the first is its strongest."""
        rng, c = self.rng, self.clock
        rate = min(6.0, max(0.6, self.strongest_rate * math.exp(rng.gauss(0, 0.4))))
        strongest_user = connectors[0]
        plan = self._plan(strongest_user, contact, account, strongest=True,
                          trajectory=_pick(rng, STRONGEST_MIX[account.trajectory]), rate=rate, end=c.now)
        top, ok = self._draw(plan, strongest_user, contact, account, None)
        outcomes = [RelationshipOutcome(plan, top, ok)]
        top_last = top.last or c.span_start
        for user in connectors[1:]:
            if account.trajectory == "dormant" or top_last < c.recent_start:
                trajectory: Trajectory = "dormant"
            elif top_last < c.now - 30 * DAY:
                trajectory = rng.choice(("declining", "dormant"))
            else:
                trajectory = _pick(rng, WEAKER_MIX)
            share = rng.uniform(*WEAKER_RATE_SHARE)
            weak = self._plan(user, contact, account, strongest=False, trajectory=trajectory, rate=rate * share,
                              end=top_last - DAY)
            realised, ok = self._draw(weak, user, contact, account, top)
            if not ok and trajectory != "dormant":
                weak = self._plan(user, contact, account, strongest=False, trajectory="dormant",
                                  rate=rate * share, end=top_last - DAY)
                realised, ok = self._draw(weak, user, contact, account, top)
            if not ok and realised.total >= top.total:
                continue  # it would steal the strongest spot: leave this weak tie out of the tenant
            outcomes.append(RelationshipOutcome(weak, realised, ok))
        return outcomes


ACCOUNT_DRAWS = 8


def realise_account(realiser: ContactRealiser, account: Account,
                    members: list[tuple[Contact, list[User]]]) -> tuple[list[list[RelationshipOutcome]], bool]:
    """All relationships of an account's contacts, re-drawn (up to ``ACCOUNT_DRAWS`` times) until the account's
    summed interactions classify as its planted trajectory too."""
    drawn: list[list[RelationshipOutcome]] = []
    for _ in range(ACCOUNT_DRAWS):
        drawn = [realiser.realise(contact, account, connectors) for contact, connectors in members]
        before = sum(o.realised.before for outcomes in drawn for o in outcomes)
        recent = sum(o.realised.recent for outcomes in drawn for o in outcomes)
        if classify(before, recent, realiser.clock) == account.trajectory:
            return drawn, True
    return drawn, False

"""Collect what was planted and what came out into ``ground_truth.json`` (format: docs/synthetic-tenant.md)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from graph_sync.emulator.generator.graphjson import iso
from graph_sync.emulator.generator.model import Account, Contact
from graph_sync.emulator.generator.relationships import ContactOutcome
from graph_sync.emulator.generator.simulate import (
    DECLINING_RATIO,
    IMPROVING_RATIO,
    STEADY_BAND,
    Clock,
    Realised,
    classify,
    median_or_none,
)


def _t(ts: float | None) -> str | None:
    return None if ts is None else iso(ts)


class TruthBuilder:
    """Accumulates per-contact results as they stream by; renders the relationship part of ground truth."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.relationships: list[dict[str, Any]] = []
        self.contacts: list[dict[str, Any]] = []
        self.outreach: list[dict[str, Any]] = []
        self._account_counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self._account_users: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._account_last: dict[str, dict[str, float]] = defaultdict(dict)
        self.account_matches: dict[str, bool] = {}

    def add_contact(self, contact: Contact, outcome: ContactOutcome) -> None:
        """Record one contact's relationships (the first outcome is its planted strongest) and sequences."""
        outcomes = outcome.relationships
        handover = outcomes[0].handover
        ranked = sorted(outcomes, key=lambda o: (-o.realised.total, -(o.realised.last or 0.0)))
        rank_of = {o.plan.user_id: n for n, o in enumerate(ranked)}
        nexts = [o.realised.next_meeting for o in outcomes if o.realised.next_meeting is not None]
        self.contacts.append({
            "email": contact.email, "name": contact.name, "account_id": contact.account_id,
            "title": contact.title, "free_mail": contact.free_mail,
            "strongest_connector": outcomes[0].plan.user_id,
            "trajectory": outcomes[0].plan.trajectory,
            "handed_over_from": handover.previous_owner_id if handover else None,
            "ranked_connectors": [o.plan.user_id for o in ranked],
            "last_interaction": _t(max((o.realised.last for o in outcomes if o.realised.last), default=None)),
            "next_meeting": _t(min(nexts)) if nexts else None,
        })
        for o in outcomes:
            plan, r = o.plan, o.realised
            self.relationships.append({
                "user_id": plan.user_id, "contact_email": plan.contact_email, "account_id": plan.account_id,
                "strongest": plan.strongest, "rank": rank_of[plan.user_id],
                "trajectory": plan.trajectory,
                "realised_trajectory": classify(r.before, r.recent, self.clock),
                "realised_matches_plan": o.matches_plan,
                "handover": None if o.handover is None else {
                    "role": "owner" if o.plan.user_id == o.handover.owner_id else "previous_owner",
                    "at": iso(o.handover.at)},
                "planted": {
                    "threads_per_30d": plan.threads_per_30d, "meetings_per_30d": plan.meetings_per_30d,
                    "start": iso(plan.start), "end": iso(min(plan.end, self.clock.now)),
                },
                "response": {
                    "user": {"median_first_response_minutes": plan.user_median_minutes,
                             "reply_rate": plan.user_reply_rate},
                    "contact": {"median_first_response_minutes": plan.contact_median_minutes,
                                "reply_rate_before": plan.contact_reply_rate_before,
                                "reply_rate_recent": plan.contact_reply_rate_recent},
                },
                "realised": {
                    "messages_user_to_contact": r.user_to_contact,
                    "messages_contact_to_user": r.contact_to_user,
                    "meetings": r.meetings_held,
                    "interactions_before": r.before, "interactions_recent": r.recent,
                    "interactions_after_link_cut": r.after_link_cut,
                    "first_interaction": _t(r.first), "last_interaction": _t(r.last),
                    "next_meeting": _t(r.next_meeting),
                    "user_replies": len(r.user_delays), "user_reply_chances": r.user_reply_chances,
                    "user_median_first_response_minutes": median_or_none(r.user_delays),
                    "contact_replies": len(r.contact_delays), "contact_reply_chances": r.contact_reply_chances,
                    "contact_median_first_response_minutes": median_or_none(r.contact_delays),
                },
            })
            self._count_for_account(plan.account_id, plan.user_id, r)
        for w in outcome.outreach:
            r = w.realised
            self.outreach.append({
                "user_id": w.user_id, "contact_email": contact.email, "account_id": contact.account_id,
                "messages": r.user_to_contact, "interactions_before": r.before, "interactions_recent": r.recent,
                "interactions_after_link_cut": r.after_link_cut,
                "first_interaction": _t(r.first), "last_interaction": _t(r.last),
            })
            self._count_for_account(contact.account_id, w.user_id, r)

    def _count_for_account(self, account_id: str, user_id: str, r: Realised) -> None:
        """Add one user's realised interactions with one contact to the account's totals."""
        counts = self._account_counts[account_id]
        counts[0] += r.before
        counts[1] += r.recent
        self._account_users[account_id][user_id] += r.total
        if r.last is not None:
            self._account_last[account_id][user_id] = max(self._account_last[account_id].get(user_id, 0.0), r.last)

    def accounts(self, accounts: list[Account]) -> list[dict[str, Any]]:
        """Per account: planted trajectory, realised counts and class, connectors ranked by interactions."""
        out = []
        for a in accounts:
            before, recent = self._account_counts[a.id]
            users = self._account_users[a.id]
            last = self._account_last[a.id]
            ranked = sorted(users, key=lambda u: (-users[u], -last.get(u, 0.0)))
            out.append({
                "id": a.id, "name": a.name, "domain": a.domain, "industry": a.industry, "country": a.country,
                "company_size": a.size_bucket, "owner_id": a.owner_id, "trajectory": a.trajectory,
                "realised": {"interactions_before": before, "interactions_recent": recent,
                             "trajectory": classify(before, recent, self.clock)},
                "realised_matches_plan": self.account_matches.get(a.id, False),
                "ranked_connectors": [{"user_id": u, "interactions": users[u]} for u in ranked],
            })
        return out

    def rules(self) -> dict[str, Any]:
        """The published classification rule the realised trajectories follow."""
        return {
            "interactions": "messages between the pair (either direction) + meetings both attended that were "
                            "held (not cancelled, ended by now)",
            "rate_ratio": "(interactions_recent / recent_days) / (interactions_before / before_days)",
            "improving_at_least": IMPROVING_RATIO, "declining_at_most": DECLINING_RATIO,
            "steady_between": list(STEADY_BAND),
            "dormant": "no interaction in the recent window, some before",
            "new": "no interaction before the recent window (starts after the link cut)",
            "connector_rank": "by realised interactions, ties broken by the later last interaction",
        }

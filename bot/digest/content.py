"""What a manager's weekly digest says, from the analytics and scoring stores, for their reporting chain.

* declining relationships: accounts, leads and opportunities of the team whose stored health trend is
  Declining (from :meth:`Relationships.my_accounts`, each team member's view), lowest score first;
* hot leads: the team's open leads whose stored predictive grade is A or that the model calls likely;
* stuck deals: the team's open opportunities the scoring model flagged as stuck in their stage;
* the team's activity chart (a signed URL when the bot has a public URL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from analytics.views import MyRecordsView, team_records
from bot.conversation.model import Principal
from bot.ports import Predictions

TOP = 5
CLOSED = frozenset({"qualified", "disqualified", "closed", "won", "lost"})


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One line of the digest."""

    kind: str  # account | lead | opportunity
    record_id: str
    label: str
    score: float | None
    detail: str  # state, grade or why it is stuck


@dataclass(frozen=True, slots=True)
class DigestView:
    """A manager's digest."""

    manager_id: str
    manager_name: str
    team_size: int
    declining: tuple[DigestItem, ...]
    hot_leads: tuple[DigestItem, ...]
    stuck_deals: tuple[DigestItem, ...]
    as_of: datetime
    manager_email: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.declining or self.hot_leads or self.stuck_deals)


class TeamRecords(Protocol):
    """The one question a digest asks of :class:`bot.ports.Relationships`: a member's own records."""

    def my_accounts(self, tenant_id: str, user_id: str, now: datetime) -> MyRecordsView:
        """The accounts a user owns or works with, and their leads and opportunities."""
        ...


@dataclass
class MemberRecords:
    """Each member's records read once per run: a member of several chains (a rep under a manager under a
    director) appears in every digest above them, and :meth:`my_accounts` costs dozens of queries a member."""

    relationships: TeamRecords
    _seen: dict[tuple[str, str, datetime], MyRecordsView] = field(default_factory=dict)

    def my_accounts(self, tenant_id: str, user_id: str, now: datetime) -> MyRecordsView:
        key = (tenant_id, user_id, now)
        if key not in self._seen:
            self._seen[key] = self.relationships.my_accounts(tenant_id, user_id, now)
        return self._seen[key]


def build_digest(manager: Principal, relationships: TeamRecords, predictions: Predictions,
                 now: datetime) -> DigestView:
    """The digest for ``manager``'s whole chain (themselves included), as of ``now``."""
    tenant = manager.tenant_id
    view = team_records(manager.user_id, [relationships.my_accounts(tenant, user_id, now)
                                          for user_id in sorted(manager.visible_user_ids)])
    open_leads = [r for r in view.leads if r.status not in CLOSED]
    open_opportunities = [r for r in view.opportunities if r.status not in CLOSED]
    records: list[tuple[str, str, str, float | None, str | None, str | None]] = [  # kind, id, label, score, …
        *(("account", a.account_id, a.name, a.score, a.state, a.trend) for a in view.accounts),
        *(("lead", r.lead_id, r.label, r.score, r.state, r.trend) for r in open_leads),
        *(("opportunity", r.opportunity_id, r.label, r.score, r.state, r.trend) for r in open_opportunities)]
    declining = {(kind, record_id): DigestItem(kind, record_id, label, score, state or "")
                 for kind, record_id, label, score, state, trend in records if trend == "Declining"}
    leads = {r.lead_id: r.label for r in open_leads}
    opportunities = {r.opportunity_id: (r.label, r.amount or 0.0) for r in open_opportunities}
    lead_scores = predictions.stored(tenant, "lead", list(leads))
    hot = [DigestItem("lead", i, leads[i], p.value, p.grade or "") for i, p in lead_scores.items()
           if p.value is not None and (p.grade == "A" or p.likely)]
    hot.sort(key=lambda x: (-(x.score or 0.0), x.label))
    opp_scores = predictions.stored(tenant, "opportunity", list(opportunities))
    stuck = [DigestItem("opportunity", i, opportunities[i][0], p.value, p.stuck_reason or "")
             for i, p in opp_scores.items() if p.stuck]
    stuck.sort(key=lambda x: (-opportunities[x.record_id][1], x.label))
    worst = sorted(declining.values(), key=lambda x: (x.score is None, x.score or 0.0, x.label))
    return DigestView(manager.user_id, manager.display_name, len(manager.visible_user_ids) - 1,
                      tuple(worst[:TOP]), tuple(hot[:TOP]), tuple(stuck[:TOP]), now, manager.email)

"""A manager's lists: several users' records merged, each record once."""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.views import AccountSummary, LeadSummary, MyRecordsView, OpportunitySummary, team_records

EARLY, LATE = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 20, tzinfo=UTC)


def _view(user: str, *, interactions: int, owned: bool, last: datetime | None) -> MyRecordsView:
    return MyRecordsView(
        user,
        (AccountSummary("a1", "Fabrikam", 71.0, "Good", "Steady", last, interactions, owned),
         AccountSummary(f"only-{user}", f"Only {user}", None, None, None, None, 1, False)),
        (LeadSummary("l1", "jane@fabrikam.com", "Open", 55.0, "Fair", "Steady", last),),
        (OpportunitySummary("o1", "Fabrikam renewal", "a1", "Propose", "Open", 1000.0, 60.0, "Good", "Steady", last),),
    )


def test_each_record_once_with_the_teams_interactions_latest_contact_and_ownership() -> None:
    merged = team_records("boss", [_view("boss", interactions=3, owned=False, last=LATE),
                                   _view("rep", interactions=9, owned=True, last=EARLY)])
    assert merged.user_id == "boss"
    fabrikam = next(a for a in merged.accounts if a.account_id == "a1")
    assert (fabrikam.interactions, fabrikam.owned, fabrikam.last_interaction_at) == (12, True, LATE)
    assert [a.account_id for a in merged.accounts] == ["a1", "only-boss", "only-rep"]  # most interactions first
    assert [lead.lead_id for lead in merged.leads] == ["l1"] and merged.leads[0].last_interaction_at == LATE
    assert [o.opportunity_id for o in merged.opportunities] == ["o1"]
    assert merged.opportunities[0].last_interaction_at == LATE


def test_one_view_is_kept_as_it_is() -> None:
    view = _view("rep", interactions=2, owned=True, last=None)
    merged = team_records("rep", [view])
    assert merged.accounts == tuple(sorted(view.accounts, key=lambda a: (-a.interactions, a.name)))
    assert merged.leads == view.leads and merged.opportunities == view.opportunities

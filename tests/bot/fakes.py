"""In-memory fakes of the bot's own ports (never of analytics code) and sample views."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from analytics.relationships.errors import AmbiguousTarget, TargetNotFound
from analytics.views import (
    AccountSummary,
    ColleagueView,
    DayBreakdown,
    FactorView,
    HealthView,
    InteractionRef,
    IntroPathView,
    KpiView,
    LeadSummary,
    MyRecordsView,
    OpportunitySummary,
    SideKpis,
    TargetRef,
    WhoKnowsView,
)
from bot.conversation.model import ConversationRecord, Principal

TENANT = "11111111-2222-3333-4444-555555555555"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
REP, MANAGER, COLLEAGUE = "u-rep", "u-manager", "u-colleague"


def principal(user_id: str, name: str, visible: Sequence[str] = ()) -> Principal:
    ids = frozenset({user_id, *visible})
    return Principal(TENANT, user_id, name, f"{name.lower()}@contoso.com",
                     "manager" if len(ids) > 1 else "rep", ids)


@dataclass
class FakeDirectory:
    users: dict[str, Principal] = field(default_factory=lambda: {
        REP: principal(REP, "Rob"), MANAGER: principal(MANAGER, "Mia", [REP]),
        COLLEAGUE: principal(COLLEAGUE, "Cho")})
    tenants: set[str] = field(default_factory=lambda: {TENANT})

    def tenant_is_active(self, tenant_id: str) -> bool:
        return tenant_id in self.tenants

    def principal(self, tenant_id: str, aad_object_id: str) -> Principal | None:
        p = self.users.get(aad_object_id)
        return p if p is not None and p.tenant_id == tenant_id else None


@dataclass
class FakeConversations:
    records: dict[tuple[str, str], ConversationRecord] = field(default_factory=dict)

    def save(self, record: ConversationRecord, *, at: datetime) -> None:
        self.records[(record.tenant_id, record.conversation_id)] = record

    def remove(self, tenant_id: str, conversation_id: str) -> None:
        self.records.pop((tenant_id, conversation_id), None)

    def personal_for(self, tenant_id: str, user_aad_ids: Sequence[str]) -> list[ConversationRecord]:
        return [r for r in self.records.values() if r.tenant_id == tenant_id and r.user_aad_id in user_aad_ids
                and r.conversation_type == "personal"]

    def all_personal(self, tenant_id: str | None = None) -> list[ConversationRecord]:
        return [r for r in self.records.values() if tenant_id in (None, r.tenant_id)]


FABRIKAM = TargetRef("account", "acc-fabrikam", "Fabrikam")
JANE = TargetRef("contact", "jane@fabrikam.com", "Jane Doe")
CLOSED = TargetRef("opportunity", "opp-9", "Big deal", closed=True)


def side(n: int) -> SideKpis:
    return SideKpis(n, 1, 0, n, 30.0 * n, 4.5 if n else None, 0.8 if n else None, ())


def kpis() -> KpiView:
    return KpiView(90, NOW, side(6), side(4), 1.5, InteractionRef(NOW, "email", "us"), None,
                   (DayBreakdown(date(2026, 10, 30), 3, 1, 0),))


def health(target: TargetRef = FABRIKAM) -> HealthView:
    if target.closed:
        return HealthView(target, None, "Not computed", "Not enough info", None, (), kpis(), (), NOW)
    factors = (FactorView("recency", 0.9, 0.3, 27.0, 3.0, "last touch 2 days ago"),
               FactorView("reciprocity", 0.5, 0.25, 12.5, None, "they reply to half"))
    return HealthView(target, 72.0, "Good", "Improving", 65.0, factors, kpis(), (), NOW)


def colleague(user_id: str, name: str) -> ColleagueView:
    return ColleagueView(user_id, name, f"{name.lower()}@contoso.com", 81.0, "Strong", NOW, "meeting", 40, True)


def who_knows(target: TargetRef = JANE, *, nobody: bool = False, path: bool = False) -> WhoKnowsView:
    if nobody:
        hop = IntroPathView(colleague(COLLEAGUE, "Cho"), "Ann", "ann@fabrikam.com", 3, "shared interactions")
        return WhoKnowsView(target, (), hop if path else None, 0, NOW)
    return WhoKnowsView(target, (colleague(COLLEAGUE, "Cho"), colleague(REP, "Rob")), None, 1, NOW)


def my_records() -> MyRecordsView:
    return MyRecordsView(REP, (AccountSummary("acc-fabrikam", "Fabrikam", 72.0, "Good", "Steady", NOW, 12, True),
                               AccountSummary("acc-x", "Xylo", None, None, None, None, 0, False)),
                         (LeadSummary("l1", "lead one", "open", 40.0, "Fair", "Declining", NOW),),
                         (OpportunitySummary("o1", "Renewal", "acc-fabrikam", "Propose", "open", 1e5, 55.0,
                                             "Fair", "Steady", NOW),))


@dataclass
class FakeRelationships:
    """Answers from canned views; records the calls."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    nobody_knows: bool = False

    def resolve_target(self, tenant_id: str, text: str) -> TargetRef:
        self.calls.append(("resolve", text))
        low = text.lower()
        if low in ("fabrikam", "fabrikam.com"):
            return FABRIKAM
        if low == "jane@fabrikam.com":
            return JANE
        if low == "opportunity:opp-9":
            return CLOSED
        if low == "contoso":
            raise AmbiguousTarget(text, (("a1", "Contoso Ltd"), ("a2", "Contoso GmbH")))
        raise TargetNotFound(text)

    def health(self, tenant_id: str, target: TargetRef | str, *, viewer_user_id: str | None = None,
               now: datetime) -> HealthView:
        assert isinstance(target, TargetRef)
        self.calls.append(("health", target.key))
        return health(target)

    def who_knows(self, tenant_id: str, target: TargetRef | str, *, now: datetime) -> WhoKnowsView:
        assert isinstance(target, TargetRef)
        self.calls.append(("who_knows", target.key))
        return who_knows(target, nobody=self.nobody_knows, path=True)

    def my_accounts(self, tenant_id: str, user_id: str, now: datetime) -> MyRecordsView:
        self.calls.append(("mine", user_id))
        return my_records()


@dataclass
class FakeAccess:
    """Contacts visible only to the users listed per target key."""

    allowed: dict[str, set[str]] = field(default_factory=lambda: {"jane@fabrikam.com": {REP}, "opp-9": {REP}})

    def may_see(self, tenant_id: str, target: TargetRef, visible: frozenset[str]) -> bool:
        if target.kind in ("account", "domain"):
            return True
        return bool(self.allowed.get(target.key, set()) & visible)

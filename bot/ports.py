"""The narrow ports the conversation logic needs, as Protocols.

The conversation logic depends only on these; the composition root (:mod:`bot.app`) plugs in the real
implementations (the store-backed directory and conversation references here in ``bot/``, and the analytics
query API when it is available). A feature whose port is not supplied is absent from the command table, never
faked. Tests use in-memory fakes of these ports, not of the analytics code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from analytics.query import KnownPerson
from analytics.views import DayBreakdown, HealthView, MyRecordsView, TargetRef, WhoKnowsView
from bot.conversation.model import ConversationRecord, Principal

if TYPE_CHECKING:  # annotations only: importing scoring loads scikit-learn (~2 s) for every bot command
    from analytics.scoring.scores import GradeBands, ScoreCard


class Directory(Protocol):
    """Who a Teams user is inside Rapport."""

    def tenant_is_active(self, tenant_id: str) -> bool:
        """True if the tenant consented and is not disabled."""
        ...

    def principal(self, tenant_id: str, aad_object_id: str) -> Principal | None:
        """The internal user with that Entra object id in that tenant, with their visibility, or None."""
        ...


class ConversationStore(Protocol):
    """Our own conversation references (table ``conversation_ref``)."""

    def save(self, record: ConversationRecord, *, at: datetime) -> None:
        """Insert or update the reference (installed_at is kept from the first save)."""
        ...

    def remove(self, tenant_id: str, conversation_id: str) -> None:
        """Forget a conversation (the app was uninstalled)."""
        ...

    def personal_for(self, tenant_id: str, user_aad_ids: Sequence[str]) -> list[ConversationRecord]:
        """Personal (1:1) conversations of these users."""
        ...

    def all_personal(self, tenant_id: str | None = None) -> list[ConversationRecord]:
        """Every personal conversation, optionally of one tenant."""
        ...


class Relationships(Protocol):
    """The relationship query API (:class:`analytics.query.RelationshipQueries` implements it)."""

    def resolve_target(self, tenant_id: str, text: str) -> TargetRef:
        """The target named by ``text``; raises TargetNotFound / AmbiguousTarget."""
        ...

    def health(self, tenant_id: str, target: TargetRef | str, *, viewer_user_id: str | None = None,
               now: datetime) -> HealthView:
        """Health of a target, with the viewer's own connection."""
        ...

    def who_knows(self, tenant_id: str, target: TargetRef | str, *, now: datetime) -> WhoKnowsView:
        """Colleagues who know the target."""
        ...

    def my_accounts(self, tenant_id: str, user_id: str, now: datetime) -> MyRecordsView:
        """A user's accounts, leads and opportunities."""
        ...


class KnownPeople(Protocol):
    """Contacts the store knows, to prefill a note's contact and attendees
    (:meth:`analytics.query.RelationshipQueries.known_people` implements it)."""

    def known_people(self, tenant_id: str, emails: Sequence[str], names: Sequence[str]) -> list[KnownPerson]:
        """Contacts with one of these addresses, or whose display name is one of these names."""
        ...


class Access(Protocol):
    """Sharing rules: may users ``visible`` (a principal and their reports) see this target's relationship?"""

    def may_see(self, tenant_id: str, target: TargetRef, visible: frozenset[str]) -> bool:
        """Accounts and domains are aggregates (visible to all); contacts and CRM records need participation."""
        ...


# --- Graph writes (notes → meetings and tasks) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventDraft:
    """A calendar event to create in ``user_id``'s mailbox (wall times in ``time_zone``, an IANA name)."""

    subject: str
    start: datetime  # naive wall time in time_zone
    end: datetime
    time_zone: str
    attendees: tuple[str, ...]  # email addresses
    body: str
    transaction_id: str  # Graph de-duplicates creates with the same transactionId


@dataclass(frozen=True, slots=True)
class TaskDraft:
    """A Microsoft To Do task to create in the user's default list."""

    title: str
    due: date | None
    time_zone: str
    body: str
    external_id: str  # our idempotency key, kept on the task as a linked resource


@dataclass(frozen=True, slots=True)
class ContactDraft:
    """An Outlook contact to create in the user's default Contacts folder."""

    name: str
    email: str | None
    phone: str | None
    job_title: str | None
    company: str | None
    key: str  # our idempotency key, kept on the contact as a single-value extended property


@dataclass(frozen=True, slots=True)
class Created:
    """What Graph created (or had already created for the same key)."""

    kind: str  # event | task | contact
    id: str
    title: str
    web_link: str | None = None


class GraphWrites(Protocol):
    """Creates events, To Do tasks and contacts for a user through Microsoft Graph, idempotently.

    ``user_assertion`` is the user's Teams SSO token when the turn carried one: with delegated writes configured
    it is exchanged on behalf of the user; without it the writer uses application permission.
    """

    async def create_event(self, tenant_id: str, user_id: str, draft: EventDraft, *,
                           user_assertion: str | None = None) -> Created:
        """Create (or find, for a repeated ``transaction_id``) the event."""
        ...

    async def create_task(self, tenant_id: str, user_id: str, draft: TaskDraft, *,
                          user_assertion: str | None = None) -> Created:
        """Create (or find, for a repeated ``external_id``) the task."""
        ...

    async def create_contact(self, tenant_id: str, user_id: str, draft: ContactDraft, *,
                             user_assertion: str | None = None) -> Created:
        """Create (or find, for a repeated ``key``) the contact."""
        ...


class Scores(Protocol):
    """Predictive lead / opportunity scores (:mod:`analytics.scoring.service` behind :class:`bot.scores.StoreScores`)."""

    def score(self, tenant_id: str, record_type: str, record_id: str, now: datetime) -> ScoreCard:
        """The record's score with its reasons; raises ``NoActiveModel`` or ``NotFound``."""
        ...

    def history(self, tenant_id: str, record_type: str, record_id: str) -> list[tuple[datetime, float]]:
        """The record's stored predictive scores over time, oldest first (empty when never stored)."""
        ...

    @property
    def bands(self) -> GradeBands:
        """The deployment's grade bands (drawn on the score chart)."""
        ...


class TeamActivity(Protocol):
    """Interactions per day of a set of users (a manager's team), for the digest's activity chart."""

    def daily_activity(self, tenant_id: str, user_ids: frozenset[str], since: date, until: date
                       ) -> list[DayBreakdown]:
        """Emails, meetings and calls per day with activity, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class StoredPrediction:
    """A record's stored predictive score (written by the scoring job)."""

    record_id: str
    value: float | None
    grade: str | None
    likely: bool
    stuck: bool
    stuck_reason: str | None


class Predictions(Protocol):
    """Stored predictive scores (table ``score``, kind ``predictive``)."""

    def stored(self, tenant_id: str, record_type: str, record_ids: Sequence[str]) -> dict[str, StoredPrediction]:
        """The stored score of each record that has one."""
        ...

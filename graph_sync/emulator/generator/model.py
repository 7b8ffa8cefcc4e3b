"""The generator's own typed values: people, accounts, planned relationships, mails and meetings.

Times are POSIX seconds (floats, UTC). These values never leave the generator: they are rendered to Graph JSON
by :mod:`graphjson` and summarised into ``ground_truth.json`` by :mod:`truth`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Trajectory = Literal["improving", "steady", "declining", "dormant", "new"]
Address = tuple[str, str]  # (display name, email address)


@dataclass(frozen=True)
class User:
    """A mailbox of the tenant: a person, a shared mailbox or a room."""

    id: str
    display_name: str
    mail: str
    role: Literal["vp", "manager", "rep", "former", "shared", "room"]
    job_title: str
    department: str
    purpose: Literal["user", "shared", "room"]
    enabled: bool
    time_zone: str
    tz_offset_hours: int
    manager_id: str | None
    team: int | None
    reply_median_minutes: float  # this person's typical first-response time (relationships vary around it)

    @property
    def address(self) -> Address:
        return (self.display_name, self.mail)


@dataclass(frozen=True)
class Team:
    """A sales team: a manager, reps and a distribution list that expands to all of them."""

    index: int
    name: str
    manager_id: str
    rep_ids: tuple[str, ...]
    dl_address: str


@dataclass(frozen=True)
class Account:
    """A customer organisation with a business email domain."""

    id: str
    name: str
    domain: str
    industry: str
    country: str
    size_bucket: str
    owner_id: str
    trajectory: Trajectory
    chinese: bool
    list_address: str  # an external distribution list at the customer, sometimes copied


@dataclass(frozen=True)
class Contact:
    """An external person at a customer account (possibly writing from a free-mail address)."""

    email: str
    name: str
    account_id: str
    title: str
    free_mail: bool
    chinese: bool
    reply_median_minutes: float
    reply_rate: float

    @property
    def address(self) -> Address:
        return (self.name, self.email)


@dataclass(frozen=True)
class RelationshipPlan:
    """What is planted for one internal user × contact pair."""

    user_id: str
    contact_email: str
    account_id: str
    strongest: bool
    trajectory: Trajectory
    threads_per_30d: float  # before the recent window (or from ``start`` for a new relationship)
    meetings_per_30d: float
    user_reply_rate: float
    contact_reply_rate_before: float
    contact_reply_rate_recent: float
    user_median_minutes: float
    contact_median_minutes: float
    start: float  # no interaction before this time
    end: float  # no interaction after this time (weaker connectors stop before the strongest's last)


@dataclass
class Mail:
    """One sent mail (one internetMessageId); rendered into a copy per internal mailbox that holds it."""

    internet_message_id: str
    conversation_id: str
    subject: str
    sender: Address
    to: list[Address]
    sent: float
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    importance: str = "normal"
    classification: str = "focused"
    has_attachments: bool = False
    categories: list[str] = field(default_factory=list)


@dataclass
class Attendee:
    """A meeting attendee and their response."""

    address: Address
    type: Literal["required", "optional", "resource"]
    response: Literal["none", "accepted", "tentativelyAccepted", "declined"]
    response_time: float | None


@dataclass
class Meeting:
    """One meeting occurrence (one iCalUId); rendered into a copy per internal calendar that holds it."""

    ical_uid: str
    subject: str
    organizer: Address
    attendees: list[Attendee]
    start: float
    end: float
    created: float
    online: bool
    location: str
    cancelled: bool = False
    type: Literal["singleInstance", "occurrence"] = "singleInstance"
    series_master_id: str | None = None

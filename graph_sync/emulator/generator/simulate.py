"""Turn one planned relationship into mail threads and meetings, and measure what came out.

The process, per relationship (documented in ``docs/synthetic-tenant.md``):

* thread starts are Poisson: ``threads_per_30d`` before the recent window and ``× TRAJECTORY_MULTIPLIER``
  inside it; each start is moved into the initiator's working hours (08–18 local);
* in a thread every message gets a reply from the other side with that side's reply rate, after a lognormal
  delay whose median is that side's planted median (σ = ``DELAY_SIGMA``); a reply that would land after
  "now" (or after the relationship's end) has not happened yet, so the thread stops there;
* meetings are Poisson at ``meetings_per_30d`` with the same multipliers; 5 % are cancelled.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from graph_sync.emulator.generator import vocab
from graph_sync.emulator.generator.ids import IdFactory
from graph_sync.emulator.generator.model import (
    Account,
    Attendee,
    Contact,
    Mail,
    Meeting,
    RelationshipPlan,
    User,
)

DAY = 86400.0
TRAJECTORY_MULTIPLIER: dict[str, float] = {"improving": 2.5, "steady": 1.0, "declining": 0.3, "dormant": 0.0,
                                           "new": 1.0}
DELAY_SIGMA = 0.8
MAX_THREAD_MESSAGES = 12
USER_INITIATES = 0.55
CANCELLED_SHARE = 0.05
# Classification of realised counts: the rate inside the recent window over the rate before it.
IMPROVING_RATIO = 1.5
DECLINING_RATIO = 0.6
STEADY_BAND = (0.75, 1.33)


@dataclass(frozen=True)
class Clock:
    """The fixed time frame of a generated tenant."""

    now: float
    span_start: float
    recent_start: float
    link_cut: float
    future_end: float


@dataclass
class Realised:
    """What one relationship produced, and the measures ground truth reports about it."""

    threads: list[list[tuple[float, bool]]] = field(default_factory=list)  # (sent, from the user) per message
    meetings: list[Meeting] = field(default_factory=list)
    user_to_contact: int = 0
    contact_to_user: int = 0
    meetings_held: int = 0
    before: int = 0
    recent: int = 0
    after_link_cut: int = 0
    first: float | None = None
    last: float | None = None
    next_meeting: float | None = None
    user_delays: list[float] = field(default_factory=list)  # minutes, first responses by the user
    contact_delays: list[float] = field(default_factory=list)
    user_reply_chances: int = 0  # contact messages the user could have answered
    contact_reply_chances: int = 0

    @property
    def total(self) -> int:
        return self.before + self.recent

    def count(self, when: float, clock: Clock) -> None:
        if when < clock.recent_start:
            self.before += 1
        else:
            self.recent += 1
        if when >= clock.link_cut:
            self.after_link_cut += 1
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)


def classify(before: int, recent: int, clock: Clock) -> str:
    """The published rule that names a trajectory from interaction counts before and inside the window."""
    if recent == 0:
        return "dormant" if before else "none"
    if before == 0:
        return "new"
    before_days = (clock.recent_start - clock.span_start) / DAY
    recent_days = (clock.now - clock.recent_start) / DAY
    ratio = (recent / recent_days) / (before / before_days)
    if ratio >= IMPROVING_RATIO:
        return "improving"
    if ratio <= DECLINING_RATIO:
        return "declining"
    if STEADY_BAND[0] <= ratio <= STEADY_BAND[1]:
        return "steady"
    return "ambiguous"


def median_or_none(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


class RelationshipSimulator:
    """Realises relationship plans with the shared random streams and id factory."""

    def __init__(self, *, clock: Clock, rng: random.Random, nprng: np.random.Generator, ids: IdFactory,
                 tenant_name: str, rooms: list[User]) -> None:
        self.clock = clock
        self.rng = rng
        self.nprng = nprng
        self.ids = ids
        self.tenant_name = tenant_name
        self.rooms = rooms

    # -- times -------------------------------------------------------------------------------------------------
    def working_time(self, lo: float, hi: float, tz_offset_hours: int) -> float:
        """A uniform time in [lo, hi) moved into 08:00–18:00 local on a weekday when that stays in range."""
        t = self.rng.uniform(lo, hi)
        day = math.floor(t / DAY) * DAY
        if (int(day / DAY) + 3) % 7 >= 5:  # 1970-01-01 was a Thursday; skip Saturday and Sunday
            day += DAY * (7 - (int(day / DAY) + 3) % 7)
        moved = day + (self.rng.uniform(8, 18) - tz_offset_hours) * 3600
        return moved if lo <= moved < hi else t

    def _starts(self, plan: RelationshipPlan, per_30d: float, offset: int) -> list[float]:
        c = self.clock
        mult = TRAJECTORY_MULTIPLIER[plan.trajectory]
        segments = [(max(plan.start, c.span_start), min(plan.end, c.recent_start), per_30d),
                    (max(plan.start, c.recent_start), min(plan.end, c.now), per_30d * mult)]
        out = []
        for lo, hi, rate in segments:
            if hi <= lo or rate <= 0:
                continue
            n = int(self.nprng.poisson(rate * (hi - lo) / (30 * DAY)))
            out += [self.working_time(lo, hi, offset) for _ in range(n)]
        return sorted(out)

    def delay_minutes(self, median: float) -> float:
        return float(math.exp(math.log(median) + DELAY_SIGMA * self.nprng.standard_normal()))

    # -- content -----------------------------------------------------------------------------------------------
    def _subject(self, contact: Contact, account: Account) -> str:
        r = self.rng.random()
        if contact.chinese and r < 0.5:
            pattern = self.rng.choice(vocab.CHINESE_SUBJECTS)
        elif r < 0.1:
            pattern = self.rng.choice(vocab.PERSONAL_SUBJECTS)
        else:
            pattern = self.rng.choice(vocab.BUSINESS_SUBJECTS)
        return pattern.format(company=account.name, tenant=self.tenant_name, n=self.rng.randint(1000, 9999))

    def _imid_domain(self, address: str) -> str:
        domain = address.rsplit("@", 1)[1]
        if domain == "gmail.com":
            return "mail.gmail.com"
        if address.endswith("fabrikam.com"):
            return "PH0PR11MB4965.namprd11.prod.outlook.com"
        return domain

    # -- relationship -----------------------------------------------------------------------------------------
    def realise(self, plan: RelationshipPlan, user: User, contact: Contact, account: Account) -> Realised:
        """Draw the plan's threads and meetings once (callers re-draw until the realisation matches the plan)."""
        out = Realised()
        c = self.clock
        for t0 in self._starts(plan, plan.threads_per_30d, user.tz_offset_hours):
            self._thread(out, plan, t0)
        for start in self._starts(plan, plan.meetings_per_30d, user.tz_offset_hours):
            start = math.floor(start / 1800) * 1800
            meeting = self._meeting(plan, user, contact, account, start)
            if meeting.end > min(c.now, plan.end):
                continue  # would still be running "now": leave it out rather than half-count it
            out.meetings.append(meeting)
            if not meeting.cancelled:
                out.meetings_held += 1
                out.count(meeting.start, c)
        future_chance = 0.4 if plan.strongest else 0.15
        if plan.trajectory != "dormant" and plan.end >= c.now and self.rng.random() < future_chance:
            start = math.floor(self.rng.uniform(c.now + DAY, c.future_end - DAY) / 1800) * 1800
            meeting = self._meeting(plan, user, contact, account, start)
            meeting.cancelled = False
            out.meetings.append(meeting)
            out.next_meeting = start
        return out

    def _thread(self, out: Realised, plan: RelationshipPlan, t0: float) -> None:
        """Draw one thread's message times and directions (content is drawn later, only if it is kept)."""
        c = self.clock
        stop = min(c.now, plan.end)
        from_user = self.rng.random() < USER_INITIATES
        t = t0
        messages: list[tuple[float, bool]] = []
        out.threads.append(messages)
        while True:
            messages.append((t, from_user))
            out.count(t, c)
            if from_user:
                out.user_to_contact += 1
                out.contact_reply_chances += 1
                rate = plan.contact_reply_rate_recent if t >= c.recent_start else plan.contact_reply_rate_before
                median = plan.contact_median_minutes
            else:
                out.contact_to_user += 1
                out.user_reply_chances += 1
                rate, median = plan.user_reply_rate, plan.user_median_minutes
            if len(messages) == MAX_THREAD_MESSAGES:
                return  # the thread ends here: no reply is drawn, so none is recorded
            if self.rng.random() >= rate:
                return
            delay = self.delay_minutes(median)
            if t + delay * 60 > stop:
                return  # the reply has not been written yet
            (out.contact_delays if from_user else out.user_delays).append(delay)
            t += delay * 60
            from_user = not from_user

    def mails(self, realised: Realised, user: User, contact: Contact, account: Account) -> Iterator[Mail]:
        """The mails of a kept realisation: subjects, ids and flags are drawn here, once."""
        for messages in realised.threads:
            subject = self._subject(contact, account)
            conversation = self.ids.conversation_id()
            for k, (t, from_user) in enumerate(messages):
                sender, recipient = (user.address, contact.address) if from_user else (contact.address,
                                                                                        user.address)
                prefix = "" if k == 0 else ("RE: " if from_user else ("回复: " if contact.chinese else "Re: "))
                mail = Mail(internet_message_id=self.ids.internet_message_id(self._imid_domain(sender[1])),
                            conversation_id=conversation, subject=prefix + subject, sender=sender, to=[recipient],
                            sent=t, has_attachments=self.rng.random() < 0.15,
                            importance="high" if self.rng.random() < 0.03 else "normal")
                if not from_user and not contact.free_mail and self.rng.random() < 0.1:
                    mail.cc.append((account.name, account.list_address))
                yield mail

    def _meeting(self, plan: RelationshipPlan, user: User, contact: Contact, account: Account,
                 start: float) -> Meeting:
        duration = self.rng.choice((30, 30, 45, 60, 60, 90)) * 60
        created = start - self.rng.uniform(1, 14) * DAY
        user_organises = self.rng.random() < 0.75
        organizer = user.address if user_organises else contact.address
        responses: tuple[Literal["accepted", "tentativelyAccepted", "none"], ...] = (
            "accepted", "tentativelyAccepted", "none")
        response = self.rng.choices(responses, weights=(80, 12, 8))[0]
        reply_time = None if response == "none" else min(created + self.delay_minutes(120) * 60, start)
        attendees = [
            Attendee(contact.address, "required", response, reply_time) if user_organises
            else Attendee(user.address, "required", "accepted", min(created + 3600.0, start)),
        ]
        online = not self.rooms or self.rng.random() < 0.7
        location = "Microsoft Teams Meeting"
        if not online:
            room = self.rng.choice(self.rooms)
            attendees.append(Attendee(room.address, "resource", "accepted", created))
            location = room.display_name
        subject = self.rng.choice(vocab.MEETING_SUBJECTS).format(company=account.name, tenant=self.tenant_name)
        return Meeting(ical_uid=self.ids.ical_uid(), subject=subject, organizer=organizer, attendees=attendees,
                       start=start, end=start + duration, created=created, online=online, location=location,
                       cancelled=self.rng.random() < CANCELLED_SHARE)


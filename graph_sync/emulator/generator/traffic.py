"""Mail and meetings that are not customer relationships: the noise an analytics engine must see through.

* internal-only threads between colleagues (sometimes copying the manager);
* announcements to internal distribution lists (a team list, ``sales-team@``), one inbox copy per member;
* newsletters and notifications from no-reply / bulk senders (``inferenceClassification: other``);
* a weekly team meeting per team (recurring occurrences in a room);
* contacts writing to the shared ``support@`` mailbox (a shared mailbox is not a person: no relationship).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from graph_sync.emulator.generator import vocab
from graph_sync.emulator.generator.model import Attendee, Contact, Mail, Meeting, Team, User
from graph_sync.emulator.generator.org import ALL_SALES_DL, TENANT_DOMAIN
from graph_sync.emulator.generator.simulate import DAY, RelationshipSimulator

OUTLOOK_IMID_DOMAIN = "PH0PR11MB4965.namprd11.prod.outlook.com"


def internal_mail(sim: RelationshipSimulator, people: list[User], teams: list[Team], vp: User,
                  per_user_30d: float) -> Iterator[Mail]:
    """Colleague threads and list announcements, in a fixed order."""
    c, rng = sim.clock, sim.rng
    by_id = {u.id: u for u in people}
    days = (c.now - c.span_start) / DAY
    for user in people:
        colleagues = [u for u in people if u.id != user.id]
        for _ in range(int(sim.nprng.poisson(per_user_30d * days / 30))):
            other = rng.choice(colleagues)
            t = sim.working_time(c.span_start, c.now, user.tz_offset_hours)
            subject = rng.choice(vocab.INTERNAL_SUBJECTS).format(q=rng.randint(1, 4), company="Contoso")
            conversation = sim.ids.conversation_id()
            cc = [by_id[user.manager_id].address] if user.manager_id in by_id and rng.random() < 0.15 else []
            sender, to = user, other
            for k in range(rng.choice((1, 1, 2, 2, 3, 4))):
                if t > c.now:
                    break
                yield Mail(internet_message_id=sim.ids.internet_message_id(OUTLOOK_IMID_DOMAIN),
                           conversation_id=conversation, subject=("RE: " if k else "") + subject,
                           sender=sender.address, to=[to.address], cc=list(cc), sent=t)
                t += sim.delay_minutes(45) * 60
                sender, to = to, sender
    for team in teams:
        manager = by_id[team.manager_id]
        for _ in range(int(days / 7)):
            t = sim.working_time(c.span_start, c.now, manager.tz_offset_hours)
            yield Mail(internet_message_id=sim.ids.internet_message_id(OUTLOOK_IMID_DOMAIN),
                       conversation_id=sim.ids.conversation_id(), subject=rng.choice(vocab.TEAM_ANNOUNCEMENTS),
                       sender=manager.address, to=[(f"Sales {team.name}", team.dl_address)], sent=t)
    for _ in range(int(days / 14)):
        t = sim.working_time(c.span_start, c.now, vp.tz_offset_hours)
        yield Mail(internet_message_id=sim.ids.internet_message_id(OUTLOOK_IMID_DOMAIN),
                   conversation_id=sim.ids.conversation_id(), subject="Sales all-hands: " + rng.choice(
                       vocab.TEAM_ANNOUNCEMENTS), sender=vp.address, to=[("Sales Team", ALL_SALES_DL)],
                   sent=t, importance="high")


def newsletters(sim: RelationshipSimulator, mailboxes: list[User], per_user_30d: float) -> Iterator[Mail]:
    """Bulk mail from no-reply senders: never answered, classified ``other``, often unread."""
    c, rng = sim.clock, sim.rng
    days = (c.now - c.span_start) / DAY
    for user in mailboxes:
        for _ in range(int(sim.nprng.poisson(per_user_30d * days / 30))):
            name, local, domain, subject = rng.choice(vocab.NEWSLETTERS)
            sender = (name, f"{local}@{domain}")
            yield Mail(internet_message_id=sim.ids.internet_message_id(f"mta.{domain}"),
                       conversation_id=sim.ids.conversation_id(), subject=subject.format(n=rng.randint(3, 99)),
                       sender=sender, to=[user.address], reply_to=[sender], classification="other",
                       sent=rng.uniform(c.span_start, c.now))


def support_mail(sim: RelationshipSimulator, contacts: list[Contact], support: User) -> Iterator[Mail]:
    """A few contacts write to the shared support mailbox (nobody answers from it in this data)."""
    c, rng = sim.clock, sim.rng
    for contact in contacts:
        if rng.random() < 0.1:
            yield Mail(internet_message_id=sim.ids.internet_message_id(contact.email.rsplit("@", 1)[1]),
                       conversation_id=sim.ids.conversation_id(), subject=f"Support request {rng.randint(1, 99999)}",
                       sender=contact.address, to=[support.address], sent=rng.uniform(c.span_start, c.now))


def team_meetings(sim: RelationshipSimulator, people: list[User], teams: list[Team],
                  rooms: list[User]) -> Iterator[Meeting]:
    """A weekly 30-minute team meeting per team: occurrences of one series, booked in a room."""
    c, rng = sim.clock, sim.rng
    by_id = {u.id: u for u in people}
    first_monday = math.floor(c.span_start / (7 * DAY)) * 7 * DAY + 4 * DAY  # epoch day 4 was a Monday
    for team in teams:
        manager = by_id[team.manager_id]
        series = sim.ids.event_id()
        room = rooms[team.index % len(rooms)] if rooms else None
        hour = 9 - manager.tz_offset_hours
        week = first_monday + team.index % 5 * DAY
        while week + hour * 3600 < c.future_end:
            start = week + hour * 3600
            week += 7 * DAY
            if start < c.span_start:
                continue
            attendees = [Attendee(by_id[r].address, "required",
                                  rng.choices(("accepted", "tentativelyAccepted", "declined", "none"),
                                              weights=(80, 8, 5, 7))[0], start - 3 * DAY) for r in team.rep_ids]
            for a in attendees:
                if a.response == "none":
                    a.response_time = None
            if room is not None:
                attendees.append(Attendee(room.address, "resource", "accepted", c.span_start))
            yield Meeting(ical_uid=sim.ids.ical_uid(), subject=f"{team.name} weekly pipeline",
                          organizer=manager.address, attendees=attendees, start=start, end=start + 1800,
                          created=c.span_start - 30 * DAY, online=room is None,
                          location=room.display_name if room else "Microsoft Teams Meeting",
                          cancelled=rng.random() < 0.03, type="occurrence", series_master_id=series)


def internal_lists(people: list[User], teams: list[Team]) -> dict[str, list[str]]:
    """Internal distribution lists and their members (user ids): one per team and one for all sales."""
    lists = {t.dl_address: [t.manager_id, *t.rep_ids] for t in teams}
    lists[ALL_SALES_DL] = [u.id for u in people]
    assert all(a.endswith("@" + TENANT_DOMAIN) for a in lists)
    return lists

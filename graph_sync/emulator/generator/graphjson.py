"""Render generator values as Graph v1.0 resource JSON (the tenant directory's line format)."""

from __future__ import annotations

import time
from typing import Any

from graph_sync.emulator.generator.model import Address, Meeting, User

NO_TIME = "0001-01-01T00:00:00Z"  # what Graph returns for a response that was never given


def iso(ts: float) -> str:
    """ISO 8601 UTC with a ``Z``, second precision, as Graph writes message dates."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def event_time(ts: float) -> dict[str, str]:
    """A Graph ``dateTimeTimeZone`` in UTC."""
    return {"dateTime": time.strftime("%Y-%m-%dT%H:%M:%S.0000000", time.gmtime(ts)), "timeZone": "UTC"}


def recipient(address: Address) -> dict[str, dict[str, str]]:
    return {"emailAddress": {"name": address[0], "address": address[1]}}


def user_resource(user: User) -> dict[str, Any]:
    """A Graph ``user`` with ``mailboxSettings`` and, when it has one, ``manager`` in ``$expand`` shape."""
    out: dict[str, Any] = {
        "id": user.id,
        "displayName": user.display_name,
        "mail": user.mail,
        "userPrincipalName": user.mail,
        "accountEnabled": user.enabled,
        "jobTitle": user.job_title or None,
        "department": user.department or None,
        "mailboxSettings": {"userPurpose": user.purpose, "timeZone": user.time_zone},
    }
    if user.manager_id:
        out["manager"] = {"id": user.manager_id}
    return out


def event_copy(meeting: Meeting, *, event_id: str, change_key: str, owner: str) -> dict[str, Any]:
    """The copy of ``meeting`` in the calendar of ``owner`` (an email address)."""
    is_organizer = meeting.organizer[1] == owner
    if is_organizer:
        status = {"response": "organizer", "time": NO_TIME}
    else:
        mine = next(a for a in meeting.attendees if a.address[1] == owner)
        status = {"response": mine.response,
                  "time": iso(mine.response_time) if mine.response_time is not None else NO_TIME}
    attendees = [{"type": a.type,
                  "status": {"response": a.response,
                             "time": iso(a.response_time) if a.response_time is not None else NO_TIME},
                  "emailAddress": {"name": a.address[0], "address": a.address[1]}}
                 for a in meeting.attendees]
    return {
        "id": event_id,
        "createdDateTime": iso(meeting.created),
        "lastModifiedDateTime": iso(max(meeting.created, *(a.response_time or 0 for a in meeting.attendees))),
        "changeKey": change_key,
        "iCalUId": meeting.ical_uid,
        "subject": meeting.subject,
        "isAllDay": False,
        "isCancelled": meeting.cancelled,
        "isOrganizer": is_organizer,
        "isOnlineMeeting": meeting.online,
        "onlineMeetingProvider": "teamsForBusiness" if meeting.online else "unknown",
        "showAs": "free" if meeting.cancelled else "busy",
        "type": meeting.type,
        "seriesMasterId": meeting.series_master_id,
        "responseStatus": status,
        "start": event_time(meeting.start),
        "end": event_time(meeting.end),
        "location": {"displayName": meeting.location},
        "attendees": attendees,
        "organizer": recipient(meeting.organizer),
    }

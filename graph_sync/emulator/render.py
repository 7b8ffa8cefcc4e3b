"""How stored resources become Graph JSON: property sets, ``$select`` projection, id forms and etags."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from graph_sync.emulator.items import Item

MESSAGE_PROPERTIES = frozenset({
    "id", "internetMessageId", "conversationId", "conversationIndex", "subject", "from", "sender",
    "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "sentDateTime", "receivedDateTime",
    "createdDateTime", "lastModifiedDateTime", "isRead", "isDraft", "importance", "inferenceClassification",
    "hasAttachments", "categories", "parentFolderId", "changeKey", "isDeliveryReceiptRequested",
    "isReadReceiptRequested", "flag", "webLink", "internetMessageHeaders", "body", "bodyPreview", "uniqueBody",
})
EVENT_PROPERTIES = frozenset({
    "id", "iCalUId", "subject", "start", "end", "organizer", "attendees", "isOrganizer", "isCancelled",
    "isAllDay", "isOnlineMeeting", "onlineMeeting", "onlineMeetingProvider", "showAs", "type", "seriesMasterId",
    "responseStatus", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "importance",
    "sensitivity", "location", "locations", "recurrence", "originalStart", "originalStartTimeZone",
    "originalEndTimeZone", "reminderMinutesBeforeStart", "isReminderOn", "hasAttachments", "webLink",
    "transactionId", "body", "bodyPreview", "responseRequested", "allowNewTimeProposals", "hideAttendees",
})
USER_PROPERTIES = frozenset({
    "id", "displayName", "givenName", "surname", "mail", "userPrincipalName", "accountEnabled", "jobTitle",
    "department", "officeLocation", "businessPhones", "mobilePhone", "preferredLanguage", "mailboxSettings",
    "companyName", "employeeId", "userType", "createdDateTime", "usageLocation", "country", "city",
    "proxyAddresses", "otherMails", "onPremisesSyncEnabled",
})
USER_DEFAULT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")
"""What ``GET /users`` returns without ``$select`` (Graph's default user property set)."""

_NULL_DEFAULTS: dict[str, Any] = {"businessPhones": []}


def opaque(*parts: str) -> str:
    """A stable, Graph-looking opaque id derived from ``parts``."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return "AAMkA" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def change_key(item: Item) -> str:
    """The item's ``changeKey``: changes whenever the item does."""
    return base64.b64encode(hashlib.sha1(f"{item.id}:{item.version}".encode()).digest()[:12]).decode()


def rest_message_id(item: Item) -> str:
    """The default (non-immutable) id form: it depends on the folder, so it changes when the message moves."""
    return base64.urlsafe_b64encode(f"{item.folder}/{item.id}".encode()).decode().rstrip("=")


def project(data: dict[str, Any], select: tuple[str, ...] | None, skip: frozenset[str]) -> dict[str, Any]:
    """``data`` limited to ``select`` (every stored property when None), without the names in ``skip``."""
    if select is None:
        return {k: v for k, v in data.items() if k not in skip}
    return {k: data.get(k) for k in select if k not in skip}


def render_message(folder_ids: dict[str, str]):  # type: ignore[no-untyped-def]
    """A renderer for one mailbox's messages (``parentFolderId`` becomes the folder's opaque id)."""
    def render(item: Item, select: tuple[str, ...] | None, immutable: bool) -> dict[str, Any]:
        key = change_key(item)
        out: dict[str, Any] = {"@odata.type": "#microsoft.graph.message", "@odata.etag": f'W/"{key}"',
                               "id": item.id if immutable else rest_message_id(item)}
        out.update(project(item.data, select, frozenset({"id", "parentFolderId", "changeKey"})))
        if select is None or "parentFolderId" in select:
            out["parentFolderId"] = folder_ids[item.folder]
        if select is None or "changeKey" in select:
            out["changeKey"] = key
        return out
    return render


def render_event(item: Item, select: tuple[str, ...] | None, immutable: bool) -> dict[str, Any]:
    """An event resource (event ids do not depend on folders, so both id forms are the same)."""
    key = change_key(item)
    out: dict[str, Any] = {"@odata.type": "#microsoft.graph.event", "@odata.etag": f'W/"{key}"', "id": item.id}
    out.update(project(item.data, select, frozenset({"id", "changeKey"})))
    if select is None or "changeKey" in select:
        out["changeKey"] = key
    return out


def render_user(user: dict[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    """A user resource: Graph's default property set, or exactly ``$select`` (``id`` always included)."""
    names = USER_DEFAULT if select is None else ("id", *[s for s in select if s != "id"])
    return {k: user.get(k, _NULL_DEFAULTS.get(k)) for k in names}

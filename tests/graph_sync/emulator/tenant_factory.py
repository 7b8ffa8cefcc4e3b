"""A tiny hand-made tenant directory in the contract's format (``/work/notes``: tenant directory), written by
code so tests can choose its size."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TENANT_ID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
ALICE = "a1a1a1a1-0000-4000-8000-000000000001"
BOB = "b2b2b2b2-0000-4000-8000-000000000002"
CAROL = "c3c3c3c3-0000-4000-8000-000000000003"


def _address(name: str, address: str) -> dict[str, Any]:
    return {"emailAddress": {"name": name, "address": address}}


def message(mailbox: str, index: int, folder: str = "inbox") -> dict[str, Any]:
    """A metadata-only Graph message resource."""
    stamp = f"2026-05-{1 + index % 28:02d}T09:{index % 60:02d}:00Z"
    sender = _address("Dana Customer", "dana@fabrikam.example")
    return {
        "id": f"{mailbox[:4]}-msg-{folder}-{index:04d}", "internetMessageId": f"<m{index}@fabrikam.example>",
        "conversationId": f"conv-{index // 3}", "subject": f"Proposal {index}", "from": sender, "sender": sender,
        "toRecipients": [_address("Alice Rep", "alice@contoso.example")], "ccRecipients": [], "bccRecipients": [],
        "replyTo": [], "sentDateTime": stamp, "receivedDateTime": stamp, "createdDateTime": stamp,
        "lastModifiedDateTime": stamp, "isRead": False, "isDraft": False, "importance": "normal",
        "inferenceClassification": "focused", "hasAttachments": False, "categories": [], "parentFolderId": folder,
    }


def event(mailbox: str, index: int, day: int) -> dict[str, Any]:
    """A Graph event resource on 2026-05-``day``, 16:00–16:30 UTC."""
    stamp = "2026-04-20T10:00:00Z"
    return {
        "id": f"{mailbox[:4]}-evt-{index:04d}", "iCalUId": f"ical-{index}", "subject": f"Meeting {index}",
        "start": {"dateTime": f"2026-05-{day:02d}T16:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": f"2026-05-{day:02d}T16:30:00.0000000", "timeZone": "UTC"},
        "organizer": _address("Alice Rep", "alice@contoso.example"),
        "attendees": [{"type": "required", "status": {"response": "accepted", "time": stamp},
                       **_address("Dana Customer", "dana@fabrikam.example")}],
        "isOrganizer": True, "isCancelled": False, "isAllDay": False, "isOnlineMeeting": True, "showAs": "busy",
        "type": "singleInstance", "seriesMasterId": None,
        "responseStatus": {"response": "organizer", "time": stamp},
        "createdDateTime": stamp, "lastModifiedDateTime": stamp,
    }


def _user(uid: str, name: str, mail: str, manager: str | None, purpose: str = "user") -> dict[str, Any]:
    user = {"id": uid, "displayName": name, "mail": mail, "userPrincipalName": mail, "accountEnabled": True,
            "jobTitle": "Account Executive", "department": "Sales",
            "mailboxSettings": {"userPurpose": purpose, "timeZone": "Europe/Berlin"}}
    if manager:
        user["manager"] = {"id": manager}
    return user


def write_tenant(directory: Path, inbox: int = 25, sent: int = 5, events: int = 6, extra_users: int = 0) -> Path:
    """Write a tenant: Alice (manager of Bob and Carol's shared mailbox), her inbox/sent mail and calendar."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "organization.json").write_text(json.dumps({
        "id": TENANT_ID, "displayName": "Contoso",
        "verifiedDomains": [{"name": "contoso.example", "isDefault": True, "isInitial": False, "type": "Managed"}],
    }))
    users = [_user(ALICE, "Alice Rep", "alice@contoso.example", None),
             _user(BOB, "Bob Rep", "bob@contoso.example", ALICE),
             _user(CAROL, "Sales Shared", "sales@contoso.example", None, "shared")]
    users += [_user(f"e{i:07d}-0000-4000-8000-000000000000", f"Extra {i}", f"extra{i}@contoso.example", ALICE)
              for i in range(extra_users)]
    _lines(directory / "users.jsonl", users)
    _lines(directory / "domains.jsonl", [
        {"id": "contoso.example", "isVerified": True, "isDefault": True, "isInitial": False,
         "supportedServices": ["Email"]},
        {"id": "contoso.onmicrosoft.example", "isVerified": True, "isDefault": False, "isInitial": True,
         "supportedServices": ["Email"]}])
    (directory / "mail").mkdir(exist_ok=True)
    _lines(directory / "mail" / f"{ALICE}.jsonl",
           [message(ALICE, i) for i in range(inbox)] + [message(ALICE, i, "sentitems") for i in range(sent)])
    _lines(directory / "mail" / f"{BOB}.jsonl", [message(BOB, i) for i in range(3)])
    (directory / "events").mkdir(exist_ok=True)
    _lines(directory / "events" / f"{ALICE}.jsonl", [event(ALICE, i, 4 + i) for i in range(events)])
    return directory


def _lines(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

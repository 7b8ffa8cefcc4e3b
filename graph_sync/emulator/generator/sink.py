"""Stream mails and meetings into per-mailbox JSONL files, one Graph resource per line, and count them.

Lines are written as they are produced, so memory stays flat however big the tenant is. A mail becomes one
copy per internal mailbox that holds it: ``sentitems`` of an internal sender, ``inbox`` of every internal
recipient (distribution lists expanded to their members). A meeting becomes one copy per internal calendar
(organiser, attendees, rooms).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from graph_sync.emulator.generator.graphjson import event_copy, iso, recipient
from graph_sync.emulator.generator.ids import IdFactory
from graph_sync.emulator.generator.model import Mail, Meeting, User

_BUFFER = 1 << 16


class TenantSink:
    """Owns the open ``mail/`` and ``events/`` files of a tenant directory while it is generated."""

    def __init__(self, out_dir: Path, users: list[User], lists: dict[str, list[str]], *, now: float,
                 ids: IdFactory, rng: random.Random) -> None:
        (out_dir / "mail").mkdir(parents=True, exist_ok=True)
        (out_dir / "events").mkdir(parents=True, exist_ok=True)
        self._now = now
        self._ids = ids
        self._rng = rng
        self._by_address = {u.mail: u for u in users}
        self._by_id = {u.id: u for u in users}
        self._lists = lists  # internal distribution list address -> member user ids
        self._files = ExitStack()
        self._mail: dict[str, IO[str]] = {}
        self._events: dict[str, IO[str]] = {}
        for u in users:  # every mailbox gets both files, even when empty, so the directory lists every user
            self._mail[u.id] = self._open(out_dir / "mail" / f"{u.id}.jsonl")
            self._events[u.id] = self._open(out_dir / "events" / f"{u.id}.jsonl")
        self.mail_copies: Counter[str] = Counter()  # "<user id>/<folder>" -> lines
        self.event_copies: Counter[str] = Counter()
        self.messages = 0  # distinct internetMessageIds written
        self.meetings = 0  # distinct iCalUIds written

    def _open(self, path: Path) -> IO[str]:
        return self._files.enter_context(open(path, "w", encoding="utf-8", buffering=_BUFFER))

    def close(self) -> None:
        """Flush and close every file."""
        self._files.close()

    @staticmethod
    def _dump(obj: dict[str, Any]) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"

    def _holders(self, addresses: list[str], exclude: str | None) -> list[User]:
        """Internal mailboxes that receive a copy: direct recipients and members of internal lists."""
        seen: dict[str, User] = {}
        for address in addresses:
            if address in self._lists:
                for uid in self._lists[address]:
                    seen.setdefault(uid, self._by_id[uid])
            elif address in self._by_address:
                u = self._by_address[address]
                seen.setdefault(u.id, u)
        return [u for u in seen.values() if u.mail != exclude]

    def write_mail(self, mail: Mail) -> int:
        """Write every mailbox copy of ``mail``; returns how many copies were written."""
        base = {
            "internetMessageId": mail.internet_message_id,
            "conversationId": mail.conversation_id,
            "subject": mail.subject,
            "from": recipient(mail.sender),
            "sender": recipient(mail.sender),
            "toRecipients": [recipient(a) for a in mail.to],
            "ccRecipients": [recipient(a) for a in mail.cc],
            "bccRecipients": [],
            "replyTo": [recipient(a) for a in mail.reply_to],
            "sentDateTime": iso(mail.sent),
            "isDraft": False,
            "importance": mail.importance,
            "hasAttachments": mail.has_attachments,
            "categories": mail.categories,
        }
        copies = 0
        sender = self._by_address.get(mail.sender[1])
        if sender is not None:
            line = dict(base, id=self._ids.message_id(), changeKey=self._ids.change_key(),
                        createdDateTime=base["sentDateTime"], lastModifiedDateTime=base["sentDateTime"],
                        receivedDateTime=base["sentDateTime"], isRead=True, inferenceClassification="focused",
                        parentFolderId="sentitems")
            # Bcc is visible only in the sender's own copy, as in Exchange.
            line["bccRecipients"] = [recipient(a) for a in mail.bcc]
            self._mail[sender.id].write(self._dump(line))
            self.mail_copies[f"{sender.id}/sentitems"] += 1
            copies += 1
        targets = [a[1] for a in (*mail.to, *mail.cc, *mail.bcc)]
        for holder in self._holders(targets, exclude=mail.sender[1]):
            received = mail.sent + self._rng.uniform(1, 45)
            fresh = received > self._now - 2 * 86400
            is_read = self._rng.random() < (0.3 if mail.classification == "other" else 0.5 if fresh else 0.97)
            line = dict(base, id=self._ids.message_id(), changeKey=self._ids.change_key(),
                        createdDateTime=iso(received), receivedDateTime=iso(received),
                        lastModifiedDateTime=iso(received + (self._rng.uniform(60, 7200) if is_read else 0)),
                        isRead=is_read, inferenceClassification=mail.classification, parentFolderId="inbox")
            self._mail[holder.id].write(self._dump(line))
            self.mail_copies[f"{holder.id}/inbox"] += 1
            copies += 1
        if copies:
            self.messages += 1
        return copies

    def write_meeting(self, meeting: Meeting) -> int:
        """Write every calendar copy of ``meeting``; returns how many copies were written."""
        owners = [meeting.organizer[1], *(a.address[1] for a in meeting.attendees)]
        copies = 0
        for owner in dict.fromkeys(owners):
            user = self._by_address.get(owner)
            if user is None:
                continue
            line = event_copy(meeting, event_id=self._ids.event_id(), change_key=self._ids.change_key(),
                              owner=owner)
            self._events[user.id].write(self._dump(line))
            self.event_copies[user.id] += 1
            copies += 1
        if copies:
            self.meetings += 1
        return copies

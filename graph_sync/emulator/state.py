"""``EmulatorState``: one tenant's directory, mailboxes, calendars, to-do lists and app installs, plus the
emulator's limits, faults, log and counters. Both transports serve the same state object.

The state is not thread-safe: mutate it from the event loop that serves it (tests and the CLI do).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph_sync.emulator.auth import ALL_ROLES, RegisteredApp, TokenAuthority
from graph_sync.emulator.config import EmulatorConfig
from graph_sync.emulator.errors import UnknownItem
from graph_sync.emulator.faults import FaultScript
from graph_sync.emulator.folders import DEFAULT_FOLDERS, ROOT, Folder, FolderTree
from graph_sync.emulator.items import ItemStore
from graph_sync.emulator.observe import Counters, RequestLog
from graph_sync.emulator.render import opaque, render_event, render_message
from graph_sync.emulator.tenant import TenantData, event_span, load_tenant
from graph_sync.emulator.throttle import MailboxLimits

if TYPE_CHECKING:
    import httpx

# With ``EmulatorConfig(custom_folders=True)``: folders every mailbox gets (key, display name, parent key, search
# folder?) and where a share of its messages is filed, decided by a hash of the message id (deterministic, so
# runs repeat). Some land in folders a sync must skip (Junk Email, Deleted Items and a folder deleted into it).
CUSTOM_FOLDERS: tuple[tuple[str, str, str, bool], ...] = (
    ("c-clients", "Clients", ROOT, False),
    ("c-key-accounts", "Key accounts", "c-clients", False),
    ("c-projects", "Projects", "inbox", False),
    ("c-old-project", "Old project", "deleteditems", False),
    ("s-unread", "Unread Mail", ROOT, True),
)
_FILING: dict[str, tuple[tuple[int, str], ...]] = {  # folder -> (upper bound of hash % 100, target) in order
    "inbox": ((15, "c-clients"), (25, "c-key-accounts"), (35, "c-projects"), (40, "archive"), (43, "junkemail"),
              (46, "deleteditems"), (48, "c-old-project")),
    "sentitems": ((5, "deleteditems"), (15, "archive")),
}


@dataclass
class Mailbox:
    """One user's mail, calendar, contacts, to-do lists and Teams app installs."""

    user_id: str
    folder_ids: dict[str, str]  # folder key -> id (the renderer reads it, so it is kept in step with ``tree``)
    tree: FolderTree
    messages: ItemStore
    events: ItemStore
    todo_lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    todo_tasks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    installed_apps: dict[str, dict[str, Any]] = field(default_factory=dict)
    transactions: dict[str, str] = field(default_factory=dict)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → contact (handlers_contacts)

    def folder(self, key: str) -> str | None:
        """The key of a folder given by well-known name or by id."""
        return self.tree.resolve(key)

    def add_folder(self, key: str, folder_id: str, display_name: str, parent: str | None,
                   search: bool = False) -> None:
        """Create a folder under ``parent`` (a key; None for the root)."""
        self.tree.folders[key] = Folder(key, folder_id, display_name, parent, search)
        self.folder_ids[key] = folder_id


class EmulatorState:
    """Everything the emulator serves and remembers. Build it with ``from_directory`` or ``from_data``."""

    def __init__(self, data: TenantData, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.rng = random.Random(self.config.seed)
        self.organization = data.organization
        self.domains = data.domains
        self.users = [{k: v for k, v in u.items() if k != "manager"} for u in data.users]
        self.users_by_id = {u["id"]: u for u in self.users}
        self.users_by_key = {**{str(u.get("userPrincipalName", "")).lower(): u for u in self.users},
                             **{str(u["id"]).lower(): u for u in self.users}}
        self.manager_of = {u["id"]: u["manager"]["id"] for u in data.users if u.get("manager")}
        self.reports_of: dict[str, list[str]] = {}
        for user_id, manager_id in self.manager_of.items():
            self.reports_of.setdefault(manager_id, []).append(user_id)
        self.user_cache: dict[tuple[str, tuple[str, ...] | None], bytes] = {}
        self.authority = TokenAuthority(data.tenant_id)
        self.faults = FaultScript()
        self.log = RequestLog(self.config.request_log_size)
        self.counters = Counters()
        self.mailboxes: dict[str, Mailbox] = {}
        self.limits = MailboxLimits(self.config.mailbox_concurrency, self.config.mailbox_budget,
                                    self.config.budget_window_s, self.config.retry_after_s)
        for user in self.users:
            self._mailbox_of(user["id"])
        for user_id, messages in data.mail.items():
            box = self.mailboxes[user_id]
            for message in messages:
                folder = self._known_folder(box, str(message.get("parentFolderId", "inbox")).lower())
                if self.config.custom_folders:
                    folder = _filed(str(message["id"]), folder)
                box.messages.add(message["id"], dict(message), folder, logged=False)
        for user_id, events in data.events.items():
            store = self.mailboxes[user_id].events
            for event in events:
                store.add(event["id"], dict(event), "calendar", event_span(event), logged=False)

    @classmethod
    def from_directory(cls, path: str | Path, config: EmulatorConfig | None = None) -> EmulatorState:
        """Load a tenant directory (``docs/tenant-directory.md``)."""
        return cls(load_tenant(Path(path)), config)

    @property
    def tenant_id(self) -> str:
        """The served tenant's id."""
        return str(self.organization["id"])

    def register_app(self, client_id: str | None = None, client_secret: str | None = None,
                     roles: tuple[str, ...] | list[str] = ALL_ROLES) -> RegisteredApp:
        """Register an app for the client-credentials grant; ids and secrets are made up when not given."""
        app = RegisteredApp(client_id or str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                            client_secret or f"emu~{self.rng.getrandbits(96):024x}", tuple(roles))
        self.authority.apps[app.client_id] = app
        return app

    def mock_transport(self) -> httpx.MockTransport:
        """An ``httpx.MockTransport`` serving this state in-process."""
        from graph_sync.emulator.transport import emulator_transport
        return emulator_transport(self)

    def mailbox(self, user_id: str) -> Mailbox:
        """The mailbox of a user given by id or user principal name."""
        user = self.users_by_key.get(user_id.lower())
        if user is None:
            raise UnknownItem("user", user_id)
        return self.mailboxes[user["id"]]

    def new_id(self) -> str:
        """A fresh opaque item id (seeded, so runs repeat)."""
        return opaque("new", f"{self.rng.getrandbits(128):032x}")

    # Live changes ---------------------------------------------------------------------------------------

    def add_message(self, user_id: str, message: dict[str, Any]) -> str:
        """Deliver a message (``parentFolderId``: a well-known name such as ``inbox``, or a folder id); returns its
        id."""
        box = self.mailbox(user_id)
        folder = self._known_folder(box, str(message.get("parentFolderId", "inbox")))
        item_id = str(message.get("id") or self.new_id())
        box.messages.add(item_id, {**message, "id": item_id}, folder)
        return item_id

    def update_message(self, user_id: str, message_id: str, patch: dict[str, Any]) -> None:
        """Change properties of a message (for example ``{"isRead": True}``)."""
        self.mailbox(user_id).messages.update(message_id, patch)

    def move_message(self, user_id: str, message_id: str, folder: str) -> None:
        """Move a message to another folder (a well-known name or a folder id)."""
        box = self.mailbox(user_id)
        name = self._known_folder(box, folder)
        box.messages.move(message_id, name)
        box.messages.items[message_id].data["parentFolderId"] = name

    def delete_message(self, user_id: str, message_id: str) -> None:
        """Delete a message."""
        self.mailbox(user_id).messages.delete(message_id)

    def add_folder(self, user_id: str, display_name: str, parent: str | None = None) -> str:
        """Create a mail folder under ``parent`` (a well-known name or folder id; None: the root); returns its id."""
        box = self.mailbox(user_id)
        parent_key = self._known_folder(box, parent) if parent is not None else ROOT
        folder_id = self.new_id()
        box.add_folder("c-" + folder_id, folder_id, display_name, parent_key)
        return folder_id

    def delete_folder(self, user_id: str, folder: str, *, permanent: bool = False) -> None:
        """Delete a mail folder as Outlook does: it moves, with its subfolders and messages, under Deleted Items;
        ``permanent`` removes it and its subfolders and deletes their messages (their ids then answer 404)."""
        box = self.mailbox(user_id)
        key = self._known_folder(box, folder)
        if key in DEFAULT_FOLDERS or key == ROOT:
            raise ValueError(f"{key} is a default folder and cannot be deleted")
        if not permanent:
            box.tree.folders[key].parent = "deleteditems"
            return
        doomed = box.tree.subtree(key)
        for item in [i for i in box.messages.items.values() if i.folder in doomed]:
            box.messages.delete(item.id)
        for gone in doomed:
            del box.tree.folders[gone]

    def add_event(self, user_id: str, event: dict[str, Any]) -> str:
        """Put an event on a calendar; returns its id."""
        store = self.mailbox(user_id).events
        item_id = str(event.get("id") or self.new_id())
        data = {**event, "id": item_id}
        store.add(item_id, data, "calendar", event_span(data))
        return item_id

    def update_event(self, user_id: str, event_id: str, patch: dict[str, Any]) -> None:
        """Change properties of an event (a new ``start``/``end`` moves it in or out of calendar windows)."""
        store = self.mailbox(user_id).events
        data = {**store.get(event_id).data, **patch}
        store.update(event_id, patch, event_span(data) if {"start", "end"} & patch.keys() else None)

    def delete_event(self, user_id: str, event_id: str) -> None:
        """Remove an event from a calendar."""
        self.mailbox(user_id).events.delete(event_id)

    def expire_sync_state(self, user_id: str) -> None:
        """Invalidate every delta and next link issued so far for this mailbox (they answer 410)."""
        box = self.mailbox(user_id)
        box.messages.generation += 1
        box.events.generation += 1

    # Internals ------------------------------------------------------------------------------------------

    def _mailbox_of(self, user_id: str) -> Mailbox:
        box = self.mailboxes.get(user_id)
        if box is None:
            folder_ids: dict[str, str] = {}
            box = Mailbox(user_id, folder_ids, FolderTree(), ItemStore("message", render_message(folder_ids)),
                          ItemStore("event", render_event))
            box.add_folder(ROOT, opaque(user_id, ROOT), "Top of Information Store", None)
            for name, display in DEFAULT_FOLDERS.items():
                box.add_folder(name, opaque(user_id, name), display, ROOT)
            if self.config.custom_folders:
                for key, display, parent, search in CUSTOM_FOLDERS:
                    box.add_folder(key, opaque(user_id, key), display, parent, search)
            self.mailboxes[user_id] = box
        return box

    @staticmethod
    def _known_folder(box: Mailbox, folder: str) -> str:
        name = box.folder(folder)
        if name is None:
            raise UnknownItem("mail folder", folder)
        return name


def _filed(message_id: str, folder: str) -> str:
    """Where ``custom_folders`` files a message that the tenant directory puts in ``folder``."""
    share = int.from_bytes(hashlib.sha256(message_id.encode()).digest()[:4], "big") % 100
    for bound, target in _FILING.get(folder, ()):
        if share < bound:
            return target
    return folder

"""``sync_all_folders``: every folder with relationship signal synced exactly once, against the emulator's own
record of where each message lives (``EmulatorConfig(custom_folders=True)`` files a share of each mailbox's mail
in custom folders, nested ones, Archive, Junk Email, Deleted Items and a folder already deleted into it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from analytics.settings import Settings
from graph_sync.emulator import EmulatorState
from graph_sync.folders import folder_key
from graph_sync.worker import PassReport, build_worker
from tests.graph_sync.support import (
    NOW,
    SETTINGS,
    Expected,
    Sleeps,
    assert_exact,
    emulator,
    expected,
    register,
    run_pass,
    synced_users,
)

ALL = SETTINGS.with_overrides(sync_all_folders=True)
# Folders whose mail a sync must leave out, by well-known name, with everything below them.
SKIPPED = {"deleteditems", "junkemail", "drafts", "outbox", "conversationhistory"}


def _synced_folder(state: EmulatorState, user: str, key: str) -> bool:
    tree = state.mailboxes[user].tree
    if key not in tree.folders or tree.folders[key].search:
        return False
    return not ({key, *tree.ancestors(key)} & SKIPPED)


def expected_now(state: EmulatorState, users: Iterable[str], *, all_folders: bool = True) -> Expected:
    """What the store must hold, from the emulator's current state (messages) and the tenant files (events)."""
    mids: set[str] = set()
    lines = 0
    for uid in users:
        for item in state.mailboxes[uid].messages.items.values():
            ok = _synced_folder(state, uid, item.folder) if all_folders else item.folder in ("inbox", "sentitems")
            if ok:
                mids.add(item.data["internetMessageId"])
                lines += 1
    icals = {i.data["iCalUId"] for uid in users for i in state.mailboxes[uid].events.items.values()}
    events = sum(len(state.mailboxes[uid].events.items) for uid in users)
    return Expected(frozenset(mids), lines, frozenset(icals), events)


def _sightings(engine: Engine, user: str, source_id: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT folder_id FROM activity_source WHERE mailbox_id=:m AND source_id=:s"),
                                 {"m": user, "s": source_id}).scalars())


def _resources(engine: Engine, user: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT resource FROM sync_state WHERE mailbox_id=:m"), {"m": user}).scalars())


class _Hooked(httpx.AsyncBaseTransport):
    """The emulator's transport, running each trigger's action once, right after the ``after``-th request whose
    path contains the trigger's ``path`` (so a change lands in the middle of a round)."""

    def __init__(self, state: EmulatorState, *triggers: tuple[str, int, Callable[[], None]]) -> None:
        self._inner = state.mock_transport()
        self._triggers = [[path, after, action] for path, after, action in triggers]
        self.fired = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        for trigger in self._triggers:
            path, left, action = trigger
            if path in request.url.path and left > 0:
                trigger[1] = left - 1
                if left == 1:
                    action()
                    self.fired += 1
        return response


def _run(engine: Engine, transport: httpx.AsyncBaseTransport, settings: Settings) -> PassReport:
    async def go() -> PassReport:
        async with build_worker(settings, engine=engine, transport=transport, clock=lambda: NOW, sleep=Sleeps(),
                                owner="test-worker") as worker:
            return await worker.run_once()
    return asyncio.run(go())


def test_default_settings_sync_inbox_and_sent_only(engine: Engine, trimmed_tenant: Path) -> None:
    state = emulator(trimmed_tenant, custom_folders=True)
    register(engine, state)
    users = synced_users(trimmed_tenant)
    report = run_pass(engine, state)
    assert report.mailboxes_failed == 0
    assert_exact(engine, state.tenant_id, expected_now(state, users, all_folders=False))
    assert not any("mailFolders?" in r.path or r.path.endswith("/mailFolders") for r in state.log)
    assert _resources(engine, users[0]) == {"messages:inbox", "messages:sentitems", "events"}


def test_all_folders_on_the_generated_tenant_equals_its_ground_truth(engine: Engine, small_tenant: Path) -> None:
    state = emulator(small_tenant)  # every message in Inbox or Sent Items: the same answer as without the setting
    register(engine, state)
    users = synced_users(small_tenant)
    report = run_pass(engine, state, ALL)
    assert report.mailboxes_failed == 0 and report.rejected == 0
    assert_exact(engine, state.tenant_id, expected(small_tenant, users))


def test_all_folders_syncs_every_folder_but_the_skipped_ones_exactly_once(engine: Engine,
                                                                           trimmed_tenant: Path) -> None:
    state = emulator(trimmed_tenant, custom_folders=True)
    register(engine, state)
    users = synced_users(trimmed_tenant)
    report = run_pass(engine, state, ALL.with_overrides(sync_page_size=7))
    assert report.mailboxes_failed == 0, report.errors
    exp = expected_now(state, users)
    assert_exact(engine, state.tenant_id, exp)
    me = next(u for u in users if state.mailboxes[u].messages.items)
    box = state.mailboxes[me]
    keys = {f"messages:{folder_key(box.folder_ids[k])}" for k in ("c-clients", "c-key-accounts", "c-projects",
                                                                      "archive")}
    assert keys <= _resources(engine, me)
    skipped = {f"messages:{folder_key(box.folder_ids[k])}" for k in ("deleteditems", "junkemail", "drafts",
                                                                         "c-old-project", "s-unread")}
    assert not skipped & _resources(engine, me)
    # Skipped folders did hold mail: the setting really left something out.
    assert any(not _synced_folder(state, me, i.folder) for i in box.messages.items.values())

    # A second pass lists the folders again and replays every delta link: nothing changes.
    again = run_pass(engine, state, ALL)
    assert again.upserted == 0 and again.removed == 0 and again.mailboxes_failed == 0
    assert_exact(engine, state.tenant_id, exp)


def test_moves_new_and_deleted_folders_mid_sync_stay_exact(engine: Engine, trimmed_tenant: Path) -> None:
    state = emulator(trimmed_tenant, custom_folders=True)
    register(engine, state)
    users = synced_users(trimmed_tenant)
    box_of = {u: state.mailboxes[u] for u in users}
    me = max(users, key=lambda u: sum(1 for i in box_of[u].messages.items.values() if i.folder == "c-projects"))
    box = state.mailboxes[me]
    settings = ALL.with_overrides(sync_page_size=2)

    def in_folder(key: str) -> list[str]:
        return [i.id for i in box.messages.items.values() if i.folder == key]

    clients, projects, inbox = in_folder("c-clients"), in_folder("c-projects"), in_folder("inbox")
    key_accounts = in_folder("c-key-accounts")
    assert len(clients) >= 2 and len(projects) >= 3 and len(inbox) >= 3 and key_accounts

    # Pass 1: mid-way through the first inbox round, a message moves Clients -> Inbox and Key accounts is deleted
    # (it moves under Deleted Items, with its mail); mid-way through its own first round, a message moves Inbox ->
    # Projects and Projects is deleted for good, with it (its next page answers 404).
    def changes() -> None:
        state.move_message(me, clients[0], "inbox")
        state.delete_folder(me, box.folder_ids["c-key-accounts"])

    def drop_projects() -> None:
        state.move_message(me, inbox[0], box.folder_ids["c-projects"])
        state.delete_folder(me, box.folder_ids["c-projects"], permanent=True)

    hooked = _Hooked(state, (f"/users/{me}/mailFolders/inbox/messages/delta", 2, changes),
                     (f"/mailFolders/{box.folder_ids['c-projects']}/messages/delta", 1, drop_projects))
    first = _run(engine, hooked, settings)
    assert first.mailboxes == len(users) and hooked.fired == 2
    assert first.mailboxes_failed == 1  # Projects' delta answered 404 once the folder was gone

    # Pass 2 and 3: the listing no longer shows the deleted folders: their rows and sightings go (the permanent
    # deletion's 404 failed Projects' round in pass 1; the drop waits for a pass whose folders all completed).
    # Meanwhile a new folder appears with mail moved into it.
    new_folder = state.add_folder(me, "Renewals", parent="inbox")
    state.move_message(me, clients[1], new_folder)
    state.move_message(me, inbox[1], new_folder)
    state.move_message(me, inbox[2], "junkemail")
    for _ in range(2):
        report = run_pass(engine, state, settings)
        assert report.mailboxes_failed == 0, report.errors

    assert_exact(engine, state.tenant_id, expected_now(state, users))
    resources = _resources(engine, me)
    assert f"messages:{folder_key(new_folder)}" in resources
    assert f"messages:{folder_key(box.folder_ids['c-key-accounts'])}" not in resources
    assert f"messages:{folder_key(box.folder_ids['c-projects'])}" not in resources
    assert _sightings(engine, me, clients[0]) == ["inbox"]  # moved: one sighting, in its new folder
    assert _sightings(engine, me, clients[1]) == [folder_key(new_folder)]
    assert _sightings(engine, me, inbox[0]) == []  # moved into Projects, then deleted with it
    assert _sightings(engine, me, inbox[2]) == []  # junk
    assert all(_sightings(engine, me, m) == [] for m in key_accounts)


def test_turning_the_setting_off_drops_the_extra_folders(engine: Engine, trimmed_tenant: Path) -> None:
    state = emulator(trimmed_tenant, custom_folders=True)
    register(engine, state)
    users = synced_users(trimmed_tenant)
    assert run_pass(engine, state, ALL).mailboxes_failed == 0
    assert run_pass(engine, state, SETTINGS).mailboxes_failed == 0
    assert_exact(engine, state.tenant_id, expected_now(state, users, all_folders=False))
    assert all(_resources(engine, u) == {"messages:inbox", "messages:sentitems", "events"} for u in users)

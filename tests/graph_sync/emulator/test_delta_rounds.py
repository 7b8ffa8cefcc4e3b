"""Delta over the in-process transport: full rounds, live changes replayed exactly, expired sync state."""

from __future__ import annotations

import asyncio

from graph_sync.emulator import EmulatorState, Fault
from tests.graph_sync.emulator.helpers import GRAPH, authed_client, delta_round
from tests.graph_sync.emulator.tenant_factory import ALICE, message

INBOX_DELTA = f"{GRAPH}/users/{ALICE}/mailFolders/inbox/messages/delta()"
IMMUTABLE = {"Prefer": 'IdType="ImmutableId", odata.maxpagesize=10'}


def test_initial_round_pages_every_inbox_message_then_gives_a_delta_link(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        items, delta_link, pages = await delta_round(client, INBOX_DELTA, **IMMUTABLE)
        assert len(items) == 25 and pages == 3
        assert {i["id"] for i in items} == {f"a1a1-msg-inbox-{i:04d}" for i in range(25)}
        assert delta_link.startswith(f"{GRAPH}/users/{ALICE}/mailFolders/inbox/messages/delta?$deltatoken=")
        again, _, _ = await delta_round(client, delta_link, **IMMUTABLE)
        assert again == []
    asyncio.run(run())


def test_second_round_returns_exactly_the_live_changes_including_removed(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        _, delta_link, _ = await delta_round(client, INBOX_DELTA, **IMMUTABLE)
        new_id = state.add_message(ALICE, {**message(ALICE, 900), "id": "new-1"})
        state.update_message(ALICE, "a1a1-msg-inbox-0003", {"isRead": True})
        state.move_message(ALICE, "a1a1-msg-inbox-0004", "sentitems")
        state.delete_message(ALICE, "a1a1-msg-inbox-0005")
        state.update_message(ALICE, "a1a1-msg-sentitems-0001", {"isRead": True})  # other folder: not here
        items, delta_link, _ = await delta_round(client, delta_link, **IMMUTABLE)
        by_id = {i["id"]: i for i in items}
        assert set(by_id) == {new_id, "a1a1-msg-inbox-0003", "a1a1-msg-inbox-0004", "a1a1-msg-inbox-0005"}
        assert by_id["a1a1-msg-inbox-0003"]["isRead"] is True
        assert by_id["a1a1-msg-inbox-0004"]["@removed"] == {"reason": "deleted"}
        assert by_id["a1a1-msg-inbox-0005"]["@removed"] == {"reason": "deleted"}
        assert "@removed" not in by_id[new_id]
        sent, _, _ = await delta_round(client, f"{GRAPH}/users/{ALICE}/mailFolders/sentitems/messages/delta",
                                       **IMMUTABLE)
        assert "a1a1-msg-inbox-0004" in {i["id"] for i in sent}
        assert (await delta_round(client, delta_link, **IMMUTABLE))[0] == []
    asyncio.run(run())


def test_changes_during_an_initial_round_are_not_lost(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        first = (await client.get(INBOX_DELTA, headers=IMMUTABLE)).json()
        state.delete_message(ALICE, "a1a1-msg-inbox-0002")  # already served
        state.delete_message(ALICE, "a1a1-msg-inbox-0015")  # not served yet
        state.add_message(ALICE, {**message(ALICE, 901), "id": "late"})
        rest, delta_link, _ = await delta_round(client, first["@odata.nextLink"], **IMMUTABLE)
        seen = {i["id"] for i in first["value"] + rest}
        assert "a1a1-msg-inbox-0015" not in seen and len(seen) == 24
        changes, _, _ = await delta_round(client, delta_link, **IMMUTABLE)
        assert {i["id"] for i in changes} == {"a1a1-msg-inbox-0002", "a1a1-msg-inbox-0015", "late"}
    asyncio.run(run())


def test_select_limits_properties_and_the_next_link_keeps_it(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        items, _, _ = await delta_round(client, INBOX_DELTA + "?$select=subject,internetMessageId,parentFolderId",
                                        **IMMUTABLE)
        assert len(items) == 25
        for item in items:
            assert set(item) == {"@odata.type", "@odata.etag", "id", "subject", "internetMessageId",
                                 "parentFolderId"}
        folder = (await client.get(f"{GRAPH}/users/{ALICE}/mailFolders/inbox")).json()
        assert items[0]["parentFolderId"] == folder["id"] != "inbox"
        bad = await client.get(INBOX_DELTA + "?$select=subjekt")
        assert bad.status_code == 400 and "subjekt" in bad.json()["error"]["message"]
    asyncio.run(run())


def test_page_size_comes_from_prefer_and_is_echoed(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        answer = await client.get(INBOX_DELTA, headers={"Prefer": "odata.maxpagesize=7"})
        assert len(answer.json()["value"]) == 7
        assert answer.headers["Preference-Applied"] == "odata.maxpagesize=7"
        default = await client.get(INBOX_DELTA)
        assert len(default.json()["value"]) == 10 and "Preference-Applied" not in default.headers
    asyncio.run(run())


def test_without_immutable_ids_a_moved_message_changes_id(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        before, _, _ = await delta_round(client, INBOX_DELTA, Prefer="odata.maxpagesize=50")
        state.move_message(ALICE, "a1a1-msg-inbox-0000", "sentitems")
        sent, _, _ = await delta_round(client, f"{GRAPH}/users/{ALICE}/mailFolders/sentitems/messages/delta",
                                       Prefer="odata.maxpagesize=50")
        old = {i["internetMessageId"]: i["id"] for i in before}["<m0@fabrikam.example>"]
        new = [i["id"] for i in sent if i["internetMessageId"] == "<m0@fabrikam.example>"]
        assert new and old not in new and old != "a1a1-msg-inbox-0000"
    asyncio.run(run())


def test_expired_sync_state_answers_410_sync_state_not_found(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        _, delta_link, _ = await delta_round(client, INBOX_DELTA, **IMMUTABLE)
        state.faults.add(Fault.sync_state_not_found())
        gone = await client.get(delta_link, headers=IMMUTABLE)
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "syncStateNotFound"
        assert (await client.get(delta_link, headers=IMMUTABLE)).status_code == 200  # fault used up
        state.expire_sync_state(ALICE)
        assert (await client.get(delta_link, headers=IMMUTABLE)).status_code == 410
        assert (await client.get(INBOX_DELTA, headers=IMMUTABLE)).status_code == 200  # a fresh round works
    asyncio.run(run())


def test_calendar_delta_reports_window_changes_and_removals(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        url = (f"{GRAPH}/users/{ALICE}/calendarView/delta?startDateTime=2026-05-01T00:00:00Z"
               "&endDateTime=2026-05-08T00:00:00Z")
        items, delta_link, _ = await delta_round(client, url, Prefer="odata.maxpagesize=2")
        assert {i["id"] for i in items} == {f"a1a1-evt-{n:04d}" for n in range(4)}  # May 4–7
        late = {"dateTime": "2026-05-20T16:00:00.0000000", "timeZone": "UTC"}
        state.update_event(ALICE, "a1a1-evt-0000", {"start": late, "end": late})  # moves out of the window
        state.update_event(ALICE, "a1a1-evt-0005", {"subject": "outside, unseen"})  # never in the window
        state.delete_event(ALICE, "a1a1-evt-0001")
        state.update_event(ALICE, "a1a1-evt-0002", {"subject": "Renamed"})
        changes, _, _ = await delta_round(client, delta_link)
        by_id = {i["id"]: i for i in changes}
        assert set(by_id) == {"a1a1-evt-0000", "a1a1-evt-0001", "a1a1-evt-0002"}
        assert "@removed" in by_id["a1a1-evt-0000"] and "@removed" in by_id["a1a1-evt-0001"]
        assert by_id["a1a1-evt-0002"]["subject"] == "Renamed"
        missing = await client.get(f"{GRAPH}/users/{ALICE}/calendarView/delta")
        assert missing.status_code == 400 and missing.json()["error"]["code"] == "ErrorInvalidParameter"
    asyncio.run(run())

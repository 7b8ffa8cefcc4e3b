"""Directory reads and the write endpoints (events with ``transactionId``, to-do, Teams app installs)."""

from __future__ import annotations

import asyncio

from graph_sync.emulator import EmulatorState
from tests.graph_sync.emulator.helpers import GRAPH, authed_client
from tests.graph_sync.emulator.tenant_factory import ALICE, BOB, CAROL, TENANT_ID


def test_directory_endpoints_return_graph_shapes(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        users = (await client.get(f"{GRAPH}/users", params={"$top": "2"})).json()
        assert users["@odata.context"] == f"{GRAPH}/$metadata#users"
        assert [u["id"] for u in users["value"]] == [ALICE, BOB] and "@odata.nextLink" in users
        assert "mailboxSettings" not in users["value"][0]  # not in the default property set
        rest = (await client.get(users["@odata.nextLink"])).json()
        assert [u["id"] for u in rest["value"]] == [CAROL] and "@odata.nextLink" not in rest
        carol = (await client.get(f"{GRAPH}/users/{CAROL}", params={"$select": "mailboxSettings"})).json()
        assert carol["mailboxSettings"]["userPurpose"] == "shared"
        reports = (await client.get(f"{GRAPH}/users/{ALICE}/directReports")).json()["value"]
        assert [(r["@odata.type"], r["id"]) for r in reports] == [("#microsoft.graph.user", BOB)]
        no_manager = await client.get(f"{GRAPH}/users/{ALICE}/manager")
        assert no_manager.status_code == 404 and no_manager.json()["error"]["code"] == "Request_ResourceNotFound"
        domains = (await client.get(f"{GRAPH}/domains")).json()["value"]
        assert {d["id"] for d in domains} == {"contoso.example", "contoso.onmicrosoft.example"}
        org = (await client.get(f"{GRAPH}/organization")).json()["value"]
        assert org[0]["id"] == TENANT_ID
        unknown = await client.get(f"{GRAPH}/users/nobody@contoso.example/mailFolders")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "ErrorInvalidUser"
        assert (await client.get(f"{GRAPH}/nonsense")).status_code == 400
        echoed = await client.get(f"{GRAPH}/domains", headers={"client-request-id": "abc-123"})
        assert echoed.headers["client-request-id"] == "abc-123" and echoed.headers["request-id"]
        assert state.counters.by_endpoint["users"] == 2
    asyncio.run(run())


def test_create_event_with_the_same_transaction_id_makes_one_event(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        body = {"subject": "Follow-up", "transactionId": "tx-42",
                "start": {"dateTime": "2026-05-05T10:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2026-05-05T10:30:00", "timeZone": "UTC"},
                "attendees": [{"type": "required", "emailAddress": {"address": "bob@contoso.example"}}]}
        first = await client.post(f"{GRAPH}/users/{ALICE}/events", json=body)
        second = await client.post(f"{GRAPH}/users/{ALICE}/events", json=body)
        assert first.status_code == second.status_code == 201
        assert first.json()["id"] == second.json()["id"]
        assert len(state.mailboxes[ALICE].events.items) == 7  # six loaded + one
        bob_copy = [e for e in state.mailboxes[BOB].events.items.values() if e.data["subject"] == "Follow-up"]
        assert len(bob_copy) == 1 and bob_copy[0].data["iCalUId"] == first.json()["iCalUId"]
        view = (await client.get(f"{GRAPH}/users/{ALICE}/calendarView", params={
            "startDateTime": "2026-05-05T00:00:00Z", "endDateTime": "2026-05-06T00:00:00Z"})).json()
        assert sorted(e["subject"] for e in view["value"]) == ["Follow-up", "Meeting 1"]
    asyncio.run(run())


def test_event_times_in_a_windows_zone_are_read_in_that_zone(state: EmulatorState) -> None:
    """Graph takes Windows zone ids in ``dateTimeTimeZone``: 16:30 Pacific on 5 May is 23:30 UTC (PDT), and
    17:00 is already 6 May in UTC, so only the first falls in 5 May's calendar view (read as UTC, both would)."""
    async def run() -> None:
        client = await authed_client(state)
        for subject, start, end in (("Late call", "16:30", "16:45"), ("Later call", "17:00", "17:15")):
            body = {"subject": subject, "transactionId": f"tx-{subject}",
                    "start": {"dateTime": f"2026-05-05T{start}:00", "timeZone": "Pacific Standard Time"},
                    "end": {"dateTime": f"2026-05-05T{end}:00", "timeZone": "Pacific Standard Time"}}
            assert (await client.post(f"{GRAPH}/users/{ALICE}/events", json=body)).status_code == 201
        view = (await client.get(f"{GRAPH}/users/{ALICE}/calendarView", params={
            "startDateTime": "2026-05-05T00:00:00Z", "endDateTime": "2026-05-06T00:00:00Z"})).json()
        assert "Late call" in {e["subject"] for e in view["value"]}
        assert "Later call" not in {e["subject"] for e in view["value"]}
    asyncio.run(run())


def test_todo_lists_tasks_and_app_installs(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        todo = (await client.post(f"{GRAPH}/users/{ALICE}/todo/lists", json={"displayName": "Rapport"})).json()
        task = await client.post(f"{GRAPH}/users/{ALICE}/todo/lists/{todo['id']}/tasks",
                                 json={"title": "Call Dana"})
        assert task.status_code == 201 and task.json()["status"] == "notStarted"
        tasks = (await client.get(f"{GRAPH}/users/{ALICE}/todo/lists/{todo['id']}/tasks")).json()["value"]
        assert [t["title"] for t in tasks] == ["Call Dana"]
        lists = (await client.get(f"{GRAPH}/users/{ALICE}/todo/lists")).json()["value"]
        assert [x["displayName"] for x in lists] == ["Rapport"]
        bind = {"teamsApp@odata.bind": f"{GRAPH}/appCatalogs/teamsApps/app-123"}
        assert (await client.post(f"{GRAPH}/users/{BOB}/teamwork/installedApps", json=bind)).status_code == 201
        assert (await client.post(f"{GRAPH}/users/{BOB}/teamwork/installedApps", json=bind)).status_code == 409
    asyncio.run(run())

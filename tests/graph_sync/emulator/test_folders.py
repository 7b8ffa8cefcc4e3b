"""The mail folder tree: default folders, nested custom folders, search folders, paging, deletion."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from graph_sync.emulator import EmulatorConfig, EmulatorState
from tests.graph_sync.emulator.helpers import GRAPH, authed_client, delta_round
from tests.graph_sync.emulator.tenant_factory import ALICE

FOLDERS = f"{GRAPH}/users/{ALICE}/mailFolders"
IMMUTABLE = {"Prefer": 'IdType="ImmutableId", odata.maxpagesize=50'}


async def _all(client: httpx.AsyncClient, url: str) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        answer = await client.get(next_url)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items.extend(body["value"])
        pages += 1
        next_url = body.get("@odata.nextLink")
    return items, pages


def test_root_lists_the_default_folders_in_pages_of_ten(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        root = (await client.get(f"{FOLDERS}/msgfolderroot")).json()
        folders, pages = await _all(client, FOLDERS + "?$top=3")
        assert pages == 3 and len(folders) == 8
        assert {f["displayName"] for f in folders} >= {"Inbox", "Sent Items", "Deleted Items", "Junk Email"}
        assert all(f["parentFolderId"] == root["id"] and "@odata.type" not in f for f in folders)
        inbox = next(f for f in folders if f["displayName"] == "Inbox")
        assert (await client.get(f"{FOLDERS}/inbox")).json()["id"] == inbox["id"]
        assert inbox["totalItemCount"] == 25
        assert (await client.get(f"{FOLDERS}/syncissues")).status_code == 404
        default_page = (await client.get(FOLDERS)).json()
        assert len(default_page["value"]) == 8 and "@odata.nextLink" not in default_page
    asyncio.run(run())


def test_custom_folders_nest_move_and_delete(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        clients = state.add_folder(ALICE, "Clients")
        acme = state.add_folder(ALICE, "Acme", parent=clients)
        state.move_message(ALICE, "a1a1-msg-inbox-0003", acme)
        assert (await client.get(f"{FOLDERS}/Clients")).status_code == 404  # custom folders: by id only
        top, _ = await _all(client, FOLDERS)
        listed = next(f for f in top if f["id"] == clients)
        assert listed["childFolderCount"] == 1
        children, _ = await _all(client, f"{FOLDERS}/{clients}/childFolders")
        assert [c["id"] for c in children] == [acme] and children[0]["parentFolderId"] == clients
        items, _, _ = await delta_round(client, f"{FOLDERS}/{acme}/messages/delta", **IMMUTABLE)
        assert [i["id"] for i in items] == ["a1a1-msg-inbox-0003"] and items[0]["parentFolderId"] == acme

        state.delete_folder(ALICE, clients)  # soft: under Deleted Items, mail and all
        deleted = (await client.get(f"{FOLDERS}/deleteditems")).json()["id"]
        assert (await client.get(f"{FOLDERS}/{clients}")).json()["parentFolderId"] == deleted
        assert clients not in {f["id"] for f in (await _all(client, FOLDERS))[0]}
        state.delete_folder(ALICE, clients, permanent=True)
        assert (await client.get(f"{FOLDERS}/{acme}/messages/delta")).status_code == 404
        assert "a1a1-msg-inbox-0003" not in state.mailboxes[ALICE].messages.items
    asyncio.run(run())


def test_custom_folders_config_files_mail_and_lists_a_search_folder(tenant_dir: Any) -> None:
    state = EmulatorState.from_directory(tenant_dir, EmulatorConfig(custom_folders=True))
    again = EmulatorState.from_directory(tenant_dir, EmulatorConfig(custom_folders=True))

    async def run() -> None:
        client = await authed_client(state)
        top, _ = await _all(client, FOLDERS)
        search = [f for f in top if f.get("@odata.type") == "#microsoft.graph.mailSearchFolder"]
        assert [f["displayName"] for f in search] == ["Unread Mail"]
        inbox_kids, _ = await _all(client, f"{FOLDERS}/inbox/childFolders")
        assert [f["displayName"] for f in inbox_kids] == ["Projects"]
    asyncio.run(run())
    where = {i.id: i.folder for i in state.mailboxes[ALICE].messages.items.values()}
    assert where == {i.id: i.folder for i in again.mailboxes[ALICE].messages.items.values()}  # deterministic
    assert len(set(where.values())) > 2  # not everything stayed in Inbox / Sent Items

"""Small async helpers shared by the emulator tests (the tests run their coroutines with ``asyncio.run``)."""

from __future__ import annotations

from typing import Any

import httpx

from graph_sync.emulator import EmulatorState

GRAPH = "https://graph.microsoft.com/v1.0"


async def token_for(client: httpx.AsyncClient, state: EmulatorState, base: str = "https://login.microsoftonline.com"
                    ) -> str:
    """Register an app and run the client-credentials grant against the emulator."""
    app = state.register_app()
    answer = await client.post(f"{base}/{state.tenant_id}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret,
        "scope": "https://graph.microsoft.com/.default"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def authed_client(state: EmulatorState) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` over the MockTransport carrying a valid bearer token."""
    client = httpx.AsyncClient(transport=state.mock_transport())
    client.headers["Authorization"] = "Bearer " + await token_for(client, state)
    return client


async def delta_round(client: httpx.AsyncClient, url: str, **headers: str) -> tuple[list[dict[str, Any]], str, int]:
    """Follow next links until the delta link; return every item, the delta link and the page count."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        answer = await client.get(url, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages += 1
        items.extend(body["value"])
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]

"""The directory read: domains and users in one round trip; a failure of one is raised after both finished."""

from __future__ import annotations

import asyncio
import json

import httpx

from analytics.settings import Settings
from graph_sync.client import GraphClient, Limiter, build_service_client
from graph_sync.directory import fetch_directory
from graph_sync.errors import GraphError

BASE = "https://graph.microsoft.com/v1.0"


class _Cred:
    async def get_token(self, *scopes: str, **kw: object) -> object:
        from azure.core.credentials import AccessToken
        return AccessToken("tok", 2**40)

    async def close(self) -> None:
        return None


def _run(domains_status: int) -> tuple[int, list[str], object]:
    in_flight, most, paths = 0, 0, []

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        for _ in range(5):  # let every other request that is ready start too
            await asyncio.sleep(0)
        in_flight -= 1
        paths.append(request.url.path)  # answered
        if request.url.path.endswith("/domains"):
            return httpx.Response(domains_status, json={"value": [{"id": "contoso.com", "isVerified": True}]}
                                  if domains_status == 200 else {"error": {"code": "boom", "message": "x"}})
        if request.url.path.endswith("/users"):
            return httpx.Response(200, json={"value": [{"id": "u1", "mail": "a@contoso.com", "accountEnabled": True,
                                                        "mailboxSettings": {"userPurpose": "user"}}]})
        ids = [r["id"] for r in json.loads(request.content)["requests"]]
        return httpx.Response(200, json={"responses": [{"id": i, "status": 404, "body": {}} for i in ids]})

    async def go() -> object:
        limiter = Limiter(16, 4, 1000)
        service, http = build_service_client(_Cred(), BASE, transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
                                             sync_pipeline=True, limiter=limiter)
        client = GraphClient(service, _Cred(), http, limiter)  # type: ignore[arg-type]
        try:
            return await fetch_directory(client, "t1", Settings(secret_key="k"))
        except GraphError as err:
            return err

    result = asyncio.run(go())
    return most, paths, result


def test_domains_and_users_are_read_together() -> None:
    most, paths, snapshot = _run(200)
    assert most == 2 and sorted(paths[:2]) == ["/v1.0/domains", "/v1.0/users"]
    assert [m.user_id for m in snapshot.mailboxes] == ["u1"]  # type: ignore[attr-defined]
    assert snapshot.directory.internal_domains == frozenset({"contoso.com"})  # type: ignore[attr-defined]


def test_a_failed_domains_read_is_raised_after_the_users_read_finished() -> None:
    most, paths, error = _run(400)
    assert isinstance(error, GraphError) and error.status == 400
    assert most == 2 and sorted(paths) == ["/v1.0/domains", "/v1.0/users"]  # both answered, no $batch after

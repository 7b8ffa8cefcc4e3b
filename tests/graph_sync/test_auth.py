"""ClientCredentialsCredential: one token request however many callers ask at once, and again after invalidate."""

from __future__ import annotations

import asyncio
import json

import httpx

from graph_sync.auth import ClientCredentialsCredential


def _token_server(posts: list[int]) -> httpx.MockTransport:
    async def answer(request: httpx.Request) -> httpx.Response:
        posts.append(1)
        await asyncio.sleep(0.01)  # the answer arrives after every caller has asked
        return httpx.Response(200, content=json.dumps({"access_token": f"t{len(posts)}", "expires_in": 3600}))
    return httpx.MockTransport(answer)


def test_concurrent_callers_share_one_token_request() -> None:
    posts: list[int] = []

    async def go() -> list[str]:
        cred = ClientCredentialsCredential("http://127.0.0.1:1/t/oauth2/v2.0/token", "c", "s",
                                           transport=_token_server(posts))
        first = await asyncio.gather(*(cred.get_token("scope") for _ in range(16)))
        cred.invalidate()
        again = await asyncio.gather(*(cred.get_token("scope") for _ in range(4)))
        await cred.close()
        return [t.token for t in first + again]

    tokens = asyncio.run(go())
    assert len(posts) == 2
    assert tokens == ["t1"] * 16 + ["t2"] * 4


def test_a_credential_serves_a_second_event_loop() -> None:
    posts: list[int] = []
    cred = ClientCredentialsCredential("http://127.0.0.1:1/t/oauth2/v2.0/token", "c", "s",
                                       transport=_token_server(posts))

    async def fetch() -> str:
        cred.invalidate()
        return (await cred.get_token("scope")).token

    assert asyncio.run(fetch()) == "t1"
    assert asyncio.run(fetch()) == "t2"  # a lock bound to the first loop would raise here

"""The outbound token cache: fetched off the event loop, once, and again shortly before it expires."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from typing import Any

from bot.teams_sdk.connector import TOKEN_MARGIN_SECONDS, TokenCache, _expiry_of


def _jwt(exp: float) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none'})}.{part({'exp': exp})}.sig"


class _Creds:
    microsoft_app_id = "app"

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.calls: list[str] = []

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.calls.append(threading.current_thread().name)
        return _jwt(self.clock[0] + 3600)


def test_token_is_fetched_once_off_the_loop_and_refreshed_before_expiry() -> None:
    clock = [1_000_000.0]
    cache = TokenCache(clock=lambda: clock[0])
    creds = _Creds(clock)

    async def burst() -> list[str | None]:
        return list(await asyncio.gather(*(cache.token(creds) for _ in range(20))))

    tokens = asyncio.run(burst())
    assert len(set(tokens)) == 1 and len(creds.calls) == 1
    assert creds.calls[0] != threading.current_thread().name  # not on the event loop's thread
    clock[0] += 3600 - TOKEN_MARGIN_SECONDS - 1
    asyncio.run(cache.token(creds))
    assert len(creds.calls) == 1
    clock[0] += 2
    asyncio.run(cache.token(creds))
    assert len(creds.calls) == 2


def test_no_token_when_authentication_is_disabled_and_unreadable_expiry_is_short() -> None:
    class Anonymous:
        microsoft_app_id = ""

        def get_access_token(self) -> str:
            raise AssertionError("must not be called")

    assert asyncio.run(TokenCache().token(Anonymous())) is None
    assert _expiry_of("opaque-token") is None
    assert _expiry_of(_jwt(123.0)) == 123.0

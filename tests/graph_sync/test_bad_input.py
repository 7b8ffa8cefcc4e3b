"""Bad input never stops the worker; each bad thing is logged with the mailbox and the item id."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from graph_sync.emulator import EmulatorState
from tests.graph_sync.support import NOW, SETTINGS, Sleeps, emulator, register, synced_users

WEIRD_NAME = "Zoë 🦄 \u202eevil\u202c 名前 \x00 ☃"


def who(address: str, name: str = "") -> dict[str, Any]:
    return {"emailAddress": {"name": name, "address": address}}


class CorruptingTransport(httpx.AsyncBaseTransport):
    """Delegates to the emulator but truncates the JSON of responses whose path contains ``needle``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, needle: str, times: int) -> None:
        self.inner, self.needle, self.left = inner, needle, times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.left and self.needle in request.url.path and response.status_code == 200:
            self.left -= 1
            body = await response.aread()
            return httpx.Response(200, headers={"content-type": "application/json"}, content=body[: len(body) // 2])
        return response


def run(engine: Engine, transport: httpx.AsyncBaseTransport) -> Any:
    import asyncio

    from graph_sync.worker import build_worker

    async def go() -> Any:
        async with build_worker(SETTINGS, engine=engine, transport=transport, clock=lambda: NOW, sleep=Sleeps(),
                                owner="t") as w:
            return await w.run_once()
    return asyncio.run(go())


def test_strange_messages_are_stored_or_logged_and_the_sync_goes_on(
        engine: Engine, trimmed_tenant: Path, caplog: pytest.LogCaptureFixture) -> None:
    state: EmulatorState = emulator(trimmed_tenant)
    register(engine, state)
    me = next(u for u in synced_users(trimmed_tenant) if (trimmed_tenant / "mail" / f"{u}.jsonl").stat().st_size)
    base = {"conversationId": "c-odd", "sentDateTime": "2026-10-30T10:00:00Z",
            "receivedDateTime": "2026-10-30T10:00:01Z", "parentFolderId": "inbox"}
    ids = {
        "unknown": state.add_message(me, {**base, "internetMessageId": "<u@x>", "from": who("a@example.org"),
                                          "toRecipients": [who("b@fabrikam.com")], "futureProperty": {"x": [1]}}),
        "isread": state.add_message(me, {**base, "internetMessageId": "<r@x>", "from": who("a@example.org"),
                                         "isRead": "true", "isDraft": "false"}),
        "nofrom": state.add_message(me, {**base, "internetMessageId": "<f@x>", "from": None, "sender": None}),
        "norecipients": state.add_message(me, {**base, "internetMessageId": "<n@x>", "from": who("a@example.org"),
                                               "toRecipients": None, "ccRecipients": "nobody"}),
        "many": state.add_message(me, {**base, "internetMessageId": "<m@x>", "from": who("a@example.org"),
                                       "toRecipients": [who(f"p{i}@example.org") for i in range(10_000)]}),
        "unicode": state.add_message(me, {**base, "internetMessageId": "<ü@例子.中国>",
                                          "subject": "Ünïcødé ✓ 报价 \x00", "from": who("zoë@例子.中国", WEIRD_NAME),
                                          "toRecipients": [who("b@fabrikam.com", WEIRD_NAME)]}),
        "notime": state.add_message(me, {"internetMessageId": "<t@x>", "parentFolderId": "inbox",
                                         "sentDateTime": "not a date", "receivedDateTime": None,
                                         "createdDateTime": None}),
    }
    with caplog.at_level(logging.WARNING):
        report = run(engine, state.mock_transport())
    assert report.mailboxes_failed == 0
    with engine.connect() as conn:
        stored = set(conn.execute(text("SELECT source_id FROM activity_source WHERE mailbox_id=:m"),
                                  {"m": me}).scalars())
        many = conn.execute(text("SELECT count(*) FROM activity_participant p JOIN activity a ON "
                                 "a.activity_id=p.activity_id WHERE a.internet_message_id='<m@x>'")).scalar()
    assert {k for k, v in ids.items() if v in stored} == set(ids) - {"notime"}
    assert many == 501
    rejected = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert any(f"mailbox={me}" in m and f"id={ids['notime']}" in m for m in rejected), rejected


def test_malformed_json_page_fails_one_resource_once_and_the_next_pass_recovers(
        engine: Engine, trimmed_tenant: Path, caplog: pytest.LogCaptureFixture) -> None:
    state = emulator(trimmed_tenant)
    register(engine, state)
    me = next(u for u in synced_users(trimmed_tenant) if (trimmed_tenant / "mail" / f"{u}.jsonl").stat().st_size)
    broken = CorruptingTransport(state.mock_transport(), f"/users/{me}/mailFolders/inbox", times=3)
    with caplog.at_level(logging.WARNING):
        report = run(engine, broken)
    assert report.mailboxes_failed == 1 and report.mailboxes == len(synced_users(trimmed_tenant))
    failures = [r.getMessage() for r in caplog.records if "sync failed" in r.getMessage()]
    assert len(failures) == 1 and me in failures[0] and "malformed JSON" in failures[0]
    again = run(engine, state.mock_transport())
    assert again.mailboxes_failed == 0
    with engine.connect() as conn:
        errors = conn.execute(text("SELECT count(*) FROM sync_state WHERE last_error IS NOT NULL")).scalar()
    assert errors == 0

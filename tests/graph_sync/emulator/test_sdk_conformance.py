"""msgraph-sdk's own request builders and models against the emulator over a real loopback socket."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware import retry_handler
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import DeltaRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from graph_sync.emulator import EmulatorState, Fault, serve_emulator
from tests.graph_sync.emulator.sdk import sdk_client
from tests.graph_sync.emulator.tenant_factory import ALICE, message

PREFER = 'odata.maxpagesize=10, IdType="ImmutableId"'


def _prefer() -> RequestConfiguration[Any]:
    config: RequestConfiguration[Any] = RequestConfiguration()
    config.headers.add("Prefer", PREFER)
    return config


async def _message_round(client: Any, url: str | None) -> tuple[list[Any], str]:
    builder = client.users.by_user_id(ALICE).mail_folders.by_mail_folder_id("inbox").messages.delta
    items: list[Any] = []
    page = await (builder.with_url(url) if url else builder).get(request_configuration=_prefer())
    while True:
        items.extend(page.value or [])
        if page.odata_delta_link:
            return items, page.odata_delta_link
        page = await builder.with_url(page.odata_next_link).get(request_configuration=_prefer())


def test_sdk_pages_users_with_top_and_select(tenant_dir: Any) -> None:
    state = EmulatorState.from_directory(tenant_dir)

    async def run() -> None:
        async with serve_emulator(state) as base_url:
            client, credential = sdk_client(state, base_url)
            query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=2, select=["displayName", "mail"])
            page = await client.users.get(request_configuration=RequestConfiguration(query_parameters=query))
            names = [u.display_name for u in page.value]
            while page.odata_next_link:
                page = await client.users.with_url(page.odata_next_link).get()
                names += [u.display_name for u in page.value]
            assert names == ["Alice Rep", "Bob Rep", "Sales Shared"]
            assert page.value[0].job_title is None  # not selected
            manager = await client.users.by_user_id("bob@contoso.example").manager.get()
            assert manager.id == ALICE
            await credential.close()
    asyncio.run(run())


def test_sdk_message_delta_round_then_live_changes_then_exact_second_round(tenant_dir: Any) -> None:
    state = EmulatorState.from_directory(tenant_dir)

    async def run() -> None:
        async with serve_emulator(state) as base_url:
            client, credential = sdk_client(state, base_url)
            items, delta_link = await _message_round(client, None)
            assert len(items) == 25 and items[0].internet_message_id == "<m0@fabrikam.example>"
            assert items[0].from_.email_address.address == "dana@fabrikam.example"
            state.add_message(ALICE, {**message(ALICE, 700), "id": "live-1"})
            state.delete_message(ALICE, "a1a1-msg-inbox-0007")
            state.update_message(ALICE, "a1a1-msg-inbox-0008", {"subject": "Re: updated"})
            changes, _ = await _message_round(client, delta_link)
            by_id = {m.id: m for m in changes}
            assert set(by_id) == {"live-1", "a1a1-msg-inbox-0007", "a1a1-msg-inbox-0008"}
            assert by_id["a1a1-msg-inbox-0007"].additional_data["@removed"] == {"reason": "deleted"}
            assert by_id["a1a1-msg-inbox-0008"].subject == "Re: updated"
            assert "@removed" not in by_id["live-1"].additional_data
            await credential.close()
    asyncio.run(run())


def test_sdk_event_delta_pages_a_calendar_window(tenant_dir: Any) -> None:
    state = EmulatorState.from_directory(tenant_dir)

    async def run() -> None:
        async with serve_emulator(state) as base_url:
            client, credential = sdk_client(state, base_url)
            builder = client.users.by_user_id(ALICE).calendar_view.delta
            query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
                start_date_time="2026-05-01T00:00:00Z", end_date_time="2026-06-01T00:00:00Z")
            config: RequestConfiguration[Any] = RequestConfiguration(query_parameters=query)
            config.headers.add("Prefer", "odata.maxpagesize=4")
            page = await builder.get(request_configuration=config)
            events = list(page.value)
            while not page.odata_delta_link:
                page = await builder.with_url(page.odata_next_link).get()
                events += page.value
            assert len(events) == 6 and events[0].i_cal_u_id == "ical-0"
            assert events[0].start.date_time.startswith("2026-05-04T16:00:00")
            state.delete_event(ALICE, "a1a1-evt-0002")
            page = await builder.with_url(page.odata_delta_link).get()
            assert [(e.id, e.additional_data.get("@removed")) for e in page.value] == [
                ("a1a1-evt-0002", {"reason": "deleted"})]
            await credential.close()
    asyncio.run(run())


def test_sdk_retry_handler_waits_the_emulators_retry_after(tenant_dir: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    state = EmulatorState.from_directory(tenant_dir)
    waits: list[float] = []

    class RecordingAsyncio:
        """Stands in for the retry handler's ``asyncio`` so its back-off is recorded, not slept."""

        @staticmethod
        async def sleep(delay: float) -> None:
            waits.append(delay)

    monkeypatch.setattr(retry_handler, "asyncio", RecordingAsyncio)

    async def run() -> None:
        async with serve_emulator(state) as base_url:
            client, credential = sdk_client(state, base_url)
            state.faults.add(Fault.status(429, count=2, retry_after_s=7, path_contains="/messages/delta"))
            items, _ = await _message_round(client, None)
            assert len(items) == 25
            assert waits == [7, 7]
            statuses = [r.status for r in state.log if r.endpoint == "messages.delta"]
            assert statuses[:3] == [429, 429, 200]
            assert state.counters.throttled == 2
            await credential.close()
    asyncio.run(run())

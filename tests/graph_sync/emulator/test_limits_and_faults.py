"""Per-mailbox throttling, scripted faults and ``$batch`` (each inner request throttled on its own)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from graph_sync.emulator import EmulatorConfig, EmulatorState, Fault, serve_emulator
from tests.graph_sync.emulator.conftest import FakeClock
from tests.graph_sync.emulator.helpers import GRAPH, authed_client, token_for
from tests.graph_sync.emulator.tenant_factory import ALICE, BOB

FOLDERS = f"/v1.0/users/{ALICE}/mailFolders"


class Gate:
    """An injected sleep that holds every delayed request until the test opens the gate."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.waiting = 0

    async def sleep(self, _seconds: float) -> None:
        self.waiting += 1
        await self.opened.wait()


def test_fifth_concurrent_request_to_one_mailbox_gets_429_over_the_socket(tenant_dir: Path) -> None:
    async def run() -> None:
        gate = Gate()
        state = EmulatorState.from_directory(tenant_dir, EmulatorConfig(latency_s=1.0, sleep=gate.sleep,
                                                                        retry_after_s=3))
        async with serve_emulator(state) as base_url, httpx.AsyncClient(base_url=base_url) as client:
            client.headers["Authorization"] = "Bearer " + await token_for(client, state, base_url)
            held = [asyncio.create_task(client.get(FOLDERS)) for _ in range(4)]
            while gate.waiting < 4:
                await asyncio.sleep(0.001)
            fifth = await client.get(FOLDERS)
            other_mailbox = asyncio.create_task(client.get(f"/v1.0/users/{BOB}/mailFolders"))
            while gate.waiting < 5:
                await asyncio.sleep(0.001)
            gate.opened.set()
            answers = await asyncio.gather(*held, other_mailbox)
        assert fifth.status_code == 429 and fifth.headers["Retry-After"] == "3"
        assert fifth.json()["error"]["code"] == "ApplicationThrottled"
        assert "MailboxConcurrency" in fifth.json()["error"]["message"]
        assert [a.status_code for a in answers] == [200] * 5
        assert state.counters.throttled == 1 and state.limits.in_flight[ALICE] == 0
    asyncio.run(run())


def test_mailbox_budget_per_window_answers_429_until_the_window_moves(tenant_dir: Path, clock: FakeClock) -> None:
    state = EmulatorState.from_directory(tenant_dir, EmulatorConfig(mailbox_budget=3, clock=clock))

    async def run() -> None:
        client = await authed_client(state)
        statuses = [(await client.get(f"{GRAPH}/users/{ALICE}/mailFolders")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert (await client.get(f"{GRAPH}/users/{BOB}/mailFolders")).status_code == 200  # per mailbox
        over = await client.get(f"{GRAPH}/users/{ALICE}/mailFolders")
        assert int(over.headers["Retry-After"]) == 600
        clock.advance(601)
        assert (await client.get(f"{GRAPH}/users/{ALICE}/mailFolders")).status_code == 200
    asyncio.run(run())


@pytest.mark.parametrize(("status", "code"), [(503, "ServiceUnavailable"), (504, "GatewayTimeout"),
                                              (429, "TooManyRequests")])
def test_scripted_status_faults_hit_the_next_n_matching_requests(state: EmulatorState, status: int,
                                                                 code: str) -> None:
    async def run() -> None:
        client = await authed_client(state)
        state.faults.add(Fault.status(status, count=2, mailbox=ALICE))
        answers = [await client.get(f"{GRAPH}/users/{ALICE}/mailFolders") for _ in range(3)]
        assert [a.status_code for a in answers] == [status, status, 200]
        error = answers[0].json()["error"]
        assert error["code"] == code
        assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
        assert (await client.get(f"{GRAPH}/users/{BOB}/mailFolders")).status_code == 200
        assert state.counters.faults == 2
    asyncio.run(run())


def test_dropped_connection_over_both_transports(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        state.faults.add(Fault.drop())
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{GRAPH}/users")
        async with serve_emulator(state) as base_url, httpx.AsyncClient(base_url=base_url) as sock:
            sock.headers.update(client.headers)
            state.faults.add(Fault.drop())
            with pytest.raises(httpx.TransportError):
                await sock.get("/v1.0/users")
            assert (await sock.get("/v1.0/users")).status_code == 200
    asyncio.run(run())


def test_batch_runs_inner_requests_each_throttled_on_its_own(tenant_dir: Path) -> None:
    async def run() -> None:
        gate = Gate()
        state = EmulatorState.from_directory(tenant_dir, EmulatorConfig(latency_s=0.5, sleep=gate.sleep))
        client = await authed_client(state)
        requests = [{"id": str(n), "method": "GET", "url": f"/users/{ALICE}/mailFolders/inbox"} for n in range(6)]
        call = asyncio.create_task(client.post(f"{GRAPH}/$batch", json={"requests": requests}))
        while gate.waiting < 4:
            await asyncio.sleep(0.001)
        gate.opened.set()
        answer = await call
        assert answer.status_code == 200
        statuses = sorted(r["status"] for r in answer.json()["responses"])
        assert statuses == [200, 200, 200, 200, 429, 429]
        throttled = next(r for r in answer.json()["responses"] if r["status"] == 429)
        assert throttled["headers"]["Retry-After"] == "1"
        assert throttled["body"]["error"]["code"] == "ApplicationThrottled"
        too_many = await client.post(f"{GRAPH}/$batch", json={"requests": requests * 4})
        assert too_many.status_code == 400
    asyncio.run(run())

"""Operating ``rapport sync --watch`` with several tenants when one of them fails as a whole (Graph unreachable,
credentials refused): the others keep syncing without waiting for its retries, the failure is logged once for
the tenant rather than once per mailbox and resource, ``sync status`` shows it on every mailbox of the tenant,
and the tenant recovers by itself once the fault clears."""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from sqlalchemy import text
from sqlalchemy.engine import Engine

from graph_sync.auth import AsyncCredential, make_credential
from graph_sync.client import CONNECT_ATTEMPTS
from graph_sync.emulator import EmulatorState
from graph_sync.emulator.faults import Fault
from graph_sync.tenants import TenantConfig
from graph_sync.worker import PassReport, SyncWorker, build_worker
from tests.graph_sync.support import NOW, SETTINGS, Sleeps, emulator, register

HOSTS = {"a": ("https://graph-a.test", "https://login-a.test"), "b": ("https://graph-b.test", "https://login-b.test")}


@pytest.fixture(scope="module")
def second_tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from graph_sync.emulator.generator import generate_tenant

    out = tmp_path_factory.mktemp("second-tenant")
    generate_tenant(out, seed=8, size="small")
    return out


class Tenants(httpx.AsyncBaseTransport):
    """Two emulated tenants behind their own hosts; a tenant marked down refuses every connection."""

    def __init__(self, states: dict[str, EmulatorState]) -> None:
        self.states = states
        self.inner = {name: state.mock_transport() for name, state in states.items()}
        self.down: set[str] = set()
        self.attempts = {name: 0 for name in states}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = request.url.host.split(".")[0].rsplit("-", 1)[1]
        self.attempts[name] += 1
        if name in self.down:
            try:
                raise ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")
            except OSError as refused:  # as httpx raises it: the socket's error is the cause
                raise httpx.ConnectError(str(refused), request=request) from refused
        return await self.inner[name].handle_async_request(request)


def _setup(engine: Engine, small_tenant: Path, second_tenant: Path) -> Tenants:
    states = {"a": emulator(small_tenant), "b": emulator(second_tenant)}
    assert states["a"].tenant_id != states["b"].tenant_id
    for name, state in states.items():
        register(engine, state, graph=HOSTS[name][0] + "/v1.0", authority=HOSTS[name][1])
    return Tenants(states)


def _worker(engine: Engine, net: Tenants, sleeps: Sleeps,
            credentials: Callable[[TenantConfig], AsyncCredential] | None = None) -> SyncWorker:
    return build_worker(SETTINGS, engine=engine, transport=net, clock=lambda: NOW, sleep=sleeps, owner="ops-worker",
                        credential_factory=credentials)


def _activities(engine: Engine, tenant_id: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM activity WHERE tenant_id=:t"), {"t": tenant_id}).scalar_one())


def _errors(engine: Engine, tenant_id: str) -> list[str | None]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT last_error FROM sync_state WHERE tenant_id=:t"),
                                 {"t": tenant_id}).scalars())


def _new_mail(state: EmulatorState, n: int) -> str:
    user = state.users[0]["id"]
    return state.add_message(user, {
        "subject": f"ops {n}", "internetMessageId": f"<ops-{n}@contoso.com>", "conversationId": f"ops-{n}",
        "from": {"emailAddress": {"address": "buyer@contoso.com", "name": "Buyer"}},
        "toRecipients": [{"emailAddress": {"address": state.users[0]["mail"]}}],
        "receivedDateTime": "2026-10-30T10:00:00Z", "sentDateTime": "2026-10-30T10:00:00Z"})


def _warnings(caplog: pytest.LogCaptureFixture, tenant_id: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and tenant_id in r.getMessage()]


def test_an_unreachable_tenant_stops_its_own_pass_and_the_other_keeps_syncing(
        engine: Engine, small_tenant: Path, second_tenant: Path, caplog: pytest.LogCaptureFixture) -> None:
    net = _setup(engine, small_tenant, second_tenant)
    a, b = net.states["a"], net.states["b"]
    sleeps = Sleeps()

    async def go() -> list[PassReport]:
        reports = []
        async with _worker(engine, net, sleeps) as worker:
            reports.append(await worker.run_once())  # both synced; the directories are now cached
            net.down.add("a")
            _new_mail(b, 1)
            before, slept = net.attempts["a"], len(sleeps.calls)
            with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="graph_sync.worker"):
                reports.append(await worker.run_once())
                # The mailboxes started before the first failure came back tried a few times over seconds; the
                # pass claimed no more (it tried every mailbox, each resource ten times backing off to a minute).
                mailboxes = len(_errors(engine, a.tenant_id)) // 3
                assert net.attempts["a"] - before < 3 * CONNECT_ATTEMPTS * mailboxes // 2
                assert max(sleeps.calls[slept:]) <= 4.0 * 1.2  # the 4th backoff, jittered: then it gave up
                reports.append(await worker.run_once())  # still down: nothing more in the log
                net.down.clear()
                _new_mail(a, 2)
                reports.append(await worker.run_once())
        return reports

    first, down, still_down, back = asyncio.run(go())
    assert not first.errors and first.mailboxes_failed == 0
    b_count = _activities(engine, b.tenant_id)
    assert down.errors == [f"{a.tenant_id}: cannot connect to {HOSTS['a'][0]}: connection refused"]
    assert len(still_down.errors) == 1
    # The healthy tenant synced its new mail in the pass the other one failed.
    assert down.upserted >= 1 and b_count == _activities(engine, b.tenant_id)
    warnings = _warnings(caplog, a.tenant_id)
    assert len([w for w in warnings if w.startswith("sync failed")]) == 1, warnings
    assert len([w for w in warnings if w.startswith("cannot reach")]) == 1, warnings
    assert not _warnings(caplog, b.tenant_id)
    # sync status: while it was down, every row of the tenant said why (not only the mailbox that was tried).
    # Back up: the tenant synced its new mail by itself, said so once, and its rows are clean.
    assert not back.errors and back.upserted >= 1
    assert [r.getMessage() for r in caplog.records
            if r.getMessage() == f"sync recovered {a.tenant_id}/tenant"] == [f"sync recovered {a.tenant_id}/tenant"]
    assert _errors(engine, a.tenant_id) == [None] * len(_errors(engine, a.tenant_id))


def test_status_names_the_failure_on_every_mailbox_of_an_unreachable_tenant(
        engine: Engine, small_tenant: Path, second_tenant: Path) -> None:
    net = _setup(engine, small_tenant, second_tenant)
    a = net.states["a"]

    async def go() -> None:
        async with _worker(engine, net, Sleeps()) as worker:
            await worker.run_once()
            net.down.add("a")
            await worker.run_once()

    asyncio.run(go())
    errors = _errors(engine, a.tenant_id)
    assert errors and all(e is not None and e.startswith("GraphUnreachable: ") for e in errors), errors
    assert all(e is None for e in _errors(engine, net.states["b"].tenant_id))


def test_refused_credentials_are_logged_once_for_the_tenant(
        engine: Engine, small_tenant: Path, second_tenant: Path, caplog: pytest.LogCaptureFixture) -> None:
    net = _setup(engine, small_tenant, second_tenant)
    a = net.states["a"]

    async def go() -> PassReport:
        async with _worker(engine, net, Sleeps()) as worker:
            await worker.run_once()
            # The secret was rotated in Entra and the token in hand expired: every request is refused, and the
            # new token with it (AADSTS7000215).
            app = a.authority.apps[next(iter(a.authority.apps))]
            a.authority.apps[app.client_id] = replace(app, client_secret="rotated")
            a.faults.add(Fault.token_expired(count=10_000))
            tokens = a.counters.tokens_issued
            with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="graph_sync.worker"):
                report = await worker.run_once()
            assert a.counters.tokens_issued == tokens
            return report

    report = asyncio.run(go())
    assert len(report.errors) == 1 and "invalid_client" in report.errors[0]
    failed = [w for w in _warnings(caplog, a.tenant_id) if w.startswith("sync failed")]
    assert len(failed) == 1 and "the tenant's pass stops" in failed[0], failed
    # Only the mailboxes started before the first refusal came back were tried; the pass claimed no more.
    assert a.counters.by_status[401] < 3 * (len(_errors(engine, a.tenant_id)) // 3) // 2


class _Refused:
    """azure-identity's behaviour for a tenant whose secret expired or whose enterprise app was deleted."""

    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        raise ClientAuthenticationError("AADSTS7000222: The provided client secret keys are expired.")

    async def close(self) -> None:
        return None


def test_an_entra_credential_refusal_does_not_stop_the_other_tenants(
        engine: Engine, small_tenant: Path, second_tenant: Path) -> None:
    net = _setup(engine, small_tenant, second_tenant)
    a, b = net.states["a"], net.states["b"]

    def credentials(tenant: TenantConfig) -> AsyncCredential:
        if tenant.tenant_id == a.tenant_id:
            return _Refused()  # type: ignore[return-value]
        return make_credential(tenant.credentials, transport=net)

    async def go() -> PassReport:
        async with _worker(engine, net, Sleeps(), credentials) as worker:
            return await worker.run_once()

    report = asyncio.run(go())  # raised ClientAuthenticationError out of the whole pass before
    assert report.tenants == 2 and _activities(engine, b.tenant_id) > 0
    assert [e.split(":", 1)[0] for e in report.errors] == [a.tenant_id]
    assert "AADSTS7000222" in report.errors[0]


def test_a_pass_under_retry_after_says_how_many_resources_wait(
        engine: Engine, small_tenant: Path, second_tenant: Path) -> None:
    net = _setup(engine, small_tenant, second_tenant)
    a = net.states["a"]
    user = a.users[0]["id"]
    settings = replace(SETTINGS, sync_max_retry_wait=30.0)

    async def go() -> list[PassReport]:
        async with build_worker(settings, engine=engine, transport=net, clock=lambda: NOW, sleep=Sleeps(),
                                owner="ops-worker") as worker:
            reports = [await worker.run_once()]
            a.faults.add(Fault.status(429, retry_after_s=120, mailbox=user, path_contains="/inbox/"))
            reports.append(await worker.run_once())  # requeued for two minutes, not slept
            reports.append(await worker.run_once())  # still waiting: not tried, and said so
            return reports

    _, throttled, waiting = asyncio.run(go())
    assert throttled.mailboxes_failed == 1 and throttled.requeued == 0
    assert waiting.mailboxes_failed == 0 and waiting.requeued == 1


def test_a_deleted_mailbox_fails_one_pass_then_the_directory_is_read_again(
        engine: Engine, small_tenant: Path, second_tenant: Path) -> None:
    net = _setup(engine, small_tenant, second_tenant)
    a = net.states["a"]
    enabled = [u for u in a.users if u.get("accountEnabled", True)
               and (u.get("mailboxSettings") or {}).get("userPurpose", "user") == "user"]
    gone = enabled[0]

    async def go() -> list[PassReport]:
        async with _worker(engine, net, Sleeps()) as worker:
            reports = [await worker.run_once()]
            # The user is deleted in Entra between passes (the worker's directory is less than an hour old).
            a.users.remove(gone)
            a.users_by_id.pop(gone["id"])
            a.users_by_key = {k: v for k, v in a.users_by_key.items() if v is not gone}
            reports.append(await worker.run_once())
            reports.append(await worker.run_once())
            return reports

    first, deleted, after = asyncio.run(go())
    assert first.mailboxes_failed == 0
    assert deleted.mailboxes_failed == 1  # 404 ErrorInvalidUser for its resources
    # The next pass read the directory again and no longer tries it (it failed every pass for an hour before).
    assert after.mailboxes_failed == 0 and after.mailboxes == first.mailboxes - 1


class _Hangs(httpx.AsyncBaseTransport):
    """Answers the directory, then never answers a mailbox request (a first sync that takes hours)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.stuck = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/mailFolders/" in request.url.path or "/calendarView" in request.url.path:
            self.stuck.set()
            await asyncio.Event().wait()
        return await self.inner.handle_async_request(request)


def test_stopping_a_watch_stops_its_pass_and_gives_the_leases_back(engine: Engine, small_tenant: Path) -> None:
    state = emulator(small_tenant)
    register(engine, state)
    net = _Hangs(state.mock_transport())

    async def go() -> None:
        async with build_worker(SETTINGS, engine=engine, transport=net, clock=lambda: NOW, sleep=Sleeps(),
                                owner="watch") as worker:
            stop = asyncio.Event()
            watch = asyncio.ensure_future(worker.run_watch(stop, interval=0))
            await asyncio.wait_for(net.stuck.wait(), 30)
            stop.set()  # SIGTERM from systemd: it kills the process if it has not ended within 90 s
            await asyncio.wait_for(watch, 10)  # it waited for the pass to end (here: never)

    asyncio.run(go())
    with engine.connect() as conn:
        held = conn.execute(text("SELECT count(*) FROM sync_state WHERE lease_owner IS NOT NULL")).scalar_one()
    assert held == 0  # the next worker need not wait for them to expire

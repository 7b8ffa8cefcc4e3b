"""A Graph URL nothing answers on (a wrong host or port): the admin is warned once per tenant and host at the first
failed connection, not after silent retries, and not again at every retry; the retries then end in the
tenant's error."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from graph_sync.client import CONNECT_ATTEMPTS, GraphClient, Limiter, build_service_client
from graph_sync.tenants import add_tenant
from graph_sync.worker import PassReport, build_worker
from tests.graph_sync.support import NOW, SETTINGS
from tests.graph_sync.test_directory_fetch import BASE, _Cred

RAPPORT = str(Path(sys.executable).with_name("rapport"))
TENANTS = ("aaaaaaaa-1111-4111-8111-111111111111", "bbbbbbbb-2222-4222-8222-222222222222")


def _closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "graph_sync.client" and r.levelno == logging.WARNING]


def _add(engine: Engine, tenant_id: str, origin: str) -> None:
    add_tenant(engine, tenant_id=tenant_id, client_id="app", client_secret="s", now=NOW,
               graph_base_url=origin + "/v1.0", authority=origin, emulator=True, subject_policy="drop")


def test_each_tenant_is_warned_once_at_its_first_refused_connection_then_fails_after_its_retries(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    origin = f"http://127.0.0.1:{_closed_port()}"
    for tid in TENANTS:
        _add(engine, tid, origin)
    caplog.set_level(logging.INFO)
    warned_before_wait: list[int] = []

    async def sleep(seconds: float) -> None:  # the retry policy's waits, skipped
        warned_before_wait.append(len(_warnings(caplog)))
        await asyncio.sleep(0)

    async def go() -> PassReport:
        async with build_worker(SETTINGS, engine=engine, clock=lambda: NOW, sleep=sleep, owner="w") as worker:
            return await worker.run_once()

    report = asyncio.run(go())
    warnings = _warnings(caplog)
    assert len(warnings) == len(TENANTS), warnings  # two requests (domains, users) each retried, per tenant
    for tid, warning in zip(TENANTS, warnings, strict=True):
        assert warning == f"cannot reach Graph at {origin}/v1.0 for tenant {tid}: connection refused; retrying"
    assert warned_before_wait[0] == 1  # at the first failure, before any retry wait
    # Refused connections are retried for seconds (CONNECT_ATTEMPTS), then the tenant's error.
    assert len(warned_before_wait) >= len(TENANTS) * (CONNECT_ATTEMPTS - 1)
    assert len(report.errors) == len(TENANTS)
    assert all(f"cannot connect to {origin}: connection refused" in e for e in report.errors), report.errors


def test_a_host_is_warned_about_again_only_once_it_answered_in_between(caplog: pytest.LogCaptureFixture) -> None:
    script = iter(["refuse", "refuse", "ok", "refuse", "refuse", "refuse", "ok", "reset", "reset", "ok"])

    def handler(request: httpx.Request) -> httpx.Response:
        step = next(script)
        if step == "refuse":
            raise httpx.ConnectError("[Errno 111] Connect call failed", request=request) from ConnectionRefusedError(
                111, "Connect call failed")
        if step == "reset":  # the connection was made: a dropped answer is not an unreachable host
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(200, json={"value": []})

    async def no_wait(_seconds: float) -> None:
        return None

    async def go() -> None:
        limiter = Limiter(4, 4, 1000)
        service, http = build_service_client(_Cred(), BASE, transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
                                             sync_pipeline=True, limiter=limiter)
        client = GraphClient(service, _Cred(), http, limiter, sleep=no_wait, tenant="t-1")  # type: ignore[arg-type]
        for _ in range(3):
            assert await client.get_json(client.domains_url()) == {"value": []}

    caplog.set_level(logging.INFO)
    asyncio.run(go())
    assert _warnings(caplog) == [f"cannot reach Graph at {BASE} for tenant t-1: connection refused; retrying"] * 2


@pytest.mark.slow
def test_a_closed_port_is_warned_about_once_on_stderr_at_the_default_log_level_and_sigterm_stops_the_retries(
        engine: Engine, db_url: str, tmp_path: Path) -> None:
    origin = f"http://127.0.0.1:{_closed_port()}"
    _add(engine, TENANTS[0], origin)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}  # default settings and log level
    env.update(RAPPORT_DATABASE_URL=db_url)
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen([RAPPORT, "sync"], env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                                cwd=tmp_path, text=True)
        # Seconds of retries lie ahead (CONNECT_ATTEMPTS), but the warning comes with the first of them.
        deadline = time.monotonic() + 60
        while "cannot reach Graph" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2)  # a few more refused retries (0.5 s, 1 s, ...): none warns again
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    err = log.read_text()
    warnings = [line for line in err.splitlines() if "cannot reach" in line]
    assert len(warnings) == 1, err[-2000:]
    assert "WARNING" in warnings[0] and f"{origin}/v1.0 for tenant {TENANTS[0]}: connection refused" in warnings[0]
    assert proc.returncode == 143, err[-2000:]
    assert "Sync stopped by SIGTERM" in err and "Traceback" not in err, err[-2000:]

"""Bot latency over HTTP: ``health`` and ``who knows`` vs an echo command on the same stack, same run.

50 concurrent conversations post raw Activity JSON to ``/api/messages`` (dev mode: same adapter, handler,
conversation service and command table for every command; only the command differs). Replies go to a local
fake connector. The store is filled with ``--activities`` synthetic emails (default 1,000,000: slow to build;
pass a smaller number for a quick run). Target: p99 ≤ 2 × echo p99.

``python -m benchmarks.bench_bot --activities 100000 --requests 500``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from analytics.settings import Settings
from analytics.store import models
from analytics.store.engine import make_engine
from analytics.store.ingest import ingest_activities
from analytics.store.records import ActivityIn, ParticipantIn
from analytics.store.schema import upgrade
from bot.app import AppOptions, create_app, store_features
from bot.conversation.commands import Command, CommandContext, CommandTable, patterns
from bot.conversation.model import Reply
from bot.conversation.ratelimit import RateLimiter

TENANT = "bench-tenant"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _fill(url: str, activities: int, users: int, companies: int, seed: int = 7) -> None:
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(seed)
    with engine.begin() as conn:
        conn.execute(models.table_of(models.Tenant).insert().values(
            tenant_id=TENANT, display_name="Bench", created_at=NOW, granted_scopes=[], options={}))
        conn.execute(models.table_of(models.TenantDomain).insert().values(tenant_id=TENANT, domain="contoso.com"))
        conn.execute(models.table_of(models.InternalUser).insert(), [
            {"tenant_id": TENANT, "user_id": f"u{i}", "email": f"user{i}@contoso.com", "display_name": f"User {i}"}
            for i in range(users)])
    batch: list[ActivityIn] = []
    start = NOW - timedelta(days=365)
    for n in range(activities):
        u = rng.randrange(users)
        c = rng.randrange(companies)
        contact = f"p{rng.randrange(20)}@company{c}.com"
        outbound = rng.random() < 0.5
        me = ParticipantIn(f"user{u}@contoso.com", "from" if outbound else "to", "internal", user_id=f"u{u}")
        them = ParticipantIn(contact, "to" if outbound else "from", "external")
        batch.append(ActivityIn(f"u{u}", "messages", f"m{n}", "email",
                                start + timedelta(seconds=rng.randrange(365 * 86400)),
                                "outbound" if outbound else "inbound", (me, them),
                                internet_message_id=f"<m{n}@bench>"))
        if len(batch) == 5000:
            with engine.begin() as conn:
                ingest_activities(conn, TENANT, batch, now=NOW, subject_policy="drop")
            batch.clear()
    if batch:
        with engine.begin() as conn:
            ingest_activities(conn, TENANT, batch, now=NOW, subject_policy="drop")
    engine.dispose()


async def _echo(ctx: CommandContext) -> Sequence[Reply]:
    return [Reply(text=ctx.args["rest"])]


class _Connector:
    """Accepts the bot's replies (it must answer quickly: its latency is part of every turn)."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self._reply)
        self.count = 0

    async def _reply(self, _request: web.Request) -> web.Response:
        self.count += 1
        return web.json_response({"id": "r"})


def _activity(text: str, conv: int, service_url: str, users: int) -> dict[str, Any]:
    user = f"u{conv % users}"
    return {"type": "message", "id": f"a{time.perf_counter_ns()}", "serviceUrl": service_url,
            "channelId": "msteams", "text": text, "locale": "en-US",
            "from": {"id": "29:" + user, "aadObjectId": user},
            "recipient": {"id": "28:bot"},
            "conversation": {"id": f"conv-{conv}", "conversationType": "personal", "tenantId": TENANT},
            "channelData": {"tenant": {"id": TENANT}}}


async def _measure(base: str, service_url: str, texts: list[str], requests: int, concurrency: int,
                   users: int) -> list[float]:
    latencies: list[float] = []
    counter = iter(range(requests))
    async with ClientSession() as session:
        async def worker(conv: int) -> None:
            for i in counter:
                body = _activity(texts[i % len(texts)], conv, service_url, users)
                t0 = time.perf_counter()
                async with session.post(base + "/api/messages", json=body) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"HTTP {r.status}")
                latencies.append(time.perf_counter() - t0)
        await asyncio.gather(*(worker(c) for c in range(concurrency)))
    return latencies


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def _run(url: str, args: argparse.Namespace) -> dict[str, list[float]]:
    settings = Settings().with_overrides(database_url=url, bot_host="127.0.0.1", secret_key="bench")
    engine = make_engine(url)
    echo = CommandTable([Command("echo", {}, patterns(r"echo (?P<rest>.+)"), _echo)])
    opts = AppOptions(clock=lambda: NOW, extra_commands=echo,
                      limiter=RateLimiter(capacity=10**9, per_second=10**9))  # measure turns, not flood control
    app = create_app(settings, engine, dev=True, features=store_features(settings, engine), options=opts)
    connector = _Connector()
    runners = []
    ports = []
    for a in (app, connector.app):
        runner = web.AppRunner(a)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    base, service_url = f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}/"
    companies = [f"company{c}.com" for c in range(min(args.companies, 50))]
    contacts = [f"p{i}@company{c}.com" for c in range(min(args.companies, 20)) for i in range(3)]
    cases = {
        "echo": [f"echo hello {i}" for i in range(10)],
        "health": [f"health of {d}" for d in companies],
        "who knows": [f"who knows {c}" for c in contacts],
    }
    results: dict[str, list[float]] = {}
    try:
        for name in ("echo", "health", "who knows", "echo"):  # echo twice: warm-up drift shows
            await _measure(base, service_url, cases[name], args.concurrency, args.concurrency, args.users)
            key = name if name not in results else name + " (again)"
            results[key] = await _measure(base, service_url, cases[name], args.requests, args.concurrency,
                                          args.users)
    finally:
        for runner in runners:
            await runner.cleanup()
        engine.dispose()
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_bot")
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--companies", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        t0 = time.perf_counter()
        _fill(url, args.activities, args.users, args.companies)
        print(f"store: {args.activities:,} activities, {args.users} users, {args.companies} companies "
              f"(SQLite) built in {time.perf_counter() - t0:.0f} s")
        results = asyncio.run(_run(url, args))
    echo_p99 = _pct(results["echo"], 0.99)
    print(f"{'command':<14}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'p99/echo':>10}")
    status = 0
    for name, values in results.items():
        p99 = _pct(values, 0.99)
        ratio = p99 / echo_p99
        print(f"{name:<14}{len(values):>6}{statistics.median(values) * 1000:>10.1f}{p99:>10.1f}{ratio:>10.2f}")
        if name in ("health", "who knows") and ratio > 2.0:
            status = 1
    print("target: p99 of health and who knows ≤ 2 × echo p99 —", "met" if status == 0 else "NOT met")
    return status


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))

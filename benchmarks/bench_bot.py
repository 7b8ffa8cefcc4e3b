"""Bot latency over HTTP: ``health`` and ``who knows`` vs an echo command on the same stack, same run.

The store is the large synthetic tenant of :mod:`benchmarks.bench_analytics` (≈1.1M activities, generated and
loaded once, cached under ``benchmarks/out/``; its health scores are computed by a full refresh here if no
refresh has run yet, and the per-record health views of :mod:`analytics.health_views` with the who-knows answers
of :mod:`analytics.who_knows_views` are written for the latest refresh unless they already are — the setup line
reports how many and how long that took, the who-knows part separately). Three processes, so the load generator does not share the bot's CPU time or GIL:

* the **bot**: :func:`bot.app.create_app` with the store's relationship features plus one extra ``echo TEXT``
  command, authentication **on** (tokens from a loopback issuer, as in ``tests/bot``; ``--dev`` turns it off),
  served by aiohttp on loopback — every command goes through the same adapter, handler, conversation service,
  command table and reply path, only the command differs;
* a fake **Bot Connector** (aiohttp) that accepts the bot's replies;
* this process: the token issuer (OpenID metadata, keys, the bot's outbound token endpoint) in a thread, and
  ``--concurrency`` conversations (distinct users) posting raw Activity JSON with a channel token.

Each command runs ``--requests`` turns after a warm-up of one turn per conversation; echo runs first and last
(drift shows). Health asks for accounts by domain, who-knows for contacts by email, drawn at random from the
whole tenant (``--targets`` distinct ones). Target: p99 of health and who knows ≤ 2 × echo p99.

``python -m benchmarks.bench_bot`` (``--size small`` for a quick run, ``--profile FILE`` dumps a cProfile of
the bot process; the setup rewrites every health view and who-knows answer and reports how long it took,
``--keep-views`` skips that when they are marked current).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import sys
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from aiohttp import ClientSession, TCPConnector, web
from sqlalchemy import func, select

from analytics.store import models
from benchmarks.bench_analytics import NOW, prepare

CONCURRENCY = 50
BOT_APP_ID = "a1b2c3d4-0000-4000-8000-00000000b07a"


# --- the bot process ---------------------------------------------------------------------------------------------


class _IssuerRef:
    def __init__(self, url: str) -> None:
        self.url = url



def _bot_process(url: str, issuer_url: str, dev: bool, profile: str | None, conn: Connection) -> None:
    """Serve the bot on a loopback port; report the port; stop when the parent says so."""
    import cProfile

    from analytics.settings import Settings
    from analytics.store.engine import make_engine
    from bot.app import AppOptions, cached_features, create_app, store_features
    from bot.conversation.commands import Command, CommandContext, CommandTable, patterns
    from bot.conversation.model import Reply
    from bot.conversation.ratelimit import RateLimiter
    from bot.teams_sdk.auth import AuthEndpoints
    from tests.bot.harness import CHANNEL_ISSUER, IssuerCredentialFactory

    async def echo(ctx: CommandContext) -> Sequence[Reply]:
        return [Reply(text=ctx.args["rest"])]

    settings = Settings().with_overrides(database_url=url, bot_host="127.0.0.1", secret_key="bench",
                                         bot_app_id=BOT_APP_ID, bot_app_password="unused",
                                         bot_app_tenant_id="bench")
    engine = make_engine(url)
    metadata = issuer_url + "/.well-known/openid-configuration"
    endpoints = AuthEndpoints(channel_token_issuer=CHANNEL_ISSUER, channel_openid_metadata_url=metadata,
                              emulator_openid_metadata_url=metadata, login_url=issuer_url + "/tenant",
                              oauth_scope=CHANNEL_ISSUER, oauth_url=issuer_url)
    issuer = _IssuerRef(issuer_url)  # the credential factory only needs the issuer's URL
    opts = AppOptions(clock=lambda: NOW,
                      extra_commands=CommandTable([Command("echo", {}, patterns(r"echo (?P<rest>.+)"), echo)]),
                      limiter=RateLimiter(capacity=10**9, per_second=10**9),  # measure turns, not flood control
                      endpoints=None if dev else endpoints,
                      credential_factory=None if dev else IssuerCredentialFactory(issuer))  # type: ignore[arg-type]
    features = cached_features(store_features(settings, engine), engine)  # what create_app does; kept for stats
    relationships: Any = features.relationships
    app = create_app(settings, engine, dev=dev, features=features, options=opts)
    profiler = cProfile.Profile() if profile else None

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        conn.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        loop = asyncio.get_running_loop()
        while True:
            message = await loop.run_in_executor(None, conn.recv)
            if message == "profile-on" and profiler is not None:
                profiler.enable()
            elif message == "profile-off" and profiler is not None:
                profiler.disable()
            elif message == "stop":
                break
            elif message == "stats":
                conn.send((relationships.hits, relationships.misses))
                continue
            conn.send("ok")
        await runner.cleanup()

    asyncio.run(main())
    if profiler is not None and profile:
        profiler.dump_stats(profile)
    engine.dispose()
    conn.send("stopped")


# --- the fake connector process ------------------------------------------------------------------------------------


def _connector_process(conn: Connection) -> None:
    count = 0

    async def reply(_request: web.Request) -> web.Response:
        nonlocal count
        await _request.read()
        count += 1
        return web.json_response({"id": f"r{count}"})

    async def main() -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", reply)
        app.router.add_post("/v3/conversations/{cid}/activities", reply)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        conn.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await runner.cleanup()

    asyncio.run(main())
    conn.send(count)


# --- the load generator ----------------------------------------------------------------------------------------------


def _activity(text: str, conv: int, user: str, tenant_id: str, service_url: str) -> dict[str, Any]:
    return {"type": "message", "id": f"a{time.perf_counter_ns()}", "serviceUrl": service_url,
            "channelId": "msteams", "text": text, "locale": "en-US",
            "timestamp": NOW.isoformat().replace("+00:00", "Z"),
            "from": {"id": "29:" + user, "aadObjectId": user, "name": "Bench"},
            "recipient": {"id": "28:" + BOT_APP_ID, "name": "Rapport"},
            "conversation": {"id": f"a:bench-{conv}", "conversationType": "personal", "tenantId": tenant_id},
            "channelData": {"tenant": {"id": tenant_id}}}


async def _measure(base: str, headers: dict[str, str], texts: list[str], requests: int, users: list[str],
                   tenant_id: str, service_url: str) -> list[float]:
    latencies: list[float] = []
    counter = iter(range(requests))
    async with ClientSession(connector=TCPConnector(limit=0)) as session:
        async def conversation(conv: int) -> None:
            for i in counter:
                body = _activity(texts[i % len(texts)], conv, users[conv % len(users)], tenant_id, service_url)
                started = time.perf_counter()
                async with session.post(base + "/api/messages", json=body, headers=headers) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"HTTP {r.status} for {body['text']!r}")
                latencies.append(time.perf_counter() - started)
        await asyncio.gather(*(conversation(c) for c in range(len(users))))
    return latencies


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] * 1000


def _ensure_refreshed(engine: Any, tenant_id: str, keep_views: bool) -> str:
    """Materialise the health scores (``rapport analytics refresh``) unless a refresh already stored them."""
    from analytics.health_views import ensure_current, latest_refresh, materialise
    from analytics.refresh import full_refresh
    from analytics.settings import Settings
    from analytics.store.schema import upgrade

    upgrade(engine)  # the cached store may predate the latest migration (idempotent)
    score = models.table_of(models.Score)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(score).where(
            score.c.tenant_id == tenant_id, score.c.score_kind == "health")).scalar_one()
    # A migration may reset the refresh marker (0006 does), leaving scores without a refresh instant: views are
    # written only for a refresh instant, so refresh then too.
    if stored and latest_refresh(engine, tenant_id) is not None:
        done = f"{stored:,} stored health scores (an earlier refresh)"
    else:
        started = time.perf_counter()
        result = full_refresh(engine, tenant_id, Settings(), now=NOW)
        done = f"refreshed now: {result.total:,} health scores in {time.perf_counter() - started:.0f} s"
    # What `rapport analytics refresh` does after a full refresh, always: the cached store's views may be marked
    # for the latest refresh instant yet stale (bench_analytics refreshes the same store at the same NOW without
    # rewriting them). --keep-views trusts the mark instead (quicker repeated runs).
    views = (ensure_current(engine, tenant_id, Settings()) if keep_views
             else materialise(engine, tenant_id, Settings(), rewrite=True))
    if views.skipped is not None:
        return f"{done}; health views: {views.skipped}"
    return (f"{done}; health views materialised: {views.views:,} in {views.seconds:.1f} s, of which who-knows "
            f"answers: {views.who_knows:,} ({views.two_hop:,} with a two-hop path looked for) in "
            f"{views.who_knows_seconds:.1f} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_bot")
    parser.add_argument("--size", default="large", choices=("small", "demo", "large"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, default=1000, help="turns per command")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--targets", type=int, default=500, help="distinct health / who-knows targets")
    parser.add_argument("--dev", action="store_true", help="anonymous dev mode instead of authentication on")
    parser.add_argument("--profile", help="write a cProfile of the bot process (measured phases only) here")
    parser.add_argument("--keep-views", action="store_true",
                        help="skip rewriting the health views in the setup when they are marked current")
    args = parser.parse_args(argv)

    engine, tenant_id, truth = prepare(args.size, args.seed)
    with engine.connect() as conn:
        activities = conn.execute(select(func.count()).select_from(models.table_of(models.Activity))).scalar_one()
    refreshed = _ensure_refreshed(engine, tenant_id, args.keep_views)
    url = str(engine.url)
    engine.dispose()

    rng = random.Random(args.seed)
    users = [u["id"] for u in truth["users"] if u["purpose"] == "user" and u["enabled"]]
    rng.shuffle(users)
    users = (users * (args.concurrency // max(1, len(users)) + 1))[:args.concurrency]
    domains = [a["domain"] for a in truth["accounts"]]
    emails = [c["email"] for c in truth["contacts"]]
    cases = {
        "echo": [f"echo hello {i}" for i in range(args.targets)],
        "health": [f"health of {d}" for d in rng.sample(domains, min(args.targets, len(domains)))],
        "who knows": [f"who knows {e}" for e in rng.sample(emails, min(args.targets, len(emails)))],
    }
    print(f"store: {args.size} tenant, {activities:,} activities (SQLite, {url.split('/')[-1]}); {refreshed}")
    print(f"{args.concurrency} concurrent conversations, {args.requests} turns per command, "
          f"{len(cases['health'])} health targets, {len(cases['who knows'])} who-knows targets; "
          f"authentication {'OFF (dev mode)' if args.dev else 'ON (loopback token issuer)'}", flush=True)

    from tests.bot.harness import TokenIssuer

    issuer = TokenIssuer()
    ctx = multiprocessing.get_context("spawn")
    bot_end, bot_child = ctx.Pipe()
    conn_end, conn_child = ctx.Pipe()
    connector = ctx.Process(target=_connector_process, args=(conn_child,), daemon=True)
    bot = ctx.Process(target=_bot_process, args=(url, issuer.url, args.dev, args.profile, bot_child), daemon=True)
    connector.start()
    bot.start()
    results: dict[str, list[float]] = {}
    stats: dict[str, tuple[int, int]] = {}  # answer cache hits / computations in each measured phase
    seen = [0, 0]
    try:
        service_url = f"http://127.0.0.1:{conn_end.recv()}/"
        base = f"http://127.0.0.1:{bot_end.recv()}"
        token = issuer.mint(service_url=service_url, expires_in=24 * 3600)
        headers = {} if args.dev else {"Authorization": f"Bearer {token}"}

        async def run() -> None:
            for name in ("echo", "health", "who knows", "echo"):
                await _measure(base, headers, cases[name], len(users), users, tenant_id, service_url)  # warm-up
                bot_end.send("stats")
                seen[:] = bot_end.recv()
                bot_end.send("profile-on")
                bot_end.recv()
                key = name if name not in results else name + " (again)"
                results[key] = await _measure(base, headers, cases[name], args.requests, users, tenant_id,
                                              service_url)
                bot_end.send("profile-off")
                bot_end.recv()
                bot_end.send("stats")
                hits, misses = bot_end.recv()
                stats[key] = hits - seen[0], misses - seen[1]

        asyncio.run(run())
    finally:
        bot_end.send("stop")
        conn_end.send("stop")
        bot.join(60)
        connector.join(10)
        issuer.close()

    echo_p99 = _pct(results["echo"], 0.99)
    print(f"{'command':<14}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'p99/echo':>10}   cache lookups hit / computed")
    status = 0
    for name, values in results.items():
        p99 = _pct(values, 0.99)
        ratio = p99 / echo_p99
        hits, misses = stats.get(name, (0, 0))
        print(f"{name:<14}{len(values):>6}{statistics.median(values) * 1000:>10.1f}{p99:>10.1f}{ratio:>10.2f}"
              f"   {hits} / {misses}")
        if name in ("health", "who knows") and ratio > 2.0:
            status = 1
    print("target: p99 of health and who knows ≤ 2 × echo p99 —", "met" if status == 0 else "NOT met")
    if args.profile:
        print(f"bot process profile: {args.profile} (python -m pstats)")
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

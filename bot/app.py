"""The bot's composition root: ``create_app(settings, …)`` builds the aiohttp application.

Authentication is on unless ``dev=True``, which is accepted only when the server binds to loopback.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.engine import Engine

from analytics.errors import ConfigError
from analytics.settings import Settings
from bot.admin import register_admin_routes
from bot.conversation.commands import CommandTable
from bot.conversation.ratelimit import RateLimiter
from bot.conversation.service import ActionHandler, ConversationService
from bot.features import Features, wire
from bot.storage import CachedRelationships, RefreshGenerations, StoreConversations, StoreDirectory
from bot.teams_sdk.auth import LOOPBACK_HOSTS, AuthEndpoints
from bot.teams_sdk.runtime import TeamsRuntime, build_runtime
from bot.web.chart_links import ChartLinks
from bot.web.charts import chart_handler

SERVICE_KEY: web.AppKey[ConversationService] = web.AppKey("rapport_service", ConversationService)
RUNTIME_KEY: web.AppKey[TeamsRuntime] = web.AppKey("rapport_runtime", TeamsRuntime)


@dataclass
class AppOptions:
    """Test and benchmark seams of :func:`create_app` (production uses the defaults)."""

    endpoints: AuthEndpoints | None = None  # auth endpoints (tests: a loopback issuer)
    credential_factory: Any = None  # outbound credentials (tests: tokens from the loopback issuer)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    monotonic: Callable[[], float] = time.monotonic
    limiter: RateLimiter | None = None
    extra_commands: CommandTable | None = None  # e.g. the benchmark's echo command
    extra_actions: dict[str, ActionHandler] = field(default_factory=dict)


def store_features(settings: Settings, engine: Engine) -> Features:
    """The features backed by this deployment's store (the relationship query API and sharing rules)."""
    from analytics.query import RelationshipQueries
    from bot.storage import StoreAccess

    return Features(relationships=RelationshipQueries(engine, settings), access=StoreAccess(engine))


def create_app(settings: Settings, engine: Engine, *, dev: bool = False, features: Features | None = None,
               options: AppOptions | None = None) -> web.Application:
    """The bot's web application: ``POST /api/messages``, ``GET /charts/{kind}.png`` and ``GET /healthz``."""
    opts = options or AppOptions()
    if dev and settings.bot_host not in LOOPBACK_HOSTS:
        raise ConfigError("RAPPORT_BOT_HOST", "a loopback address (127.0.0.1) in --dev mode", settings.bot_host)
    if not settings.secret_key and not dev:
        raise ConfigError("RAPPORT_SECRET_KEY", "a secret key (it signs card actions and chart URLs)", "''")
    secret = (settings.secret_key or "rapport-dev-only").encode("utf-8")
    conversations = StoreConversations(engine)
    features = cached_features(features or Features(), engine)
    charts = ChartLinks(secret, settings.bot_public_url) if settings.bot_public_url else None
    commands, actions = wire(features, conversations=conversations, secret_key=secret, charts=charts)
    if opts.extra_commands is not None:
        commands.add(*opts.extra_commands.commands)
    actions.update(opts.extra_actions)
    directory = StoreDirectory(engine)
    service = ConversationService(
        directory=directory, conversations=conversations, commands=commands, secret_key=secret,
        clock=opts.clock, monotonic=opts.monotonic, limiter=opts.limiter or RateLimiter(), actions=actions,
    )
    runtime = build_runtime(settings, service, conversations, dev=dev, clock=opts.clock,
                            endpoints=opts.endpoints, credential_factory=opts.credential_factory)
    app = web.Application(client_max_size=1024 * 1024)
    app[SERVICE_KEY] = service
    app[RUNTIME_KEY] = runtime
    app.router.add_post("/api/messages", runtime.messages)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/charts/{kind}.png", chart_handler(secret, relationships=features.relationships,
                                                           directory=directory, team=features.team,
                                                           clock=opts.clock, scores=features.scores))
    register_admin_routes(app, settings, engine, dev=dev)  # /admin/consent (docs/deploy.md)
    app.on_startup.append(_store_threads(engine))
    app.on_cleanup.append(_close_runtime)
    return app


def cached_features(features: Features, engine: Engine) -> Features:
    """Relationship answers cached per refresh generation (:class:`bot.storage.CachedRelationships`)."""
    from analytics.query import RelationshipQueries

    if isinstance(features.relationships, RelationshipQueries):
        return replace(features, relationships=CachedRelationships(features.relationships,
                                                                   RefreshGenerations(engine)))
    return features


def store_threads(engine: Engine, cores: int | None = None) -> int:
    """Worker threads for store calls: one per core plus one, at most one per connection the pool can open.

    A store call is mostly Python under the GIL (reading rows, computing KPIs), not waiting on I/O: threads beyond
    the cores only take turns with the event loop, which then answers every conversation late. Measured on the
    2-core bench (1.1M activities, 50 conversations): 15 threads gave who-knows p99 3.05x echo, 3 threads 1.79-2.74x
    over three runs, and health p99 5.5 s against 3.0-5.7 s.
    """
    pool: Any = engine.pool
    size = pool.size() if callable(getattr(pool, "size", None)) else 5
    overflow = max(0, int(getattr(pool, "_max_overflow", 0) or 0))
    connections = max(1, int(size) + overflow)
    return max(2, min(connections, (cores or os.cpu_count() or 1) + 1))


def _store_threads(engine: Engine) -> Callable[[web.Application], Any]:
    async def start(_app: web.Application) -> None:
        # Every port call runs in the loop's default executor (asyncio.to_thread); its default size,
        # min(32, cores + 4), lets more GIL-bound store calls run than there are cores (see store_threads).
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=store_threads(engine), thread_name_prefix="rapport-store"))
    return start


async def _close_runtime(app: web.Application) -> None:
    await app[RUNTIME_KEY].close()


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})

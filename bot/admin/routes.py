"""``GET /admin/consent`` and ``GET /admin/consent/callback`` on the bot's web server.

The redirect sends the admin to ``{authority}/{tenant or organizations}/v2.0/adminconsent`` with a signed,
expiring ``state`` (:mod:`bot.admin.state`). The callback, in order: verifies ``state`` (bad or expired → a
page, nothing recorded), shows Entra's ``error``/``error_description`` if there is one, refuses a state already
recorded (replay), confirms the grant with an app-only token (:mod:`bot.admin.grant`), records tenant and
consent in one transaction (:mod:`bot.admin.records`) and asks for the tenant's first sync
(:mod:`bot.admin.first_sync`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
from aiohttp import web
from sqlalchemy.engine import Engine

from analytics.settings import Settings
from bot.admin import pages
from bot.admin.errors import BadState, ExpiredState, GrantNotConfirmed, ReplayedState
from bot.admin.first_sync import BackgroundPasses, FirstSync
from bot.admin.grant import AppIdentity, CredentialFactory, granted_roles
from bot.admin.records import nonce_used, record_consent
from bot.admin.state import issue_state, verify_state
from bot.admin.urls import admin_consent_url, is_tenant_id, tenant_hint

if TYPE_CHECKING:
    from graph_sync.worker import SyncWorker

log = logging.getLogger(__name__)

CONSENT_PATH = "/admin/consent"
CALLBACK_PATH = "/admin/consent/callback"
DEV_KEY = b"rapport-dev-only"  # the same dev fallback create_app uses; dev mode is loopback-only


@dataclass
class AdminOptions:
    """Seams of the consent routes (production uses the defaults)."""

    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    nonce: Callable[[], str] = field(default=lambda: secrets.token_urlsafe(24))
    first_sync: FirstSync | None = None  # default: background passes of a sync worker in this process
    transport: httpx.AsyncBaseTransport | None = None  # token requests that confirm the grant
    credential_factory: CredentialFactory | None = None


FIRST_SYNC_KEY: web.AppKey[FirstSync] = web.AppKey("rapport_first_sync", FirstSync)


def app_identity(settings: Settings) -> AppIdentity | None:
    """The deployment's Graph app, or None when it is not configured."""
    if not settings.graph_client_id or not (settings.graph_client_secret or settings.graph_certificate_path):
        return None
    return AppIdentity(client_id=settings.graph_client_id, authority=settings.graph_authority,
                       graph_base_url=settings.graph_base_url, client_secret=settings.graph_client_secret or None,
                       certificate_path=settings.graph_certificate_path or None)


def _worker(settings: Settings, engine: Engine) -> SyncWorker:
    from graph_sync.worker import build_worker  # imported on first consent: msgraph is slow to import

    return build_worker(settings, engine=engine)


def register_admin_routes(app: web.Application, settings: Settings, engine: Engine, *, dev: bool = False,
                          options: AdminOptions | None = None) -> None:
    """Mount the consent routes on the bot's application."""
    opts = options or AdminOptions()
    key = settings.secret_key.encode("utf-8") if settings.secret_key else (DEV_KEY if dev else b"")
    identity = app_identity(settings)
    first_sync = opts.first_sync or BackgroundPasses(lambda: _worker(settings, engine))
    app[FIRST_SYNC_KEY] = first_sync

    async def close_first_sync(_app: web.Application) -> None:
        await first_sync.aclose()

    app.on_cleanup.append(close_first_sync)

    def redirect_uri(request: web.Request) -> str:
        base = settings.bot_public_url.rstrip("/") or f"{request.scheme}://{request.host}"
        return base + CALLBACK_PATH

    async def consent(request: web.Request) -> web.StreamResponse:
        if identity is None or not key:
            return pages.not_configured_page()
        try:
            hint = tenant_hint(request.query.get("tenant"))
        except ValueError as err:
            return pages.page("Not a tenant", [str(err)], status=400)
        state = issue_state(key, nonce=opts.nonce(), now=opts.clock().timestamp(),
                            ttl_seconds=settings.consent_state_ttl_seconds, tenant_hint=hint)
        url = admin_consent_url(identity.authority, hint, client_id=identity.client_id,
                                redirect_uri=redirect_uri(request), state=state)
        raise web.HTTPFound(url, headers={"Cache-Control": "no-store"})

    async def callback(request: web.Request) -> web.StreamResponse:
        if identity is None or not key:
            return pages.not_configured_page()
        query = request.query
        now = opts.clock()
        try:
            state = verify_state(key, query.get("state"), now=now.timestamp())
        except ExpiredState:
            log.info("consent callback with an expired state")
            return pages.expired_page()
        except BadState as err:
            log.warning("consent callback with a bad state: %s", err.reason)
            return pages.bad_state_page(err.reason)
        if "error" in query:
            log.info("admin consent refused: %s", query.get("error"))
            return pages.error_page(query.get("error", "")[:200], query.get("error_description", "")[:1000])
        tenant_id = query.get("tenant", "")
        if query.get("admin_consent", "").lower() != "true" or not is_tenant_id(tenant_id):
            return pages.bad_state_page("the answer names no consenting tenant")
        tenant_id = tenant_id.lower()
        if await asyncio.to_thread(nonce_used, engine, state.nonce):
            return pages.replayed_page()
        try:
            roles = await granted_roles(identity, tenant_id, transport=opts.transport,
                                        credential_factory=opts.credential_factory)
        except GrantNotConfirmed as err:
            log.warning("consent for tenant %s not confirmed: %s", tenant_id, err.detail)
            return pages.unconfirmed_page(tenant_id, "no token yet")
        try:
            recorded = await asyncio.to_thread(
                record_consent, engine, tenant_id=tenant_id, nonce=state.nonce, scopes=roles, app=identity,
                subject_policy=settings.subject_policy, now=now)
        except ReplayedState:
            return pages.replayed_page()
        log.info("admin consent recorded tenant=%s scopes=%s new=%s", tenant_id, ",".join(recorded.scopes),
                 recorded.new_tenant)
        first_sync.request(tenant_id)
        return pages.granted_page(tenant_id, recorded.scopes, new_tenant=recorded.new_tenant)

    app.router.add_get(CONSENT_PATH, consent)
    app.router.add_get(CALLBACK_PATH, callback)



"""Fixtures for the bot's tests: loopback issuer and connector, users in the store, and an app to post to."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import Engine

from analytics.settings import Settings
from analytics.store import models
from bot.app import AppOptions, create_app
from bot.features import Features
from tests.bot.harness import APP_ID, FakeConnector, IssuerCredentialFactory, TokenIssuer

T = TypeVar("T")

REP = "00000000-0000-0000-0000-0000000000a1"
MANAGER = "00000000-0000-0000-0000-0000000000b1"
ADMIN = "00000000-0000-0000-0000-0000000000c1"
OTHER_TENANT = "99999999-2222-3333-4444-555555555555"


@pytest.fixture(scope="session")
def issuer() -> Iterator[TokenIssuer]:
    server = TokenIssuer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def _connector() -> Iterator[FakeConnector]:
    server = FakeConnector()
    yield server
    server.close()


@pytest.fixture
def connector(_connector: FakeConnector) -> FakeConnector:
    _connector.clear()
    _connector.script.clear()
    return _connector


@pytest.fixture
def users(engine: Engine, tenant_id: str, now: datetime) -> dict[str, str]:
    """A manager with one report, and an admin, in the test tenant."""
    user = models.table_of(models.InternalUser)
    with engine.begin() as conn:
        conn.execute(user.insert(), [
            # Every row names every column: an executemany takes its columns from the first row.
            {"tenant_id": tenant_id, "user_id": MANAGER, "email": "mia@contoso.com", "display_name": "Mia",
             "manager_id": None},
            {"tenant_id": tenant_id, "user_id": REP, "email": "rob@contoso.com", "display_name": "Rob",
             "manager_id": MANAGER},
            {"tenant_id": tenant_id, "user_id": ADMIN, "email": "ada@contoso.com", "display_name": "Ada",
             "manager_id": None},
        ])
        conn.execute(models.table_of(models.Tenant).update().values(options={"admin_user_ids": [ADMIN]}))
    return {"rep": REP, "manager": MANAGER, "admin": ADMIN}


@pytest.fixture
def settings(tenant_id: str) -> Settings:
    return Settings().with_overrides(secret_key="test-secret", bot_app_id=APP_ID, bot_app_password="unused",
                                      bot_app_tenant_id=tenant_id, bot_host="127.0.0.1")


@pytest.fixture
def make_app(settings: Settings, engine: Engine, issuer: TokenIssuer, now: datetime
             ) -> Callable[..., web.Application]:
    def build(features: Features | None = None, **options: Any) -> web.Application:
        opts = AppOptions(endpoints=issuer.endpoints(), credential_factory=IssuerCredentialFactory(issuer),
                          clock=lambda: now, **options)
        return create_app(settings, engine, features=features, options=opts)
    return build


def serve(app: web.Application, scenario: Callable[[TestClient[Any, Any]], Awaitable[T]]) -> T:
    """Run ``scenario`` against ``app`` on a real loopback socket."""
    async def main() -> T:
        async with TestClient(TestServer(app)) as client:
            return await scenario(client)
    return asyncio.run(main())

"""Builds the adapter, handler and messenger for :func:`bot.app.create_app`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botbuilder.integration.aiohttp import CloudAdapter

from analytics.settings import Settings
from bot.conversation.service import ConversationService
from bot.ports import ConversationStore
from bot.teams_sdk.auth import AuthEndpoints, build_authentication, credentials_for
from bot.teams_sdk.connector import CachingAuthentication, ConnectorClients
from bot.teams_sdk.handler import RapportTeamsHandler, on_turn_error
from bot.teams_sdk.http import messages_handler
from bot.teams_sdk.proactive import Messenger


@dataclass
class TeamsRuntime:
    """The SDK objects of one process: the ``/api/messages`` handler and the proactive messenger."""

    messages: Any
    messenger: Messenger
    adapter: Any
    clients: ConnectorClients

    async def close(self) -> None:
        """Close the shared outbound HTTP session (the web application's cleanup)."""
        await self.clients.close()


def build_runtime(settings: Settings, service: ConversationService, conversations: ConversationStore, *,
                  dev: bool, clock: Callable[[], datetime], endpoints: AuthEndpoints | None = None,
                  credential_factory: Any = None) -> TeamsRuntime:
    """Adapter with parameterized authentication, our handler, and a messenger sharing the adapter.

    Connector clients, credentials and tokens are built once per process (:mod:`bot.teams_sdk.connector`).
    """
    factory = credential_factory or credentials_for(settings, dev=dev)
    resolved = endpoints or AuthEndpoints.public_cloud(settings.bot_app_tenant_id)
    clients = ConnectorClients(resolved, factory)
    adapter = CloudAdapter(CachingAuthentication(build_authentication(resolved, factory), clients))
    adapter.on_turn_error = on_turn_error
    messenger = Messenger(adapter, "" if dev else settings.bot_app_id, conversations)
    bot = RapportTeamsHandler(service, messenger, clock)
    return TeamsRuntime(messages=messages_handler(adapter, bot, auth_required=not dev), messenger=messenger,
                        adapter=adapter, clients=clients)


def build_messenger(settings: Settings, conversations: ConversationStore, *, endpoints: AuthEndpoints | None = None,
                    credential_factory: Any = None) -> Messenger:
    """A messenger for proactive sends outside a web process (``rapport digest send``)."""
    factory = credential_factory or credentials_for(settings, dev=False)
    auth = build_authentication(endpoints or AuthEndpoints.public_cloud(settings.bot_app_tenant_id), factory)
    return Messenger(CloudAdapter(auth), settings.bot_app_id, conversations)

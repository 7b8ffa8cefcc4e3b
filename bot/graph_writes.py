"""Graph writes for the notes feature: events and Microsoft To Do tasks through msgraph-sdk, idempotently.

Application permission (``Calendars.ReadWrite``, ``Tasks.ReadWrite.All``) with the tenant's sync credentials
from the ``tenant`` table; the clients are built with :mod:`graph_sync`'s own code
(:func:`~graph_sync.auth.make_credential`, :func:`~graph_sync.client.build_service_client`), so the bundled
emulator and tests (an ``httpx`` transport) work exactly like Graph. Delegated tokens (Teams SSO +
on-behalf-of) are not built: see ``docs/bot.md``.

Idempotency: events carry ``transactionId`` (Graph returns the first event for a repeat). To Do has no such
field, so a task carries a linked resource whose ``externalId`` is our key, and a create first looks for it in
the list; a per-key lock closes the window between two presses handled by this process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.linked_resource import LinkedResource
from msgraph.generated.models.todo_task import TodoTask
from msgraph.generated.models.todo_task_list import TodoTaskList
from msgraph.generated.models.wellknown_list_name import WellknownListName
from msgraph.generated.users.item.todo.lists.item.tasks.tasks_request_builder import TasksRequestBuilder
from msgraph.graph_service_client import GraphServiceClient
from sqlalchemy.engine import Engine

from bot.errors import WriteFailed
from bot.ports import Created, EventDraft, TaskDraft
from graph_sync.auth import AsyncCredential, make_credential
from graph_sync.client import build_service_client
from graph_sync.errors import TenantConfigError
from graph_sync.tenants import TenantConfig, list_tenants

log = logging.getLogger(__name__)

APPLICATION_NAME = "Rapport"  # the linked resource that marks (and de-duplicates) our tasks
TASK_LIST_NAME = "Rapport"  # used only when the user has no default To Do list


@dataclass
class _Client:
    tenant: TenantConfig
    service: GraphServiceClient
    http: httpx.AsyncClient
    credential: AsyncCredential


class MsGraphWrites:
    """:class:`bot.ports.GraphWrites` over msgraph-sdk with the tenant's application credentials."""

    def __init__(self, engine: Engine, *, transport: httpx.AsyncBaseTransport | None = None,
                 tenants: Callable[[], list[TenantConfig]] | None = None) -> None:
        self._tenants = tenants or (lambda: list_tenants(engine, active_only=True))
        self._transport = transport
        self._clients: dict[str, _Client] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def aclose(self) -> None:
        """Close every tenant's HTTP client and credential."""
        for client in self._clients.values():
            await client.http.aclose()
            close = getattr(client.credential, "close", None)
            if close is not None:
                await close()
        self._clients.clear()

    async def _client(self, tenant_id: str) -> _Client:
        found = self._clients.get(tenant_id)
        if found is not None:
            return found
        tenant = next((t for t in await asyncio.to_thread(self._tenants) if t.tenant_id == tenant_id), None)
        if tenant is None:
            raise WriteFailed("anything", None, f"tenant {tenant_id} is not configured for Graph")
        try:
            credential = make_credential(tenant.credentials, transport=self._transport)
        except TenantConfigError as err:
            raise WriteFailed("anything", None, str(err)) from err
        service, http = build_service_client(credential, tenant.graph_base_url, transport=self._transport)
        client = self._clients[tenant_id] = _Client(tenant, service, http, credential)
        return client

    def _lock(self, key: str) -> asyncio.Lock:
        if len(self._locks) > 10_000:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(key, asyncio.Lock())

    async def create_event(self, tenant_id: str, user_id: str, draft: EventDraft) -> Created:
        """``POST /users/{id}/events`` with ``transactionId``."""
        client = await self._client(tenant_id)
        event = Event(
            subject=draft.subject,
            body=ItemBody(content_type=BodyType.Text, content=draft.body),
            start=DateTimeTimeZone(date_time=draft.start.strftime("%Y-%m-%dT%H:%M:%S"), time_zone=draft.time_zone),
            end=DateTimeTimeZone(date_time=draft.end.strftime("%Y-%m-%dT%H:%M:%S"), time_zone=draft.time_zone),
            attendees=[Attendee(type=AttendeeType.Required, email_address=EmailAddress(address=a))
                       for a in draft.attendees],
            transaction_id=draft.transaction_id,
        )
        async with self._lock(draft.transaction_id):
            made = await _call("meeting", client.service.users.by_user_id(user_id).events.post(event))
        if made is None or not made.id:
            raise WriteFailed("meeting", None, "Graph returned no event")
        return Created("event", made.id, made.subject or draft.subject, made.web_link)

    async def create_task(self, tenant_id: str, user_id: str, draft: TaskDraft) -> Created:
        """``POST /users/{id}/todo/lists/{list}/tasks`` unless a task with our key is already there."""
        client = await self._client(tenant_id)
        async with self._lock(draft.external_id):
            lists = client.service.users.by_user_id(user_id).todo.lists
            list_id = await self._task_list(lists)
            tasks = lists.by_todo_task_list_id(list_id).tasks
            existing = await self._find_task(tasks, draft.external_id)
            if existing is not None:
                return existing
            task = TodoTask(
                title=draft.title,
                body=ItemBody(content_type=BodyType.Text, content=draft.body),
                due_date_time=(DateTimeTimeZone(date_time=datetime.combine(draft.due, time(17, 0)).strftime(
                    "%Y-%m-%dT%H:%M:%S"), time_zone=draft.time_zone) if draft.due else None),
                linked_resources=[LinkedResource(application_name=APPLICATION_NAME, external_id=draft.external_id,
                                                 display_name=draft.title[:100])],
            )
            made = await _call("task", tasks.post(task))
        if made is None or not made.id:
            raise WriteFailed("task", None, "Graph returned no task")
        return Created("task", made.id, made.title or draft.title)

    async def _task_list(self, lists: Any) -> str:
        """The user's default To Do list, else a list named Rapport (created if need be)."""
        page = await _call("task", lists.get())
        values = list(getattr(page, "value", None) or [])
        chosen = (next((x for x in values if x.wellknown_list_name == WellknownListName.DefaultList and x.id), None)
                  or next((x for x in values if x.display_name == TASK_LIST_NAME and x.id), None))
        if chosen is not None:
            return str(chosen.id)
        made = await _call("task", lists.post(TodoTaskList(display_name=TASK_LIST_NAME)))
        if made is None or not made.id:
            raise WriteFailed("task", None, "Graph returned no task list")
        return str(made.id)

    async def _find_task(self, tasks: Any, external_id: str) -> Created | None:
        config: RequestConfiguration[Any] = RequestConfiguration(
            query_parameters=TasksRequestBuilder.TasksRequestBuilderGetQueryParameters(expand=["linkedResources"]))
        page = await _call("task", tasks.get(request_configuration=config))
        while page is not None:
            for task in getattr(page, "value", None) or []:
                for link in task.linked_resources or []:
                    if link.application_name == APPLICATION_NAME and link.external_id == external_id and task.id:
                        return Created("task", task.id, task.title or "")
            next_link = getattr(page, "odata_next_link", None)
            page = await _call("task", tasks.with_url(next_link).get()) if next_link else None
        return None


async def _call(what: str, pending: Any) -> Any:
    """Await an SDK call, mapping its errors to :class:`WriteFailed`."""
    try:
        return await pending
    except APIError as err:
        status = getattr(err, "response_status_code", None)
        log.warning("Graph refused creating a %s: %s %s", what, status, err)
        raise WriteFailed(what, status, str(getattr(err, "message", "") or err)[:200]) from err
    except httpx.HTTPError as err:
        log.warning("Graph unreachable creating a %s: %s", what, err)
        raise WriteFailed(what, None, type(err).__name__) from err

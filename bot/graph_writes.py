"""Graph writes for the notes feature: events, Microsoft To Do tasks and Outlook contacts through msgraph-sdk,
idempotently.

Two ways to act for the user:

* **delegated** — when a :class:`~graph_sync.obo.DelegatedApp` is configured and the caller passes the user's
  Teams SSO token (``user_assertion``), azure-identity's ``OnBehalfOfCredential`` trades it for a Graph token of
  that user and the writes go to ``/me/…`` (delegated ``Calendars.ReadWrite``, ``Tasks.ReadWrite``,
  ``Contacts.ReadWrite``);
* **application permission** otherwise (``Calendars.ReadWrite``, ``Tasks.ReadWrite.All``, ``Contacts.ReadWrite``)
  with the tenant's sync credentials from the ``tenant`` table, to ``/users/{id}/…``.

Clients are built with :mod:`graph_sync`'s own code (:func:`~graph_sync.auth.make_credential`,
:func:`~graph_sync.obo.make_obo_credential`, :func:`~graph_sync.client.build_service_client`), so the bundled
emulator and tests (an ``httpx`` transport) work exactly like Graph.

Idempotency: events carry ``transactionId`` (Graph returns the first event for a repeat). To Do and contacts
have no such field: a task carries a linked resource whose ``externalId`` is our key, a contact a single-value
extended property (``String {GUID} Name RapportSuggestionKey``) holding it, and a create first looks for the key
(``$expand=linkedResources`` / ``$filter`` on the extended property); a per-key lock closes the window between
two presses handled by this process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import httpx
import jwt
from azure.core.exceptions import ClientAuthenticationError
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.contact import Contact
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.linked_resource import LinkedResource
from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty
from msgraph.generated.models.todo_task import TodoTask
from msgraph.generated.models.todo_task_list import TodoTaskList
from msgraph.generated.models.wellknown_list_name import WellknownListName
from msgraph.generated.users.item.contacts.contacts_request_builder import ContactsRequestBuilder
from msgraph.generated.users.item.todo.lists.item.tasks.tasks_request_builder import TasksRequestBuilder
from msgraph.graph_service_client import GraphServiceClient
from sqlalchemy.engine import Engine

from analytics.errors import ConfigError
from analytics.settings import Settings
from bot.errors import WriteFailed
from bot.ports import ContactDraft, Created, EventDraft, TaskDraft
from graph_sync.auth import AsyncCredential, make_credential
from graph_sync.client import build_service_client
from graph_sync.errors import TenantConfigError
from graph_sync.obo import DelegatedApp, make_obo_credential
from graph_sync.tenants import TenantConfig, list_tenants

log = logging.getLogger(__name__)

APPLICATION_NAME = "Rapport"  # the linked resource that marks (and de-duplicates) our tasks
TASK_LIST_NAME = "Rapport"  # used only when the user has no default To Do list
# Our contacts' key: a named MAPI string property in a property set of our own (a fixed GUID).
CONTACT_KEY_PROPERTY = "String {8f3c2a51-6b1e-4d7a-9c0e-2f5b7a9d4e61} Name RapportSuggestionKey"


def delegated_app(settings: Settings) -> DelegatedApp | None:
    """The on-behalf-of app when ``RAPPORT_BOT_SSO_WRITES`` is on: the bot's registration (the audience of the
    Teams SSO token) with its secret, against ``RAPPORT_GRAPH_AUTHORITY``."""
    if not settings.bot_sso_writes:
        return None
    if not settings.bot_app_id or not settings.bot_app_password:
        raise ConfigError("RAPPORT_BOT_SSO_WRITES", "RAPPORT_BOT_APP_ID and RAPPORT_BOT_APP_PASSWORD (on-behalf-of "
                                                    "exchanges the SSO token with the bot app's secret)", "true")
    if not settings.graph_authority.startswith("https://"):
        raise ConfigError("RAPPORT_GRAPH_AUTHORITY", "an https authority for on-behalf-of", settings.graph_authority)
    return DelegatedApp(settings.bot_app_id, settings.bot_app_password, settings.graph_authority)


@dataclass
class _Client:
    tenant: TenantConfig
    service: GraphServiceClient
    http: httpx.AsyncClient
    credential: AsyncCredential


class MsGraphWrites:
    """:class:`bot.ports.GraphWrites` over msgraph-sdk: delegated (on-behalf-of) when ``delegated`` is configured
    and a user assertion is given, else with the tenant's application credentials."""

    def __init__(self, engine: Engine, *, transport: httpx.AsyncBaseTransport | None = None,
                 tenants: Callable[[], list[TenantConfig]] | None = None,
                 delegated: DelegatedApp | None = None) -> None:
        self._tenants = tenants or (lambda: list_tenants(engine, active_only=True))
        self._transport = transport
        self._delegated = delegated
        self._clients: dict[str, _Client] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def delegated(self) -> bool:
        """Whether writes can act with the user's own (delegated) token when one is given."""
        return self._delegated is not None

    async def aclose(self) -> None:
        """Close every tenant's HTTP client and credential."""
        for client in self._clients.values():
            await client.http.aclose()
            close = getattr(client.credential, "close", None)
            if close is not None:
                await close()
        self._clients.clear()

    async def _tenant(self, tenant_id: str) -> TenantConfig:
        tenant = next((t for t in await asyncio.to_thread(self._tenants) if t.tenant_id == tenant_id), None)
        if tenant is None:
            raise WriteFailed("anything", None, f"tenant {tenant_id} is not configured for Graph")
        return tenant

    async def _client(self, tenant_id: str) -> _Client:
        found = self._clients.get(tenant_id)
        if found is not None:
            return found
        tenant = await self._tenant(tenant_id)
        try:
            credential = make_credential(tenant.credentials, transport=self._transport)
        except TenantConfigError as err:
            raise WriteFailed("anything", None, str(err)) from err
        service, http = build_service_client(credential, tenant.graph_base_url, transport=self._transport)
        client = self._clients[tenant_id] = _Client(tenant, service, http, credential)
        return client

    @asynccontextmanager
    async def _user(self, tenant_id: str, user_id: str, user_assertion: str | None) -> AsyncIterator[Any]:
        """The request builder of the acting user: ``/me`` with a delegated token, else ``/users/{id}``."""
        if self._delegated is None or not user_assertion:
            client = await self._client(tenant_id)
            yield client.service.users.by_user_id(user_id)
            return
        _check_assertion(user_assertion, tenant_id, user_id)
        tenant = await self._tenant(tenant_id)
        try:
            credential = make_obo_credential(self._delegated, tenant_id, user_assertion, transport=self._transport)
        except TenantConfigError as err:
            raise WriteFailed("anything", None, str(err)) from err
        service, http = build_service_client(credential, tenant.graph_base_url, transport=self._transport)
        try:
            yield service.me
        finally:
            await http.aclose()
            close = getattr(credential, "close", None)
            if close is not None:
                await close()

    def _lock(self, key: str) -> asyncio.Lock:
        if len(self._locks) > 10_000:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(key, asyncio.Lock())

    async def create_event(self, tenant_id: str, user_id: str, draft: EventDraft, *,
                           user_assertion: str | None = None) -> Created:
        """``POST /users/{id}/events`` (or ``/me/events``) with ``transactionId``."""
        event = Event(
            subject=draft.subject,
            body=ItemBody(content_type=BodyType.Text, content=draft.body),
            start=DateTimeTimeZone(date_time=draft.start.strftime("%Y-%m-%dT%H:%M:%S"), time_zone=draft.time_zone),
            end=DateTimeTimeZone(date_time=draft.end.strftime("%Y-%m-%dT%H:%M:%S"), time_zone=draft.time_zone),
            attendees=[Attendee(type=AttendeeType.Required, email_address=EmailAddress(address=a))
                       for a in draft.attendees],
            transaction_id=draft.transaction_id,
        )
        async with self._lock(draft.transaction_id), _credential_errors("meeting"), \
                self._user(tenant_id, user_id, user_assertion) as user:
            made = await _call("meeting", user.events.post(event))
        if made is None or not made.id:
            raise WriteFailed("meeting", None, "Graph returned no event")
        return Created("event", made.id, made.subject or draft.subject, made.web_link)

    async def create_task(self, tenant_id: str, user_id: str, draft: TaskDraft, *,
                          user_assertion: str | None = None) -> Created:
        """``POST /users/{id}/todo/lists/{list}/tasks`` unless a task with our key is already there."""
        async with self._lock(draft.external_id), _credential_errors("task"), \
                self._user(tenant_id, user_id, user_assertion) as user:
            lists = user.todo.lists
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

    async def create_contact(self, tenant_id: str, user_id: str, draft: ContactDraft, *,
                             user_assertion: str | None = None) -> Created:
        """``POST /users/{id}/contacts`` unless a contact carrying our key is already there."""
        async with self._lock(draft.key), _credential_errors("contact"), \
                self._user(tenant_id, user_id, user_assertion) as user:
            contacts = user.contacts
            existing = await self._find_contact(contacts, draft.key)
            if existing is not None:
                return existing
            given, _, surname = draft.name.strip().partition(" ")
            contact = Contact(
                given_name=given or None, surname=surname.strip() or None, display_name=draft.name.strip() or None,
                email_addresses=([EmailAddress(address=draft.email, name=draft.name or draft.email)]
                                 if draft.email else None),
                business_phones=[draft.phone] if draft.phone else None,
                job_title=draft.job_title or None, company_name=draft.company or None,
                single_value_extended_properties=[SingleValueLegacyExtendedProperty(id=CONTACT_KEY_PROPERTY,
                                                                                     value=draft.key)],
            )
            made = await _call("contact", contacts.post(contact))
        if made is None or not made.id:
            raise WriteFailed("contact", None, "Graph returned no contact")
        return Created("contact", made.id, made.display_name or draft.name)

    async def _find_contact(self, contacts: Any, key: str) -> Created | None:
        quoted = key.replace("'", "''")
        config: RequestConfiguration[Any] = RequestConfiguration(
            query_parameters=ContactsRequestBuilder.ContactsRequestBuilderGetQueryParameters(
                filter=f"singleValueExtendedProperties/Any(ep: ep/id eq '{CONTACT_KEY_PROPERTY}' and "
                       f"ep/value eq '{quoted}')", select=["id", "displayName"]))
        page = await _call("contact", contacts.get(request_configuration=config))
        for contact in getattr(page, "value", None) or []:
            if contact.id:
                return Created("contact", contact.id, contact.display_name or "")
        return None

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


def _check_assertion(assertion: str, tenant_id: str, user_id: str) -> None:
    """The SSO token must be the acting user's, of their tenant. Its signature, audience and lifetime are Entra's
    to check in the on-behalf-of exchange; this only stops one user's token being used for another's action."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as err:
        raise WriteFailed("anything", 401, "the sign-in token is malformed") from err
    if claims.get("tid") != tenant_id or claims.get("oid") != user_id:
        log.warning("an SSO token of %s/%s came with an action of %s/%s", claims.get("tid"), claims.get("oid"),
                    tenant_id, user_id)
        raise WriteFailed("anything", 403, "the sign-in belongs to another user")


@asynccontextmanager
async def _credential_errors(what: str) -> AsyncIterator[None]:
    """The on-behalf-of exchange failing (expired or foreign SSO token, missing consent) is a failed write."""
    try:
        yield
    except ClientAuthenticationError as err:
        log.warning("on-behalf-of token refused creating a %s: %s", what, err)
        raise WriteFailed(what, 401, "the sign-in could not be used for Microsoft Graph") from err


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

"""The request pipeline both transports call: routing, scripted faults, authentication, permissions,
per-mailbox throttling, injected latency, the handler, and the log and counters.

Order matters and mirrors Graph: infrastructure faults come before authentication; throttling is checked before
the (slow) work, and the concurrency slot is held while the injected latency elapses, so overlapping requests
really overlap.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from graph_sync.emulator import handlers_contacts as c
from graph_sync.emulator import handlers_directory as d
from graph_sync.emulator import handlers_mail as m
from graph_sync.emulator import handlers_write as w
from graph_sync.emulator.context import Ctx
from graph_sync.emulator.delegated import check_delegated, is_delegated, is_me, resolve_me
from graph_sync.emulator.errors import GraphError
from graph_sync.emulator.login import LOGIN_PATH, handle_login
from graph_sync.emulator.observe import RequestRecord
from graph_sync.emulator.wire import (
    EmulatorRequest,
    EmulatorResponse,
    error_body,
    json_response,
    parse_prefer,
)

if TYPE_CHECKING:
    from graph_sync.emulator.state import EmulatorState

Handler = Callable[[Ctx], EmulatorResponse]
USER = r"/users/(?P<user>[^/]+)"
MAX_BATCH = 20


@dataclass(frozen=True)
class Route:
    """One Graph endpoint: method, path pattern (after ``/v1.0``), whether it is a mailbox resource (and so
    throttled per mailbox), and the application permissions any one of which grants it."""

    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Handler
    mailbox: bool
    roles: frozenset[str]


def _r(method: str, path: str, name: str, handler: Handler, mailbox: bool, *roles: str) -> Route:
    return Route(method, re.compile(f"^{path}$", re.IGNORECASE), name, handler, mailbox, frozenset(roles))


DIRECTORY = ("User.Read.All", "Directory.Read.All")
MAIL = ("Mail.ReadBasic.All", "Mail.Read")
CALENDAR = ("Calendars.ReadBasic.All", "Calendars.Read", "Calendars.ReadWrite")
DELTA = r"/delta(?:\(\))?"
ROUTES: tuple[Route, ...] = (
    _r("GET", "/users", "users", d.list_users, False, *DIRECTORY),
    _r("GET", USER, "user", d.get_user, False, *DIRECTORY),
    _r("GET", USER + "/manager", "manager", d.get_manager, False, *DIRECTORY),
    _r("GET", USER + "/directReports", "directReports", d.list_direct_reports, False, *DIRECTORY),
    _r("GET", USER + "/mailboxSettings", "mailboxSettings", d.get_mailbox_settings, True, *DIRECTORY, *MAIL),
    _r("GET", "/domains", "domains", d.list_domains, False, "Domain.Read.All", "Directory.Read.All"),
    _r("GET", "/organization", "organization", d.list_organization, False, "Organization.Read.All",
       "Directory.Read.All", "User.Read.All"),
    _r("GET", USER + "/mailFolders", "mailFolders", m.list_mail_folders, True, *MAIL),
    _r("GET", USER + "/mailFolders/(?P<folder>[^/]+)", "mailFolder", m.get_mail_folder, True, *MAIL),
    _r("GET", USER + "/mailFolders/(?P<folder>[^/]+)/childFolders", "childFolders", m.list_child_folders, True,
       *MAIL),
    _r("GET", USER + "/mailFolders/(?P<folder>[^/]+)/messages", "messages", m.list_messages, True, *MAIL),
    _r("GET", USER + "/mailFolders/(?P<folder>[^/]+)/messages" + DELTA, "messages.delta", m.message_delta, True,
       *MAIL),
    _r("GET", USER + "/calendarView", "calendarView", m.calendar_view, True, *CALENDAR),
    _r("GET", USER + "/calendarView" + DELTA, "calendarView.delta", m.calendar_delta, True, *CALENDAR),
    _r("POST", USER + "/events", "events.create", w.create_event, True, "Calendars.ReadWrite"),
    _r("GET", USER + "/todo/lists", "todo.lists", w.list_todo_lists, True, "Tasks.ReadWrite.All"),
    _r("POST", USER + "/todo/lists", "todo.lists.create", w.create_todo_list, True, "Tasks.ReadWrite.All"),
    _r("GET", USER + "/todo/lists/(?P<list>[^/]+)/tasks", "todo.tasks", w.list_tasks, True, "Tasks.ReadWrite.All"),
    _r("POST", USER + "/todo/lists/(?P<list>[^/]+)/tasks", "todo.tasks.create", w.create_task, True,
       "Tasks.ReadWrite.All"),
    _r("GET", USER + "/contacts", "contacts", c.list_contacts, True, "Contacts.Read", "Contacts.ReadWrite"),
    _r("POST", USER + "/contacts", "contacts.create", c.create_contact, True, "Contacts.ReadWrite"),
    _r("GET", USER + "/contacts/(?P<contact>[^/]+)", "contact", c.get_contact, True, "Contacts.Read",
       "Contacts.ReadWrite"),
    _r("GET", USER + "/teamwork/installedApps", "installedApps", w.list_installed_apps, False,
       "TeamsAppInstallation.ReadWriteForUser.All"),
    _r("POST", USER + "/teamwork/installedApps", "installedApps.create", w.install_app, False,
       "TeamsAppInstallation.ReadWriteForUser.All"),
)


def _match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    allowed = False
    for route in ROUTES:
        found = route.pattern.match(path)
        if found:
            if route.method == method:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
            allowed = True
    if allowed:
        raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request uri.")
    segment = path.rstrip("/").rsplit("/", 1)[-1]
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


@dataclass
class _Trace:
    """What the log needs to know about a request, filled in as the pipeline learns it."""

    endpoint: str = "unknown"
    mailbox: str | None = None


class Pipeline:
    """Serves requests against one ``EmulatorState``."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Answer one request from either transport."""
        state = self.state
        now = state.config.clock()
        request_id = str(uuid.UUID(int=state.rng.getrandbits(128), version=4))
        client_request_id = request.headers.get("client-request-id", request_id)
        trace = _Trace()
        try:
            login = LOGIN_PATH.match(request.path)
            if login:
                trace.endpoint = "login." + login.group("rest").split("/")[0]
                response = handle_login(state, request, unquote(login.group("tenant")), login.group("rest"))
            elif request.path.lower().startswith("/v1.0/"):
                response = await self._graph(request, now, request_id, client_request_id, trace)
            else:
                raise GraphError(404, "NotFound", f"No such endpoint: {request.path}")
        except GraphError as err:
            response = EmulatorResponse(err.status, error_body(err.code, err.message, request_id,
                                                               client_request_id, now),
                                        {"Content-Type": "application/json", **err.headers})
        response.headers.update({"request-id": request_id, "client-request-id": client_request_id,
                                 "x-ms-ags-diagnostic": '{"ServerInfo":{"DataCenter":"Emulator"}}'})
        self._record(request, response, now, trace.mailbox, trace.endpoint, request_id)
        return response

    async def _graph(self, request: EmulatorRequest, now: float, request_id: str, client_request_id: str,
                     trace: _Trace) -> EmulatorResponse:
        state = self.state
        path = request.path[len("/v1.0"):]
        if request.method == "POST" and path.lower() == "/$batch":
            state.authority.validate(request.headers.get("authorization"), now)
            trace.endpoint = "$batch"
            return await self._batch(request)
        if is_me(path):  # /me needs the token first: it names the user
            path = resolve_me(path, state.authority.validate(request.headers.get("authorization"), now))
        route, params = _match(request.method, path)
        trace.endpoint = route.name
        box = None
        if "user" in params:
            user = state.users_by_key.get(params["user"].lower())
            if user is None:
                if route.mailbox:
                    raise GraphError(404, "ErrorInvalidUser", f"The requested user '{params['user']}' is invalid.")
            else:
                box = state.mailboxes[user["id"]]
        mailbox = box.user_id if box is not None and route.mailbox else None
        trace.mailbox = mailbox
        is_delta_token = route.name.endswith(".delta") and bool(
            request.query.get("$skiptoken") or request.query.get("$deltatoken"))
        fault = state.faults.take(request.path, box.user_id if box else None, is_delta_token)
        if fault is not None:
            state.counters.faults += 1
            return self._fault_response(fault)
        claims = state.authority.validate(request.headers.get("authorization"), now)
        if is_delegated(claims):
            check_delegated(route.name, claims, box.user_id if box is not None else None)
        elif route.roles and not route.roles.intersection(claims.get("roles", ())):
            raise GraphError(403, "Authorization_RequestDenied" if not route.mailbox else "ErrorAccessDenied",
                             "Insufficient privileges to complete the operation." if not route.mailbox
                             else "Access is denied. Check credentials and try again.")
        ctx = Ctx(state, request, params, parse_prefer(request), now, request_id, client_request_id, box)
        if mailbox is None:
            await self._latency()
            return route.handler(ctx)
        state.limits.admit(mailbox, now)
        try:
            await self._latency()
            return route.handler(ctx)
        finally:
            state.limits.release(mailbox)

    async def _latency(self) -> None:
        if self.state.config.latency_s > 0:
            await self.state.config.sleep(self.state.config.latency_s)

    def _fault_response(self, fault: Any) -> EmulatorResponse:
        if fault.kind == "drop":
            return EmulatorResponse(0, drop=True)
        if fault.kind == "token":
            raise GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
        if fault.kind == "sync_state":
            raise GraphError(410, "syncStateNotFound",
                             "The sync state generation is not found or has expired. Please resync.")
        codes = {429: ("TooManyRequests", "Too many requests."),
                 503: ("ServiceUnavailable", "The service is temporarily unavailable."),
                 504: ("GatewayTimeout", "The gateway did not receive a timely response.")}
        code, message = codes[fault.http_status]
        headers = {"Retry-After": str(fault.retry_after_s)} if fault.retry_after_s is not None else {}
        raise GraphError(fault.http_status, code, message, headers)

    async def _batch(self, request: EmulatorRequest) -> EmulatorResponse:
        """``POST /$batch``: inner requests run concurrently through the whole pipeline (so each is faulted,
        throttled and logged on its own); with ``dependsOn`` anywhere they run in order."""
        payload = request.json()
        inner = payload.get("requests") if isinstance(payload, dict) else None
        if not isinstance(inner, list) or not inner:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        if len(inner) > MAX_BATCH:
            raise GraphError(400, "BadRequest", f"Number of batch requests exceeds the allowed limit of {MAX_BATCH}.")
        subs = [self._sub_request(request, r) for r in inner]
        if any(isinstance(r, dict) and r.get("dependsOn") for r in inner):
            answers = [await self.handle(s) for s in subs]
        else:
            answers = list(await asyncio.gather(*(self.handle(s) for s in subs)))
        out = []
        for spec, answer in zip(inner, answers, strict=True):
            body: Any = None
            if answer.drop:
                answer = EmulatorResponse(502, b'{"error":{"code":"BadGateway","message":"Connection closed."}}')
            if answer.body:
                body = json.loads(answer.body)
            out.append({"id": str(spec.get("id")), "status": answer.status, "headers": {
                k: v for k, v in answer.headers.items() if k in ("Retry-After", "Content-Type", "Location")},
                "body": body})
        return json_response(200, {"responses": out})

    @staticmethod
    def _sub_request(outer: EmulatorRequest, spec: Any) -> EmulatorRequest:
        if not isinstance(spec, dict) or not isinstance(spec.get("url"), str) or "id" not in spec:
            raise GraphError(400, "BadRequest", "Invalid batch payload format: each request needs id, method, url.")
        parts = urlsplit(spec["url"] if spec["url"].startswith("/") else "/" + spec["url"])
        headers = {str(k).lower(): str(v) for k, v in (spec.get("headers") or {}).items()}
        headers.setdefault("authorization", outer.headers.get("authorization", ""))
        body = spec.get("body")
        raw = b"" if body is None else (body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))).encode()
        return EmulatorRequest(str(spec.get("method", "GET")).upper(), "/v1.0" + parts.path,
                               dict(parse_qsl(parts.query, keep_blank_values=True)), headers, raw, outer.base_url)

    def _record(self, request: EmulatorRequest, response: EmulatorResponse, now: float, mailbox: str | None,
                endpoint: str, request_id: str) -> None:
        counters = self.state.counters
        counters.requests += 1
        counters.by_endpoint[endpoint] += 1
        counters.by_status[response.status] += 1
        if mailbox:
            counters.by_mailbox[mailbox] += 1
        if response.status == 429:
            counters.throttled += 1
        self.state.log.append(RequestRecord(now, request.method, request.path, response.status, mailbox,
                                            endpoint, request_id))


def make_handler(state: EmulatorState) -> Callable[[EmulatorRequest], Awaitable[EmulatorResponse]]:
    """The pipeline's entry point for a state."""
    return Pipeline(state).handle

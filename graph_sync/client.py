"""A typed async Graph client for one tenant: msgraph-sdk for URLs, auth and middleware; raw JSON for bodies.

Every request goes through msgraph-sdk: request builders produce the URLs, kiota's
``AzureIdentityAuthenticationProvider`` adds the token, the Graph middleware pipeline sends it. The response
body is handed back as bytes through a kiota ``ResponseHandler`` and parsed with ``json.loads`` into plain
dicts, because kiota model parsing costs ~4.6 ms per message (PLATFORM.md).

Retries are ours (see :mod:`graph_sync.throttle` for why): the pipeline is the SDK's default minus its
``RetryHandler`` (the sync's pipeline is leaner still, see :func:`build_service_client`), and :meth:`GraphClient.get_json` retries with :func:`~graph_sync.throttle.next_delay`, an
injected sleep, the per-mailbox concurrency limit and request budget, and raises :class:`Throttled` instead of
sleeping when the wait is at least ``max_retry_wait`` (the scheduler requeues the mailbox).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlparse

import httpx
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_abstractions.response_handler import ResponseHandler
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import (
    BaseMiddleware,
    ParametersNameDecodingHandler,
    RetryHandler,
    UserAgentHandler,
)
from kiota_http.middleware.options import (
    ParametersNameDecodingHandlerOption,
    ResponseHandlerOption,
    UrlReplaceHandlerOption,
)
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory, NationalClouds
from msgraph_core.middleware import GraphTelemetryHandler

from graph_sync.auth import AsyncCredential
from graph_sync.delta import expired_state_error
from graph_sync.errors import (
    AccessDenied,
    BadPage,
    BudgetExhausted,
    GraphError,
    GraphUnreachable,
    SyncStateExpired,
    Throttled,
    TransportFailed,
)
from graph_sync.normalise import MESSAGE_SELECT
from graph_sync.throttle import TRANSPORT_ERROR, MailboxBudget, next_delay
from graph_sync.transport import PooledTransport

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
USER_SELECT = ("id", "displayName", "mail", "userPrincipalName", "accountEnabled", "jobTitle", "department",
               "mailboxSettings")
DIRECTORY_KEY = "__directory__"  # limiter key for tenant-level (non-mailbox) requests
# Attempts of a request whose connection could not even be opened (refused, timed out) before it fails with
# GraphUnreachable: 0.5 + 1 + 2 + 4 s of backoff between them, enough for a proxy or load balancer that restarts.
CONNECT_ATTEMPTS = 5


@dataclass
class Limiter:
    """Concurrency limits and request budgets shared by every client of one worker."""

    global_limit: int
    per_mailbox: int
    budget: int
    budget_window: float = 600.0
    _global: asyncio.Semaphore | None = None
    _mailboxes: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _budgets: dict[str, MailboxBudget] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)

    def global_semaphore(self) -> asyncio.Semaphore:
        if self._global is None:  # created lazily, inside the running loop
            self._global = asyncio.Semaphore(self.global_limit)
        return self._global

    def mailbox(self, key: str) -> asyncio.Semaphore:
        sem = self._mailboxes.get(key)
        if sem is None:
            # Graph's 4-at-once limit is per mailbox (Outlook); tenant-level directory reads (domains, users,
            # $batch of managers) are not a mailbox's requests, so only the worker's global limit holds them back.
            limit = self.global_limit if key == DIRECTORY_KEY else self.per_mailbox
            sem = self._mailboxes[key] = asyncio.Semaphore(limit)
        return sem

    def budget_for(self, key: str) -> MailboxBudget:
        b = self._budgets.get(key)
        if b is None:
            b = self._budgets[key] = MailboxBudget(self.budget, self.budget_window)
        return b


# Whose request the current task is sending (a mailbox id or DIRECTORY_KEY): set by GraphClient around the SDK
# call, read by _LimitedTransport under it, so the limits hold the wire, not the SDK's work around it.
_LIMITED_BY = "rapport_limiter"  # attribute of an httpx client whose transport applies a Limiter
_REQUEST_FOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("rapport_graph_request_for",
                                                                          default=None)


class _LimitedTransport(httpx.AsyncBaseTransport):
    """The limiter's per-mailbox and global limits around the wire part of each request: from the moment the
    request goes to the connection pool until its response body has been read (the stream closed).

    Held around the whole SDK call instead, a slot also covered kiota's work before and after the wire — building
    the request from its RequestInformation, the token provider, middleware, tracing spans, the response handler
    (≈ 3 ms of CPU per request) — so a freed slot waited for the next request to get through all of that before
    it carried a request again. "In flight" is what Graph counts: requests it is serving."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limiter: Limiter) -> None:
        self._inner = inner
        self._limiter = limiter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = _REQUEST_FOR.get()
        if key is None:  # not a GraphClient request (none are sent otherwise)
            return await self._inner.handle_async_request(request)
        limiter = self._limiter
        mailbox, overall = limiter.mailbox(key), limiter.global_semaphore()
        await mailbox.acquire()
        try:
            await overall.acquire()
        except BaseException:
            mailbox.release()
            raise
        n = limiter.in_flight.get(key, 0) + 1
        limiter.in_flight[key] = n
        if n > limiter.max_in_flight.get(key, 0):
            limiter.max_in_flight[key] = n
        done = False

        def release() -> None:
            nonlocal done
            if not done:
                done = True
                limiter.in_flight[key] -= 1
                overall.release()
                mailbox.release()

        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            release()
            raise
        if isinstance(response.stream, httpx.ByteStream):
            release()  # the body is already in memory (an in-process transport): nothing more on the wire
        else:
            response.stream = _ReleasingStream(response.stream, release)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body stream that gives its request's slots back once read to the end or closed (httpx closes a
    response's stream whether it was read or abandoned)."""

    def __init__(self, inner: Any, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release = release

    async def __aiter__(self) -> Any:
        async for chunk in self._inner:
            yield chunk
        self._release()  # read to the end: the slot is free before the caller gets round to closing

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._release()


class _RawResponse(ResponseHandler):
    """Hands kiota's native httpx response back untouched (status, headers and body bytes)."""

    async def handle_response_async(self, response: Any, error_map: Any) -> Any:
        await response.aread()
        return response


class _Cookies(httpx.Cookies):
    """httpx's cookie jar, which runs every response through ``http.cookiejar`` (two urllib-compatible wrapper
    objects and a header scan, ~0.15 ms of CPU per request) even when it sets no cookie: here only a response
    that carries ``Set-Cookie`` goes through it (Graph sets none; the jar then stays empty, as it did)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _TelemetryHandler(GraphTelemetryHandler):  # type: ignore[misc]
    """msgraph's telemetry handler (``client-request-id``, ``SdkVersion``, … on Graph URLs), whose "is this a Graph
    URL?" check parsed the request's URL string again (urllib3) and rebuilt the set of national-cloud endpoints on
    every request. Here the answer comes from the URL httpx already parsed, once per scheme, host and port (httpx
    drops a default port, so an explicit ``:443`` on a Graph host counts as Graph, as it is)."""

    def __init__(self) -> None:
        super().__init__()
        self._graph: dict[tuple[str, str, int | None], bool] = {}

    def is_graph_url(self, url: Any) -> bool:
        if not isinstance(url, httpx.URL):
            return bool(super().is_graph_url(url))
        key = (url.scheme, url.host, url.port)
        known = self._graph.get(key)
        if known is None:
            netloc = url.host if url.port is None else f"{url.host}:{url.port}"
            known = self._graph[key] = f"{url.scheme}://{netloc}" in _GRAPH_ENDPOINTS
        return known


_GRAPH_ENDPOINTS = frozenset(cloud.value for cloud in NationalClouds)


@dataclass
class RequestStats:
    """Requests a client made, for ``sync status`` and the benchmark."""

    requests: int = 0
    retries: int = 0


def build_service_client(
    credential: AsyncCredential,
    graph_base_url: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 60.0,
    sync_pipeline: bool = False,
    limiter: Limiter | None = None,
) -> tuple[GraphServiceClient, httpx.AsyncClient]:
    """A ``GraphServiceClient`` for ``graph_base_url`` with the SDK's middleware minus its retry handler.

    ``sync_pipeline`` (the sync worker's clients) keeps only the handlers that act on the sync's requests:
    ``UserAgentHandler`` and ``GraphTelemetryHandler`` (``client-request-id``, ``SdkVersion``, which Microsoft
    support uses to trace a request). Dropped: the redirect handler (delta, ``calendarView``, ``users``,
    ``domains`` and ``$batch`` never redirect; a 3xx would surface as a :class:`GraphError`), the
    ``/users/me-token-to-replace`` → ``/me`` rewrite (the sync never addresses ``me``; the bot's delegated
    writes do and keep the full pipeline), the headers/body inspection handlers (they act only when a request
    carries their option, which the sync never sets) and parameter-name decoding, which
    :meth:`GraphClient._url` applies once when it builds an initial URL (stored links are replayed byte for
    byte, as PLATFORM.md asks). Each handler cost an OpenTelemetry span and a pass over the URL per request.

    ``limiter`` (required for a :class:`GraphClient`): its limits are applied at the transport, around the wire
    part of each request (:class:`_LimitedTransport`).
    """
    middleware: list[BaseMiddleware]
    if sync_pipeline:
        middleware = [UserAgentHandler()]
    else:
        # As msgraph's GraphRequestAdapter does by default: its `me` builder addresses /users/me-token-to-replace.
        me = UrlReplaceHandlerOption(enabled=True, replacement_pairs={"/users/me-token-to-replace": "/me"})
        middleware = [m for m in KiotaClientFactory.get_default_middleware({me.get_key(): me})
                      if not isinstance(m, RetryHandler)]
    middleware.append(_TelemetryHandler())
    if transport is None:
        # A TLS context costs ~50 ms of CPU to load; the emulator on plain http never needs one.
        ssl_context = httpx.create_ssl_context() if graph_base_url.startswith("https:") else None
        transport = PooledTransport(httpx.Limits(max_connections=256, max_keepalive_connections=64), ssl_context)
    if limiter is not None:
        transport = _LimitedTransport(transport, limiter)
    raw = httpx.AsyncClient(transport=transport, timeout=timeout)
    raw._cookies = _Cookies()  # the client keeps a cookie jar whatever is passed; this one skips no-op work
    http = GraphClientFactory.create_with_custom_middleware(middleware, client=raw)
    host = urlparse(graph_base_url).hostname or ""
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=[host])
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = graph_base_url.rstrip("/")
    if limiter is not None:
        setattr(http, _LIMITED_BY, limiter)  # what GraphClient checks: its limits are in this client's transport
    return GraphServiceClient(request_adapter=adapter), http


# Placeholders for the URL templates GraphClient caches: only unreserved characters, so a URI template expands
# them verbatim, and nothing a Graph URL contains otherwise.
_USER, _START, _END = "rapportuserplaceholder0", "rapportstartplaceholder0", "rapportendplaceholder0"
# A user id of only these characters is expanded verbatim by the template (GUIDs are), so substituting it into
# a cached URL gives the builder's bytes; any other id goes through the request builder.
_VERBATIM = re.compile(r"[A-Za-z0-9._~-]+")
_DECODE = ParametersNameDecodingHandler()
_DECODE_CHARS = ParametersNameDecodingHandlerOption().characters_to_decode


class GraphClient:
    """Graph for one tenant: URLs from the SDK's request builders, pages as parsed JSON, retries and limits."""

    def __init__(
        self,
        service: GraphServiceClient,
        credential: AsyncCredential,
        http: httpx.AsyncClient,
        limiter: Limiter,
        *,
        page_size: int = 1000,
        max_retry_wait: float = 180.0,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        tenant: str = "",
    ) -> None:
        if getattr(http, _LIMITED_BY, None) is not limiter:
            # the limits live in the transport: a client built without them would send without any
            raise ValueError("GraphClient needs a client from build_service_client(..., limiter=<the same limiter>)")
        self.service = service
        self._credential = credential
        self._http = http
        self._limiter = limiter
        self.page_size = page_size
        self._max_wait = max_retry_wait
        self._sleep = sleep
        self._clock = clock
        self._monotonic = monotonic
        self._rng = rng or random.Random(0)
        self.stats = RequestStats()
        self._templates: dict[tuple[str, ...], str] = {}
        self._tenant = tenant  # named in the warnings, which an admin reads without the log's context
        # Origins (scheme://host:port) a connection to which failed and has not succeeded since: warned about once.
        self._unreachable: set[str] = set()

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._credential.close()

    # --- URLs (built by the SDK's request builders) ------------------------------------------------------------

    def _prefer(self, config: RequestConfiguration[Any]) -> RequestConfiguration[Any]:
        config.headers.add("Prefer", 'IdType="ImmutableId"')
        config.headers.add("Prefer", f"odata.maxpagesize={self.page_size}")
        return config

    def _url(self, info: RequestInformation) -> str:
        # The adapter fills {+baseurl} only when it sends; resolve it now to store a complete URL. Query
        # parameter names are decoded here (%24select -> $select), as kiota's ParametersNameDecodingHandler
        # would on every send: the sync's pipeline leaves that handler out.
        info.path_parameters["baseurl"] = self.service.request_adapter.base_url
        url = str(info.url)
        base, sep, query = url.partition("?")
        return base + sep + _DECODE.decode_uri_encoded_string(query, _DECODE_CHARS) if sep else url

    def _templated(self, key: tuple[str, ...], build: Callable[..., str], user_id: str, *args: str) -> str:
        """``build(user_id, *args)``, from a URL the builder made once per ``key`` with placeholders.

        Expanding the SDK's URI template costs ~1 ms of CPU per URL, and every round of every resource needs its
        initial URL. The placeholders are substituted with what the template would produce (``args`` are
        already percent-encoded); a user id the template would encode goes through the builder itself.
        """
        if not _VERBATIM.fullmatch(user_id):
            return build(user_id, *args)
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = build(_USER, *(_START, _END)[:len(args)])
        url = template.replace(_USER, user_id)
        for placeholder, value in zip((_START, _END), args, strict=False):
            url = url.replace(placeholder, value)
        return url

    def messages_delta_url(self, user_id: str, folder: str) -> str:
        """Initial URL of a message delta round on one folder, metadata properties only."""
        if folder not in ("inbox", "sentitems"):  # a discovered folder: one URL shape per folder is not worth keeping
            return self._messages_delta_url(user_id, folder)
        return self._templated(("messages", folder), lambda uid: self._messages_delta_url(uid, folder), user_id)

    def _messages_delta_url(self, user_id: str, folder: str) -> str:
        b = self.service.users.by_user_id(user_id).mail_folders.by_mail_folder_id(folder).messages.delta
        qp = b.DeltaRequestBuilderGetQueryParameters(select=list(MESSAGE_SELECT))
        return self._url(b.to_get_request_information(RequestConfiguration(query_parameters=qp)))

    def events_delta_url(self, user_id: str, start: datetime, end: datetime) -> str:
        """Initial URL of a calendarView delta round over ``[start, end)`` (delta takes no ``$select``)."""
        return self._templated(("events",), self._events_delta_url, user_id, _iso_query(start), _iso_query(end))

    def _events_delta_url(self, user_id: str, start: str, end: str) -> str:
        b = self.service.users.by_user_id(user_id).calendar_view.delta
        qp = b.DeltaRequestBuilderGetQueryParameters(start_date_time=_unquote_iso(start), end_date_time=_unquote_iso(end))
        return self._url(b.to_get_request_information(RequestConfiguration(query_parameters=qp)))

    def calendar_view_url(self, user_id: str, start: datetime, end: datetime) -> str:
        """First page of a plain ``calendarView`` listing (range polling without Calendars.Read)."""
        b = self.service.users.by_user_id(user_id).calendar_view
        qp = b.CalendarViewRequestBuilderGetQueryParameters(start_date_time=_iso(start), end_date_time=_iso(end))
        return self._url(b.to_get_request_information(RequestConfiguration(query_parameters=qp)))

    def users_url(self) -> str:
        b = self.service.users
        qp = b.UsersRequestBuilderGetQueryParameters(select=list(USER_SELECT), top=999)
        return self._url(b.to_get_request_information(RequestConfiguration(query_parameters=qp)))

    def domains_url(self) -> str:
        return self._url(self.service.domains.to_get_request_information())

    def batch_url(self) -> str:
        """JSON batching endpoint (up to 20 requests per POST)."""
        return str(self.service.request_adapter.base_url).rstrip("/") + "/$batch"

    # Mail folder discovery (sync_all_folders, graph_sync.folders): rare requests, built without a cache.

    def mail_folders_url(self, user_id: str, parent: str | None = None) -> str:
        """First page of the folders directly under the root (``parent`` None) or under folder ``parent``."""
        folders = self.service.users.by_user_id(user_id).mail_folders
        if parent is None:
            qp: Any = folders.MailFoldersRequestBuilderGetQueryParameters(top=100)
            return self._url(folders.to_get_request_information(RequestConfiguration(query_parameters=qp)))
        children = folders.by_mail_folder_id(parent).child_folders
        qp = children.ChildFoldersRequestBuilderGetQueryParameters(top=100)
        return self._url(children.to_get_request_information(RequestConfiguration(query_parameters=qp)))

    def mail_folder_url(self, user_id: str, folder: str) -> str:
        """One folder, by id or well-known name (``deleteditems``)."""
        b = self.service.users.by_user_id(user_id).mail_folders.by_mail_folder_id(folder)
        return self._url(b.to_get_request_information())

    # --- sending -----------------------------------------------------------------------------------------------

    def _request(self, url: str, *, events: bool, paged: bool, body: bytes | None = None) -> RequestInformation:
        # A stored link is replayed byte for byte (PLATFORM.md). The RequestInformation is built directly: going
        # through a request builder's ``with_url`` re-runs the generated code's lazy imports on every request,
        # which measured ~4 ms of CPU per request.
        info = RequestInformation(Method.GET if body is None else Method.POST)
        info.url = url
        info.headers.try_add("Accept", "application/json")
        info.headers.add("Prefer", 'IdType="ImmutableId"')
        if paged:
            # The page size setting is for a mailbox's delta pages only. On ``/users`` the preference would
            # override the URL's ``$top=999`` (Graph honours it there too), so a small delta page size turned
            # the directory read into U/page_size sequential requests; ``domains`` and ``$batch`` are not paged.
            info.headers.add("Prefer", f"odata.maxpagesize={self.page_size}")
        if body is not None:
            info.set_stream_content(body, "application/json")
        if events:
            info.headers.add("Prefer", 'outlook.timezone="UTC"')
        info.add_request_options([ResponseHandlerOption(_RawResponse())])
        return info

    async def get_json(self, url: str, *, mailbox: str = DIRECTORY_KEY, events: bool = False,
                       body: Mapping[str, Any] | None = None) -> Any:
        """GET (or POST ``body`` to) ``url`` and return the parsed JSON body, retrying what can be retried."""
        payload = json.dumps(body).encode() if body is not None else None
        attempt = 0
        auth_retried = False
        budget = self._limiter.budget_for(mailbox)
        while True:
            wait = budget.reserve(self._monotonic())
            if wait > 0:
                raise BudgetExhausted(mailbox, wait)
            status, headers, content, failure = await self._send(url, mailbox, events, payload,
                                                                  mailbox != DIRECTORY_KEY)
            attempt += 1
            if self._unreachable and status != TRANSPORT_ERROR:
                self._reachable_again()
            if status == 200:
                try:
                    return json.loads(content)
                except (ValueError, UnicodeDecodeError) as err:
                    # A truncated transfer looks like this too: retry like a dropped connection, then give up.
                    if attempt >= 3:
                        raise BadPage(url, f"malformed JSON: {err}") from err
                    self.stats.retries += 1
                    continue
            code, message = _error_of(content)
            if status != TRANSPORT_ERROR and expired_state_error(status, code):
                raise SyncStateExpired(status, code, message, url)
            if status == 401 and not auth_retried:
                auth_retried = True  # the token expired early: fetch a new one once
                invalidate = getattr(self._credential, "invalidate", None)
                if callable(invalidate):
                    invalidate()
                continue
            if status in (401, 403):
                raise AccessDenied(status, code, message, url)
            unreachable = isinstance(failure, (httpx.ConnectError, httpx.ConnectTimeout))
            if unreachable and attempt >= CONNECT_ATTEMPTS:
                # No connection at all, several times over a few seconds: the host is down or not there, for every
                # mailbox of the tenant alike. The worker stops the tenant's pass and the next pass tries again;
                # retrying for minutes here held up every other tenant's pass behind this one.
                assert isinstance(failure, httpx.TransportError)
                raise GraphUnreachable(_origin(str(_failed_url(failure) or url)), _connect_reason(failure))
            delay = next_delay(attempt, status, headers, self._clock(), jitter=self._rng.random() * 0.2)
            if delay is None:
                if status == TRANSPORT_ERROR:
                    raise TransportFailed(url, message)
                if status in (429, 503, 504):
                    raise Throttled(status, code, message, url, retry_after=60.0)
                raise GraphError(status, code, message, url)
            if delay >= self._max_wait:
                if status == TRANSPORT_ERROR:  # a backoff, not a Retry-After: no answer is not throttling
                    raise TransportFailed(url, message)
                raise Throttled(status, code, message, url, retry_after=delay)
            self.stats.retries += 1
            if unreachable:
                assert isinstance(failure, httpx.TransportError)
                self._warn_unreachable(url, failure)
            log.debug("retry %s after %.2f s (HTTP %s, attempt %d)", url, delay, status, attempt)
            await self._sleep(delay)

    def _warn_unreachable(self, url: str, err: httpx.TransportError) -> None:
        """Warn once that a host cannot be connected to, when the first connection to it fails.

        Retries of a refused or timed-out connection take minutes before the tenant's error (up to
        ``DEFAULT_MAX_ATTEMPTS`` attempts, backing off to a minute), and an admin who typed a wrong URL or port
        must not wait that long in silence; but every retry of every request warning again would bury the
        rest. The host is named as the request saw it: Graph's base URL, or the token endpoint when that is
        what failed (the token is fetched inside the request).
        """
        failed = _failed_url(err) or httpx.URL(url)
        origin = f"{failed.scheme}://{failed.netloc.decode('ascii')}"
        if origin in self._unreachable:
            return
        self._unreachable.add(origin)
        base = str(self.service.request_adapter.base_url)
        where = f"Graph at {base}" if _origin(base) == origin else f"{origin}{failed.path}"
        tenant = f" for tenant {self._tenant}" if self._tenant else ""
        log.warning("cannot reach %s%s: %s; retrying", where, tenant, _connect_reason(err))

    def _reachable_again(self) -> None:
        """An HTTP answer came back: a host that could not be reached is warned about again if it fails again."""
        log.info("Graph answered again%s (connections to %s had failed)",
                 f" for tenant {self._tenant}" if self._tenant else "", ", ".join(sorted(self._unreachable)))
        self._unreachable.clear()

    async def get_collection(self, url: str, *, mailbox: str = DIRECTORY_KEY) -> list[Mapping[str, Any]]:
        """Every item of a collection (``value`` arrays, following ``@odata.nextLink``); a page that is not a
        collection raises :class:`BadPage`, items that are not objects are skipped."""
        items: list[Mapping[str, Any]] = []
        next_url: str | None = url
        while next_url:
            page = await self.get_json(next_url, mailbox=mailbox)
            if not isinstance(page, Mapping) or not isinstance(page.get("value"), list):
                raise BadPage(next_url, "not a collection page")
            items.extend(v for v in page["value"] if isinstance(v, Mapping))
            link = page.get("@odata.nextLink")
            next_url = link if isinstance(link, str) and link else None
        return items

    async def _send(self, url: str, mailbox: str, events: bool, payload: bytes | None,
                    paged: bool) -> tuple[int, Mapping[str, str], bytes, httpx.TransportError | None]:
        # The limits are applied by the client's transport around the wire (_LimitedTransport): it reads whose
        # request this is from the context. A request that got no answer comes back as TRANSPORT_ERROR with
        # its exception, which says whether the connection itself failed.
        token = _REQUEST_FOR.set(mailbox)
        self.stats.requests += 1
        try:
            info = self._request(url, events=events, paged=paged, body=payload)
            adapter: Any = self.service.request_adapter
            response = await adapter.send_primitive_async(info, "bytes", None)
            assert isinstance(response, httpx.Response)
            return response.status_code, response.headers, response.content, None
        except httpx.TransportError as err:
            return TRANSPORT_ERROR, {}, str(err).encode() or type(err).__name__.encode(), err
        finally:
            _REQUEST_FOR.reset(token)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_query(moment: datetime) -> str:
    """:func:`_iso` as the URI template expands a query value (``:`` → ``%3A``)."""
    return quote(_iso(moment), safe="")


def _unquote_iso(value: str) -> str:
    return value if value in (_START, _END) else value.replace("%3A", ":")


def _failed_url(err: httpx.TransportError) -> httpx.URL | None:
    try:
        return err.request.url
    except RuntimeError:  # an error raised without its request (httpx sets it on the ones it raises)
        return None


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode('ascii')}"


def _connect_reason(err: httpx.TransportError) -> str:
    """Why a connection failed, in the system's words where it gave some ("connection refused", "name or service
    not known"), rather than httpx's ("[Errno 111] Connect call failed ('127.0.0.1', 9)")."""
    if isinstance(err, httpx.ConnectTimeout):
        return "connection timed out"
    cause: BaseException | None = err
    for _ in range(8):  # the chain is httpx's error, httpcore's, then the OSError; bounded against cycles
        if cause is None:
            break
        if isinstance(cause, OSError) and cause.errno:
            text = os.strerror(cause.errno) if cause.errno > 0 else (cause.strerror or "")
            if text:
                return text[:1].lower() + text[1:]
        cause = cause.__cause__ or cause.__context__
    return str(err) or type(err).__name__


def _error_of(content: bytes) -> tuple[str, str]:
    """Graph's error ``code`` and ``message`` from an error body (or what can be salvaged of it)."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return "", content[:200].decode("utf-8", "replace")
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return str(err.get("code") or ""), str(err.get("message") or "")
    return "", ""

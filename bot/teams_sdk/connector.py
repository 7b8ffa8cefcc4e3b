"""Outbound Bot Connector clients built once per process instead of once per turn.

botbuilder 4.17.1 builds, on **every** turn, a new ``ConnectorClient`` (a fresh ``requests`` session; msrest's
retry configuration alone costs a list scan of ~500k comparisons, 5–20 ms of CPU on the event loop), a new
``UserTokenClient`` (the same cost again) and new credentials (a new MSAL application, hence a token request
to Entra ID per turn in production). Each reply then goes out through ``requests`` in the event loop's default
thread pool, and the token is read synchronously on the event loop.

:class:`CachingAuthentication` wraps the SDK's authentication and hands the adapter connector clients cached per
(app id, service URL, audience): one set of credentials per (app id, audience), replies sent through one shared
aiohttp session (keep-alive, no thread hop), and the bearer token cached until shortly before it expires and
fetched off the event loop (:class:`TokenCache`). Nothing about *what* is sent or authenticated changes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import aiohttp
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    ServiceClientCredentialsFactory,
    UserTokenClient,
)
from msrest.pipeline import Request, Response
from msrest.pipeline.aiohttp import AioHTTPSender as PipelineAioHTTPSender
from msrest.pipeline.async_abc import AsyncHTTPPolicy, AsyncPipeline
from msrest.pipeline.universal import RawDeserializer
from msrest.universal_http.aiohttp import AioHttpClientResponse
from msrest.universal_http.aiohttp import AioHTTPSender as AioHTTPDriver
from yarl import URL

from bot.teams_sdk.auth import AuthEndpoints
from bot.teams_sdk.translate import RenderedCard

log = logging.getLogger(__name__)

MAX_CLIENTS = 256  # (app id, service URL, audience) triples kept; Teams uses a handful of regional service URLs
TOKEN_MARGIN_SECONDS = 300.0  # refresh a token this long before it expires
TOKEN_FALLBACK_SECONDS = 300.0  # how long to keep a token whose expiry cannot be read
SEND_TIMEOUT = aiohttp.ClientTimeout(total=30)
VALIDATED_TOKENS = 10_000  # inbound tokens remembered as valid (LRU)
VALIDATED_TTL_SECONDS = 300.0  # at most this long (and never past the token's expiry)



def _expiry_of(token: str) -> float | None:
    """The ``exp`` claim of a JWT (unverified: it is our own token, read only to know when to refresh it)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if isinstance(exp, int | float) else None


class TokenCache:
    """Bearer tokens per credentials object, refreshed off the event loop, one refresh at a time per credential."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._tokens: dict[int, tuple[str, float]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def token(self, credentials: Any) -> str | None:
        """The token to send, or None when these credentials send none (authentication disabled)."""
        app_id = getattr(credentials, "microsoft_app_id", None)
        if not app_id or app_id == AuthenticationConstants.ANONYMOUS_SKILL_APP_ID:
            return None
        key = id(credentials)
        cached = self._tokens.get(key)
        if cached is not None and self._clock() < cached[1]:
            return cached[0]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached is not None and self._clock() < cached[1]:
                return cached[0]
            # MSAL (and managed identity) may call Entra ID: a blocking request, so not on the event loop.
            token = str(await asyncio.to_thread(credentials.get_access_token))
            exp = _expiry_of(token)
            now = self._clock()
            until = now + TOKEN_FALLBACK_SECONDS if exp is None else max(now, exp - TOKEN_MARGIN_SECONDS)
            self._tokens[key] = (token, until)
            return token

    def forget(self, credentials: Any) -> None:
        self._tokens.pop(id(credentials), None)


class _BearerPolicy(AsyncHTTPPolicy[Any, Any]):
    """Adds the bot's bearer token; a 401 from the connector drops the cached token so the next send refetches."""

    def __init__(self, credentials: Any, tokens: TokenCache) -> None:
        super().__init__()
        self._credentials = credentials
        self._tokens = tokens

    async def send(self, request: Request[Any], **kwargs: Any) -> Response[Any, Any]:
        token = await self._tokens.token(self._credentials)
        if token is not None:
            request.http_request.headers["Authorization"] = f"Bearer {token}"
        assert self.next is not None  # the pipeline links every policy to the next one or the sender
        response = await self.next.send(request, **kwargs)
        if token is not None and getattr(response.http_response, "status_code", None) == 401:
            self._tokens.forget(self._credentials)
        return response


class _SharedSessionDriver(AioHTTPDriver):
    """An msrest HTTP driver over an aiohttp session it does not own (the session lives as long as the process).

    msrest's own aiohttp driver drops the request's headers and body, so ``send`` is ours. The URL is passed as
    already encoded: the connector path carries percent-encoded conversation ids (``a%3A…``) that must stay so.
    """

    def __init__(self, session: aiohttp.ClientSession) -> None:  # no super().__init__: it opens its own session
        self._session = session

    async def __aenter__(self) -> _SharedSessionDriver:
        return self

    async def __aexit__(self, *exc_details: Any) -> None:
        return None

    async def send(self, request: Any, **config: Any) -> AioHttpClientResponse:
        if request.files:
            raise ValueError("multipart uploads are not sent through the shared connector session")
        result = await self._session.request(request.method, URL(request.url, encoded=True),
                                             headers=request.headers, data=request.data)
        response = AioHttpClientResponse(request, result)
        await response.load_body()
        return response


class _CardBodySerializer:
    """msrest's serializer, except that attachment content that is already plain JSON (our Adaptive Cards) is put
    into the body as it is instead of being walked value by value (msrest's generic ``object`` serialisation of a
    health card costs several milliseconds of event-loop CPU per reply). The bytes sent are the same."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def body(self, data: Any, data_type: str, **kwargs: Any) -> Any:
        attachments = getattr(data, "attachments", None) if data_type == "Activity" else None
        if not attachments or not all(isinstance(a, RenderedCard) or _plain_json(a.content) for a in attachments):
            return self._inner.body(data, data_type, **kwargs)
        contents = [a.content for a in attachments]
        try:
            for a in attachments:
                a.content = None
            body = self._inner.body(data, data_type, **kwargs)
        finally:
            for a, content in zip(attachments, contents, strict=True):
                a.content = content
        for item, content in zip(body.get("attachments") or [], contents, strict=True):
            item["content"] = content
        return body


def _plain_json(value: Any, depth: int = 0) -> bool:
    """True for dicts / lists of str, int, float, bool and None only (what msrest would copy unchanged)."""
    if depth > 64:
        return False
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_json(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_json(v, depth + 1) for v in value)
    return False


class ConnectorClients:
    """Connector clients and credentials of one process, built on first use and kept (LRU-bounded)."""

    def __init__(self, endpoints: AuthEndpoints, credential_factory: ServiceClientCredentialsFactory, *,
                 validate_authority: bool = True, tokens: TokenCache | None = None) -> None:
        self._endpoints = endpoints
        self._credential_factory = credential_factory
        self._validate_authority = validate_authority
        self._tokens = tokens or TokenCache()
        self._credentials: dict[tuple[str, str], Any] = {}
        self._clients: OrderedDict[tuple[str, str, str], ConnectorClient] = OrderedDict()
        self._user_token_clients: dict[str, UserTokenClient] = {}
        self._session: aiohttp.ClientSession | None = None

    @property
    def endpoints(self) -> AuthEndpoints:
        return self._endpoints

    async def credentials(self, app_id: str, audience: str | None) -> Any:
        scope = audience or self._endpoints.oauth_scope
        key = (app_id, scope)
        creds = self._credentials.get(key)
        if creds is None:
            creds = await self._credential_factory.create_credentials(
                app_id, scope, self._endpoints.login_url, self._validate_authority)
            self._credentials[key] = creds
        return creds

    def _shared_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=SEND_TIMEOUT)
        return self._session

    async def connector(self, app_id: str, service_url: str, audience: str | None) -> ConnectorClient:
        key = (app_id, service_url, audience or "")
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        credentials = await self.credentials(app_id, audience)
        client = ConnectorClient(credentials, base_url=service_url)
        config = client.config
        config.add_user_agent(f"Microsoft-BotFramework/3.1 (Rapport; botbuilder {_sdk_version()})")
        config.pipeline = AsyncPipeline(
            [config.user_agent_policy, _BearerPolicy(credentials, self._tokens), RawDeserializer(),
             config.http_logger_policy],
            PipelineAioHTTPSender(_SharedSessionDriver(self._shared_session())))
        client.conversations._serialize = _CardBodySerializer(client.conversations._serialize)
        self._clients[key] = client
        while len(self._clients) > MAX_CLIENTS:
            self._clients.popitem(last=False)
        return client

    async def user_token_client(self, inner: BotFrameworkAuthentication,
                                claims_identity: ClaimsIdentity) -> UserTokenClient:
        app_id = app_id_of(claims_identity) or ""
        client = self._user_token_clients.get(app_id)
        if client is None:
            client = await inner.create_user_token_client(claims_identity)
            self._user_token_clients[app_id] = client
        return client

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._clients.clear()


def _sdk_version() -> str:
    from botframework.connector.about import __version__

    return str(__version__)


def app_id_of(claims_identity: ClaimsIdentity | None) -> str | None:
    """The bot's app id a request was addressed to (audience claim; the emulator puts it in ``appid``)."""
    if claims_identity is None:
        return None
    app_id = claims_identity.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
    if app_id is None:
        app_id = claims_identity.get_claim_value(AuthenticationConstants.APP_ID_CLAIM)
    return str(app_id) if app_id else None


class _CachedConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    def __init__(self, clients: ConnectorClients, app_id: str | None) -> None:
        self._clients = clients
        self._app_id = app_id or ""

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        return await self._clients.connector(self._app_id, service_url, audience)


class CachingAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """The SDK's authentication (unchanged checks) with connector and user-token clients from :class:`ConnectorClients`."""

    def __init__(self, inner: BotFrameworkAuthentication, clients: ConnectorClients, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._inner = inner
        self.clients = clients
        self._clock = clock
        self._validated: OrderedDict[tuple[str, str, str], tuple[float, ClaimsIdentity, Any, Any]] = OrderedDict()

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        """The SDK's checks, remembered per (token, channel, service URL) until the token expires (≤ 5 minutes).

        The channel sends the same token with every activity for about an hour; validating it again each time
        (an RSA verification plus PyJWT's and botframework's repeated decoding, 3–10 ms of event-loop CPU)
        changes nothing: the outcome depends only on the token, the channel, the service URL, the signing keys
        (re-read within the 5-minute bound) and the clock (the ``exp`` bound). Failures are never remembered.
        """
        key = (auth_header, str(activity.channel_id or ""), str(activity.service_url or "")) if auth_header else None
        now = self._clock()
        if key is not None:
            hit = self._validated.get(key)
            if hit is not None and now < hit[0]:
                self._validated.move_to_end(key)
                return self._result(hit[1], hit[2], hit[3])
        result = await self._inner.authenticate_request(activity, auth_header)
        identity = result.claims_identity
        exp = identity.claims.get("exp") if identity is not None and identity.is_authenticated else None
        if key is not None and isinstance(exp, int | float) and exp > now:
            self._validated[key] = (min(float(exp), now + VALIDATED_TTL_SECONDS), identity, result.audience,
                                    result.caller_id)
            while len(self._validated) > VALIDATED_TOKENS:
                self._validated.popitem(last=False)
        if result.connector_factory is not None:
            result.connector_factory = _CachedConnectorFactory(self.clients, app_id_of(identity))
        return result

    def _result(self, identity: ClaimsIdentity, audience: Any, caller_id: Any) -> AuthenticateRequestResult:
        result = AuthenticateRequestResult()
        result.claims_identity = identity
        result.audience = audience
        result.caller_id = caller_id
        result.connector_factory = _CachedConnectorFactory(self.clients, app_id_of(identity))
        return result

    async def authenticate_streaming_request(self, auth_header: str,
                                             channel_id_header: str) -> AuthenticateRequestResult:
        result = await self._inner.authenticate_streaming_request(auth_header, channel_id_header)
        if result.connector_factory is not None:
            result.connector_factory = _CachedConnectorFactory(self.clients, app_id_of(result.claims_identity))
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _CachedConnectorFactory(self.clients, app_id_of(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        return await self.clients.user_token_client(self._inner, claims_identity)

    def create_bot_framework_client(self) -> Any:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return str(self._inner.get_originating_audience())

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)

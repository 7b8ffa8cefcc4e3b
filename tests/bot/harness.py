"""Loopback stand-ins for the Bot Framework's cloud side, each served from its own thread.

* :class:`TokenIssuer`: RS256 keys, OpenID metadata and JWKS (with the ``msteams`` endorsement), a token
  endpoint for the bot's outbound calls, and helpers that mint channel tokens, good or bad.
* :class:`FakeConnector`: a Bot Connector that records every activity the bot sends (replies and proactive
  sends) and can answer with scripted statuses (429 …).

They run in threads because botframework-connector refreshes signing keys with a blocking ``requests.get``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import requests
from botframework.connector.auth import AppCredentials, ServiceClientCredentialsFactory
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.teams_sdk.auth import AuthEndpoints

APP_ID = "a1b2c3d4-0000-4000-8000-00000000b07a"
CHANNEL_ISSUER = "https://api.botframework.com"


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _send_json(handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(data)


class _IssuerHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        issuer: TokenIssuer = self.server.owner.issuer  # type: ignore[attr-defined]
        if self.path == "/.well-known/openid-configuration":
            _send_json(self, 200, {"issuer": CHANNEL_ISSUER, "jwks_uri": issuer.url + "/keys",
                                   "id_token_signing_alg_values_supported": ["RS256"]})
        elif self.path == "/keys":
            _send_json(self, 200, {"keys": [issuer.jwk]})
        else:
            _send_json(self, 404, {})

    def do_POST(self) -> None:
        issuer: TokenIssuer = self.server.owner.issuer  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        if self.path == "/token":
            issuer.outbound_tokens += 1
            token = issuer.mint(audience=CHANNEL_ISSUER, service_url=None)
            _send_json(self, 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
        else:
            _send_json(self, 404, {})


class TokenIssuer:
    """An OpenID issuer on loopback that signs Bot Framework channel tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "rapport-test-" + uuid.uuid4().hex[:8]
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwk = {**jwk, "kid": self.kid, "use": "sig", "endorsements": ["msteams", "emulator"]}
        self.outbound_tokens = 0
        self._server = _Server(_IssuerHandler)
        self._server.issuer = self  # type: ignore[attr-defined]
        self.url = self._server.url

    def endpoints(self) -> AuthEndpoints:
        return AuthEndpoints(
            channel_token_issuer=CHANNEL_ISSUER,
            channel_openid_metadata_url=self.url + "/.well-known/openid-configuration",
            emulator_openid_metadata_url=self.url + "/.well-known/openid-configuration",
            login_url=self.url + "/tenant",
            oauth_scope=CHANNEL_ISSUER,
            oauth_url=self.url,
        )

    def mint(self, *, audience: str = APP_ID, service_url: str | None, expires_in: int = 3600,
             forged: bool = False, issuer: str = CHANNEL_ISSUER) -> str:
        now = int(time.time())  # PyJWT checks expiry against the real clock
        claims: dict[str, Any] = {"iss": issuer, "aud": audience, "nbf": now - 60, "iat": now - 60,
                                  "exp": now + expires_in}
        if service_url is not None:
            claims["serviceurl"] = service_url
        key = self.other_key if forged else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    def close(self) -> None:
        self._server.close()


@dataclass
class Sent:
    """One request the bot made to the connector."""

    method: str
    path: str
    authorization: str | None
    body: dict[str, Any]


class _ConnectorHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        connector: FakeConnector = self.server.owner.connector  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length) if length else b"{}"
        body = json.loads(raw or b"{}")
        with connector.lock:
            scripted = connector.script.pop(0) if connector.script else None
            if scripted is None or scripted < 400:
                connector.sent.append(Sent(self.command, self.path, self.headers.get("Authorization"), body))
        if scripted is not None and scripted >= 400:
            _send_json(self, scripted, {"error": {"code": "Throttled", "message": "scripted"}},
                       {"Retry-After": "1"} if scripted == 429 else None)
            return
        _send_json(self, 200, {"id": "reply-" + uuid.uuid4().hex[:8]})

    do_POST = _handle
    do_PUT = _handle


@dataclass
class FakeConnector:
    """Records what the bot sends; ``script`` holds statuses to answer with, in order, before the normal 200s."""

    sent: list[Sent] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._server = _Server(_ConnectorHandler)
        self._server.connector = self  # type: ignore[attr-defined]
        self.url = self._server.url + "/"

    def activities(self) -> list[dict[str, Any]]:
        with self.lock:
            return [s.body for s in self.sent]

    def clear(self) -> None:
        with self.lock:
            self.sent.clear()

    def close(self) -> None:
        self._server.close()


class _IssuerCredentials(AppCredentials):
    def __init__(self, issuer: TokenIssuer) -> None:
        super().__init__(app_id=APP_ID, oauth_scope=CHANNEL_ISSUER)
        self._issuer = issuer

    def get_access_token(self, force_refresh: bool = False) -> str:
        response = requests.post(self._issuer.url + "/token", data={"grant_type": "client_credentials"}, timeout=5)
        response.raise_for_status()
        return str(response.json()["access_token"])


class IssuerCredentialFactory(ServiceClientCredentialsFactory):
    """Outbound credentials for :data:`APP_ID` whose tokens come from the loopback issuer."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self._issuer = issuer

    async def is_valid_app_id(self, app_id: str) -> bool:
        return app_id == APP_ID

    async def is_authentication_disabled(self) -> bool:
        return False

    async def create_credentials(self, app_id: str, oauth_scope: str, login_endpoint: str,
                                 validate_authority: bool) -> Any:
        if app_id != APP_ID:
            raise PermissionError("invalid app id")
        return _IssuerCredentials(self._issuer)


def activity(text: str = "help", *, service_url: str, tenant_id: str, user_aad_id: str,
             conversation_id: str = "a:personal-1", locale: str = "en-US", kind: str = "message",
             **extra: Any) -> dict[str, Any]:
    """Raw Teams Activity JSON as the channel posts it."""
    body: dict[str, Any] = {
        "type": kind,
        "id": uuid.uuid4().hex,
        "timestamp": "2026-11-02T09:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": "29:" + user_aad_id, "name": "User", "aadObjectId": user_aad_id},
        "conversation": {"id": conversation_id, "conversationType": "personal", "tenantId": tenant_id},
        "recipient": {"id": "28:" + APP_ID, "name": "Rapport"},
        "locale": locale,
        "channelData": {"tenant": {"id": tenant_id}},
    }
    if kind == "message":
        body["text"] = text
    body.update(extra)
    return body

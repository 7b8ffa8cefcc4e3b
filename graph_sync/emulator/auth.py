"""Registered apps, RS256 access tokens, and bearer-token validation against the emulator's own key."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from graph_sync.emulator.errors import GraphError

GRAPH_AUDIENCE = "https://graph.microsoft.com"
GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"

ALL_ROLES: tuple[str, ...] = (
    "User.Read.All", "Directory.Read.All", "Domain.Read.All", "Organization.Read.All",
    "Mail.ReadBasic.All", "Mail.Read", "Calendars.ReadBasic.All", "Calendars.Read", "Calendars.ReadWrite",
    "Tasks.ReadWrite.All", "TeamsAppInstallation.ReadWriteForUser.All", "Contacts.Read", "Contacts.ReadWrite",
)
"""Application permissions the emulator knows; a registered app gets all of them unless told otherwise."""

ALL_SCOPES: tuple[str, ...] = (
    "User.Read", "Calendars.ReadWrite", "Tasks.ReadWrite", "Contacts.ReadWrite", "offline_access",
)
"""Delegated permissions the emulator knows (consented for every user); see :mod:`graph_sync.emulator.delegated`."""


@dataclass(frozen=True)
class RegisteredApp:
    """An app registration able to use the client-credentials grant."""

    client_id: str
    client_secret: str
    roles: tuple[str, ...] = ALL_ROLES
    display_name: str = "Rapport"
    scopes: tuple[str, ...] = ALL_SCOPES  # delegated permissions an admin consented to (on-behalf-of)


@dataclass
class TokenAuthority:
    """Issues and checks tokens for one tenant. The RSA key is made once per emulator state."""

    tenant_id: str
    issuer_base: str = "https://login.microsoftonline.com"
    apps: dict[str, RegisteredApp] = field(default_factory=dict)
    _key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    _valid: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        """The ``iss`` claim of every token."""
        return f"{self.issuer_base}/{self.tenant_id}/v2.0"

    @property
    def kid(self) -> str:
        """Key id: the base64url SHA-1 thumbprint of the public key, like Entra's ``kid``/``x5t``."""
        der = self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()

    def jwks(self) -> dict[str, Any]:
        """The JWKS document served at ``/{tenant}/discovery/v2.0/keys``."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"use": "sig", "kid": self.kid, "x5t": self.kid, "issuer": self.issuer})
        return {"keys": [jwk]}

    def issue(self, client_id: str, now: float, lifetime_s: int) -> str:
        """An app-only Graph access token for a registered app."""
        app = self.apps[client_id]
        claims = {
            "aud": GRAPH_AUDIENCE, "iss": self.issuer, "iat": int(now), "nbf": int(now),
            "exp": int(now) + lifetime_s, "app_displayname": app.display_name, "appid": client_id,
            "azp": client_id, "idtyp": "app", "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "roles": list(app.roles), "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "tid": self.tenant_id, "ver": "1.0", "uti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid})

    def sign(self, claims: dict[str, Any]) -> str:
        """Any token this authority issues (user assertions, delegated tokens): RS256 with the emulator's key."""
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid})

    def signed_claims(self, token: str) -> dict[str, Any]:
        """The claims of a token this authority signed (issuer checked; audience and lifetime are the caller's)."""
        return jwt.decode(token, self._key.public_key(), algorithms=["RS256"], issuer=self.issuer,
                          options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                                   "verify_iat": False})

    def validate(self, authorization: str | None, now: float) -> dict[str, Any]:
        """The claims of a valid bearer token, or a 401 ``InvalidAuthenticationToken``.

        Signatures are checked once per token and remembered; expiry is checked on every call against the
        injected clock (PyJWT would read the wall clock).
        """
        if not authorization or not authorization.lower().startswith("bearer "):
            raise _unauthorized("Access token is empty.")
        token = authorization[7:].strip()
        claims = self._valid.get(token)
        if claims is None:
            try:
                claims = jwt.decode(token, self._key.public_key(), algorithms=["RS256"], audience=GRAPH_AUDIENCE,
                                    issuer=self.issuer, options={"verify_exp": False, "verify_nbf": False,
                                                                 "verify_iat": False})
            except jwt.InvalidAudienceError as err:
                raise _unauthorized("Access token validation failure. Invalid audience.") from err
            except jwt.PyJWTError as err:
                raise _unauthorized("Access token validation failure.") from err
            if claims.get("tid") != self.tenant_id:
                raise _unauthorized("Access token validation failure. Invalid tenant.")
            self._valid[token] = claims
        if not claims["nbf"] - 300 <= now < claims["exp"]:
            raise _unauthorized("Lifetime validation failed, the token is expired.")
        return claims


def _unauthorized(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message,
                      {"WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
                                           'common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'})

"""Delegated access: the on-behalf-of grant, user tokens, ``/me`` and delegated-permission checks.

* :func:`user_assertion` makes the token a Teams client holds for the signed-in user after Teams SSO (``aud`` =
  the middle-tier app: its client id or an ``api://…/{client id}`` URI such as ``api://botid-{id}``,
  ``scp=access_as_user``), signed by the emulator's key like every other token.
* :func:`on_behalf_of` serves ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` with
  ``requested_token_use=on_behalf_of`` at the token endpoint: it checks the client secret, the assertion's
  signature, issuer, tenant, audience (must be the calling app) and lifetime, and the requested scopes against the
  app's consented delegated permissions, and returns a Graph token for the same user (``idtyp=user``, ``scp``).
* :func:`resolve_me` rewrites ``/me/…`` to ``/users/{oid}/…`` for delegated tokens (app-only tokens get Graph's
  400), and :func:`check_delegated` applies delegated permissions: a route needs one of its scopes, and a
  delegated token reaches only the signed-in user's own mailbox.
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jwt

from graph_sync.emulator.auth import GRAPH_AUDIENCE
from graph_sync.emulator.errors import GraphError
from graph_sync.emulator.wire import EmulatorResponse

if TYPE_CHECKING:
    from graph_sync.emulator.state import EmulatorState

OBO_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TEAMS_CLIENT_ID = "1fec8e78-bce4-4aaf-ab1b-5451cc387264"  # the Teams desktop/mobile client (Teams SSO docs)

DELEGATED_SCOPES: dict[str, frozenset[str]] = {
    "user": frozenset({"User.Read", "User.ReadBasic.All", "User.Read.All"}),
    "mailboxSettings": frozenset({"MailboxSettings.Read", "MailboxSettings.ReadWrite"}),
    "events.create": frozenset({"Calendars.ReadWrite"}),
    "calendarView": frozenset({"Calendars.Read", "Calendars.ReadWrite"}),
    "todo.lists": frozenset({"Tasks.Read", "Tasks.ReadWrite"}),
    "todo.lists.create": frozenset({"Tasks.ReadWrite"}),
    "todo.tasks": frozenset({"Tasks.Read", "Tasks.ReadWrite"}),
    "todo.tasks.create": frozenset({"Tasks.ReadWrite"}),
    "contacts": frozenset({"Contacts.Read", "Contacts.ReadWrite"}),
    "contact": frozenset({"Contacts.Read", "Contacts.ReadWrite"}),
    "contacts.create": frozenset({"Contacts.ReadWrite"}),
}
"""Routes a delegated token may call, with the delegated permissions any one of which grants each."""


def is_delegated(claims: dict[str, Any]) -> bool:
    """Whether a validated Graph token acts for a user (has ``scp``) rather than for the app alone."""
    return "scp" in claims


def user_assertion(state: EmulatorState, user_id: str, audience: str, *, lifetime_s: int = 3600,
                   now: float | None = None) -> str:
    """The SSO token Teams would pass to the bot for ``user_id`` (an id or UPN), for the app ``audience``."""
    user = state.users_by_key.get(user_id.lower())
    if user is None:
        raise KeyError(user_id)
    at = state.config.clock() if now is None else now
    authority = state.authority
    claims = {
        "aud": audience, "iss": authority.issuer, "iat": int(at), "nbf": int(at), "exp": int(at) + lifetime_s,
        "azp": TEAMS_CLIENT_ID, "azpacr": "0", "idtyp": "user", "name": user.get("displayName"),
        "oid": user["id"], "preferred_username": user.get("userPrincipalName"), "scp": "access_as_user",
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{audience}/{user['id']}")), "tid": authority.tenant_id,
        "ver": "2.0", "uti": uuid.uuid4().hex,
    }
    return authority.sign(claims)


def _audience_is(client_id: str, audience: str) -> bool:
    """The assertion must be addressed to the calling app: its client id, or an App ID URI naming it."""
    return audience == client_id or (audience.startswith("api://") and audience.rstrip("/").endswith(client_id))


def on_behalf_of(state: EmulatorState, form: dict[str, str],
                 error: Callable[[int, str, int, str], EmulatorResponse]) -> EmulatorResponse:
    """The OBO grant. ``error(status, error, code, description)`` builds Entra's error body."""
    authority = state.authority
    if form.get("requested_token_use") != "on_behalf_of":
        return error(400, "invalid_request", 900144, "The request body must contain the following parameter: "
                                                     "'requested_token_use' with value 'on_behalf_of'.")
    app = authority.apps.get(form.get("client_id", ""))
    if app is None:
        return error(400, "unauthorized_client", 700016,
                     f"Application with identifier '{form.get('client_id')}' was not found in the directory.")
    if not hmac.compare_digest(app.client_secret.encode(), form.get("client_secret", "").encode()):
        return error(401, "invalid_client", 7000215, "Invalid client secret provided.")
    assertion = form.get("assertion", "")
    now = state.config.clock()
    try:
        claims = authority.signed_claims(assertion)
    except jwt.PyJWTError:
        return error(400, "invalid_grant", 50013, "Assertion failed signature validation.")
    if claims.get("tid") != authority.tenant_id or claims.get("idtyp") != "user" or "oid" not in claims:
        return error(400, "invalid_grant", 50013, "Assertion is not a user token of this tenant.")
    if not _audience_is(app.client_id, str(claims.get("aud", ""))):
        return error(400, "invalid_grant", 50013, "Assertion audience does not match the Client app presenting "
                                                  "the assertion.")
    if not int(claims.get("nbf", 0)) - 300 <= now < int(claims.get("exp", 0)):
        return error(400, "invalid_grant", 500133, "Assertion is not within its valid time range.")
    if claims["oid"] not in state.users_by_id:
        return error(400, "invalid_grant", 50034, "The user account does not exist in this directory.")
    requested = form.get("scope", "").split()
    granted = _granted(app.scopes, requested)
    if granted is None:
        return error(400, "invalid_scope", 70011, f"The provided value for the input parameter 'scope' is not "
                                                  f"valid: '{form.get('scope', '')}'.")
    missing = [s for s in granted if s not in app.scopes]
    if missing:
        return error(400, "invalid_grant", 65001, f"The user or administrator has not consented to use the "
                                                  f"application with ID '{app.client_id}'. Missing: {missing[0]}.")
    lifetime = state.config.token_lifetime_s
    user = state.users_by_id[claims["oid"]]
    token_claims = {
        "aud": GRAPH_AUDIENCE, "iss": authority.issuer, "iat": int(now), "nbf": int(now),
        "exp": int(now) + lifetime, "app_displayname": app.display_name, "appid": app.client_id,
        "idtyp": "user", "name": user.get("displayName"), "oid": user["id"],
        "scp": " ".join(s for s in granted if s != "offline_access"), "sub": claims.get("sub"),
        "tid": authority.tenant_id, "upn": user.get("userPrincipalName"), "ver": "1.0", "uti": uuid.uuid4().hex,
    }
    token = authority.sign(token_claims)
    state.counters.tokens_issued += 1
    body = {"token_type": "Bearer", "scope": " ".join(f"{GRAPH_AUDIENCE}/{s}" for s in granted),
            "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}
    return EmulatorResponse(200, json.dumps(body).encode(), {"Content-Type": "application/json; charset=utf-8",
                                                              "Cache-Control": "no-store, no-cache"})


def _granted(consented: tuple[str, ...], requested: list[str]) -> list[str] | None:
    """Scopes to grant for ``requested`` (``.default`` = everything consented), or None when malformed."""
    if not requested:
        return None
    if requested == [f"{GRAPH_AUDIENCE}/.default"]:
        return list(consented)
    out = []
    for scope in requested:
        if scope in ("openid", "profile", "offline_access", "email"):
            continue
        if not scope.startswith(GRAPH_AUDIENCE + "/") or scope.endswith("/.default"):
            return None
        out.append(scope[len(GRAPH_AUDIENCE) + 1:])
    return out or None


def resolve_me(path: str, claims: dict[str, Any]) -> str:
    """``/me…`` as ``/users/{oid}…`` for a delegated token; Graph's 400 for an app-only one."""
    if not is_delegated(claims):
        raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
    return f"/users/{claims['oid']}{path[3:]}"


def is_me(path: str) -> bool:
    """Whether a Graph path (after ``/v1.0``) addresses the signed-in user."""
    lowered = path.lower()
    return lowered == "/me" or lowered.startswith("/me/")


def check_delegated(route_name: str, claims: dict[str, Any], user_id: str | None) -> None:
    """403 unless a delegated token may call the route for ``user_id``: its own data only, except reading
    another user's profile with ``User.ReadBasic.All`` / ``User.Read.All``."""
    scopes = set(str(claims.get("scp", "")).split())
    needed = DELEGATED_SCOPES.get(route_name)
    if needed is None or not needed & scopes:
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    if user_id is None or user_id == claims.get("oid"):
        return
    if route_name == "user" and scopes & {"User.ReadBasic.All", "User.Read.All"}:
        return
    raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")

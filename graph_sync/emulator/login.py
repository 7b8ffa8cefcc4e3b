"""The Entra ID side: client-credentials token endpoint, JWKS and OpenID configuration documents."""

from __future__ import annotations

import hmac
import json
import re
import uuid
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from graph_sync.emulator.auth import GRAPH_AUDIENCE
from graph_sync.emulator.delegated import OBO_GRANT, on_behalf_of
from graph_sync.emulator.wire import EmulatorRequest, EmulatorResponse, iso, json_response

if TYPE_CHECKING:
    from graph_sync.emulator.state import EmulatorState

LOGIN_PATH = re.compile(r"^/(?P<tenant>[^/]+)/(?P<rest>oauth2/v2\.0/token|discovery/v2\.0/keys|"
                        r"v2\.0/\.well-known/openid-configuration)$")


def _aad_error(state: EmulatorState, status: int, error: str, code: int, description: str) -> EmulatorResponse:
    now = state.config.clock()
    trace = str(uuid.UUID(int=state.rng.getrandbits(128), version=4))
    return json_response(status, {
        "error": error, "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
                                             f"Timestamp: {iso(now)}",
        "error_codes": [code], "timestamp": iso(now), "trace_id": trace, "correlation_id": trace,
    })


def handle_login(state: EmulatorState, request: EmulatorRequest, tenant: str, rest: str) -> EmulatorResponse:
    """Serve one login request for ``tenant`` (its id or one of its verified domain names)."""
    domains = {str(d.get("id", "")).lower() for d in state.domains}
    if tenant.lower() != state.tenant_id.lower() and tenant.lower() not in domains:
        return _aad_error(state, 400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
    base = f"{request.base_url}/{state.tenant_id}"
    if rest.startswith("discovery"):
        return json_response(200, state.authority.jwks())
    if rest.startswith("v2.0"):
        return json_response(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token", "jwks_uri": f"{base}/discovery/v2.0/keys",
            "issuer": state.authority.issuer, "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "response_types_supported": ["token"], "id_token_signing_alg_values_supported": ["RS256"],
            "grant_types_supported": ["client_credentials", OBO_GRANT], "tenant_region_scope": "EU",
        })
    if request.method != "POST":
        return _aad_error(state, 405, "invalid_request", 900561, "The endpoint only accepts POST requests.")
    form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") == OBO_GRANT:
        return on_behalf_of(state, form, lambda *a: _aad_error(state, *a))
    if form.get("grant_type") != "client_credentials":
        return _aad_error(state, 400, "unsupported_grant_type", 70003,
                          "The app requested an unsupported grant type.")
    app = state.authority.apps.get(form.get("client_id", ""))
    if app is None:
        return _aad_error(state, 400, "unauthorized_client", 700016,
                          f"Application with identifier '{form.get('client_id')}' was not found in the directory.")
    if not hmac.compare_digest(app.client_secret.encode(), form.get("client_secret", "").encode()):
        return _aad_error(state, 401, "invalid_client", 7000215, "Invalid client secret provided.")
    scopes = form.get("scope", "").split()
    if scopes != [f"{GRAPH_AUDIENCE}/.default"]:
        return _aad_error(state, 400, "invalid_scope", 1002012,
                          f"The provided value for scope {form.get('scope')} is not valid. Client credential "
                          "flows must have a scope value with /.default suffixed to the resource identifier.")
    lifetime = state.config.token_lifetime_s
    token = state.authority.issue(app.client_id, state.config.clock(), lifetime)
    state.counters.tokens_issued += 1
    body = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}
    return EmulatorResponse(200, json.dumps(body).encode(), {"Content-Type": "application/json; charset=utf-8",
                                                              "Cache-Control": "no-store, no-cache"})

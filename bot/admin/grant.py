"""Confirm a tenant's grant the only way that cannot be forged from a browser: get an app-only token.

The consent redirect is an unauthenticated browser request, so its ``tenant`` and ``scope`` prove nothing by
themselves. Entra ID issues a client-credentials token for a tenant only once the app has a service principal
there (i.e. after consent), and that token's ``roles`` claim lists the application permissions actually
granted. Right after consent Entra may need a little while before it issues tokens; the callback then asks the
admin to reload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import jwt
from azure.core.exceptions import AzureError

from bot.admin.errors import GrantNotConfirmed
from bot.admin.urls import GRAPH_DEFAULT_SCOPE
from graph_sync.auth import AsyncCredential, TenantCredentials, make_credential
from graph_sync.errors import SyncError


@dataclass(frozen=True, slots=True)
class AppIdentity:
    """The Graph app this deployment uses for every tenant (from the settings)."""

    client_id: str
    authority: str
    graph_base_url: str
    client_secret: str | None = None
    certificate_path: str | None = None

    @property
    def auth_kind(self) -> str:
        if self.certificate_path:
            return "certificate"
        return "secret" if self.authority.startswith("https://") else "emulator"

    def credentials(self, tenant_id: str) -> TenantCredentials:
        return TenantCredentials(tenant_id, self.client_id, self.auth_kind, self.client_secret,
                                 self.certificate_path, self.authority)


CredentialFactory = Callable[[TenantCredentials], AsyncCredential]


async def granted_roles(app: AppIdentity, tenant_id: str, *,
                        transport: httpx.AsyncBaseTransport | None = None,
                        credential_factory: CredentialFactory | None = None) -> list[str]:
    """The application permissions granted to ``app`` in ``tenant_id``, read from a fresh app-only token."""
    creds = app.credentials(tenant_id)
    try:
        credential = (credential_factory(creds) if credential_factory is not None
                      else make_credential(creds, transport=transport))
    except SyncError as err:
        raise GrantNotConfirmed(tenant_id, str(err)) from err
    try:
        token = await credential.get_token(GRAPH_DEFAULT_SCOPE)
    except (SyncError, AzureError, httpx.HTTPError) as err:
        raise GrantNotConfirmed(tenant_id, str(err)[:300]) from err
    finally:
        await credential.close()
    try:
        # We got the token straight from the authority over the connection we opened, so its signature adds
        # nothing here (Graph checks it on every call); we only read what it says was granted.
        claims = jwt.decode(token.token, options={"verify_signature": False})
    except jwt.PyJWTError as err:
        raise GrantNotConfirmed(tenant_id, f"unreadable token: {err}") from err
    if str(claims.get("tid", tenant_id)).lower() != tenant_id.lower():
        raise GrantNotConfirmed(tenant_id, f"token issued for tenant {claims.get('tid')}")
    roles = claims.get("roles") or []
    return sorted({str(r) for r in roles}) if isinstance(roles, list) else []

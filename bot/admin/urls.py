"""Microsoft's admin-consent URL and the values its redirect brings back (pure functions)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
GRAPH_RESOURCE = "https://graph.microsoft.com/"
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DOMAIN = re.compile(r"(?=.{3,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}")


def is_tenant_id(value: str) -> bool:
    """Whether ``value`` is a directory (tenant) id: a GUID, which is what the consent redirect returns."""
    return bool(_GUID.fullmatch(value))


def tenant_hint(value: str | None) -> str:
    """The tenant segment of the consent URL: a tenant id or verified domain the admin named, else
    ``organizations`` (any work or school account's home tenant). Anything else is refused."""
    if not value:
        return "organizations"
    value = value.strip()
    if is_tenant_id(value) or _DOMAIN.fullmatch(value):
        return value.lower()
    raise ValueError(f"not a tenant id or domain: {value[:80]!r}")


def admin_consent_url(authority: str, tenant: str, *, client_id: str, redirect_uri: str, state: str) -> str:
    """``{authority}/{tenant}/v2.0/adminconsent?client_id=…&scope=https://graph.microsoft.com/.default&…``.

    ``/.default`` asks for every application permission configured on the app registration, so the list an
    admin approves is the one in the portal (and in ``docs/deploy.md``), not one this server makes up.
    """
    query = urlencode({"client_id": client_id, "scope": GRAPH_DEFAULT_SCOPE, "redirect_uri": redirect_uri,
                       "state": state})
    return f"{authority.rstrip('/')}/{tenant}/v2.0/adminconsent?{query}"


def granted_from_scope_param(scope: str | None) -> list[str]:
    """Permission names from the redirect's ``scope`` (space-separated ``https://graph.microsoft.com/X``)."""
    names = []
    for item in (scope or "").split():
        name = item[len(GRAPH_RESOURCE):] if item.lower().startswith(GRAPH_RESOURCE) else item
        if name and name != ".default":
            names.append(name)
    return sorted(set(names))

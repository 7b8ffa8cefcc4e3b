"""The small HTML pages of the consent flow (every value escaped; no script, no external resource)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from aiohttp import web

# Least privilege: what the sync needs, with the reason shown to the admin (docs/deploy.md has the full table).
REQUIRED = {
    "User.Read.All": "list mailboxes, managers and direct reports",
    "Mail.ReadBasic.All": "message metadata (sender, recipients, times) without bodies",
    "Calendars.ReadBasic.All": "meeting times, organiser and attendees without bodies",
    "Domain.Read.All": "verified domains, to tell colleagues from customers",
}
# A broader permission that covers a required one (the admin may have granted it instead).
COVERS = {"Calendars.ReadBasic.All": ("Calendars.Read", "Calendars.ReadWrite"),
          "Domain.Read.All": ("Directory.Read.All",), "User.Read.All": ("Directory.Read.All",)}
# Mailbox permissions that scoped mode grants through Exchange Online RBAC for Applications instead of Entra
# (docs/deploy.md): such grants never appear in the token's roles, so their absence alone may be intended.
MAILBOX = ("Mail.ReadBasic.All", "Calendars.ReadBasic.All")
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#222}"
          "h1{font-size:1.4rem}code{background:#f3f3f3;padding:0 .2rem}.muted{color:#666}")
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


def page(title: str, paragraphs: Sequence[str], *, status: int = 200, items: Sequence[str] = ()) -> web.Response:
    """A page with a title, paragraphs and an optional list; every string is escaped here."""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    if items:
        body += "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"
    html = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)} — Rapport"
            f"</title><style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}"
            "<p class=\"muted\">Rapport admin consent</p></body></html>")
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status, headers=_HEADERS)


def granted_page(tenant_id: str, scopes: Sequence[str], *, new_tenant: bool) -> web.Response:
    missing = [f"{name} — {why}" for name, why in REQUIRED.items()
               if name not in scopes and not any(c in scopes for c in COVERS.get(name, ()))]
    paragraphs = [
        f"Rapport is {'now set up' if new_tenant else 'updated'} for tenant {tenant_id}. Its first sync has "
        "started; relationship answers appear in Teams as mailboxes finish.",
        "Application permissions granted:",
    ]
    items = list(scopes) or ["(none reported)"]
    response = page("Consent recorded", paragraphs, items=items)
    if missing and all(name.split(" — ")[0] in MAILBOX for name in missing):
        response = page("Consent recorded, without mailbox permissions in Entra", [
            *paragraphs[:1], "Entra ID did not grant these application permissions. If you limit Rapport to some "
            "mailboxes with Exchange Online RBAC for Applications (scoped mode, docs/deploy.md), that is expected: "
            "the sync reads the mailboxes in the scope. Otherwise add them to the app registration and grant "
            "consent again:"], items=missing)
    elif missing:
        response = page("Consent recorded, but permissions are missing", [
            *paragraphs[:1], "The sync cannot work without these application permissions; add them to the app "
            "registration and grant consent again (Mail.ReadBasic.All and Calendars.ReadBasic.All may instead "
            "be granted through Exchange Online RBAC for Applications, docs/deploy.md):"], items=missing)
    return response


def bad_state_page(reason: str) -> web.Response:
    return page("This consent link is not valid", [
        f"The sign-in answer could not be matched to a consent request from this server ({reason}). Nothing "
        "was recorded.", "Start again from /admin/consent."], status=400)


def expired_page() -> web.Response:
    return page("This consent link has expired", [
        "Consent requests are valid for a limited time. Nothing was recorded.",
        "Start again from /admin/consent."], status=400)


def replayed_page() -> web.Response:
    return page("This consent link was already used", [
        "Each consent request is recorded once; this one was used before. Nothing new was recorded.",
        "To grant consent again, start from /admin/consent."], status=409)


def error_page(error: str, description: str) -> web.Response:
    return page("Consent was not granted", [
        f"Microsoft Entra ID answered: {error}.", description or "(no description)",
        "Nothing was recorded. A Global Administrator or Privileged Role Administrator (or a Cloud Application "
        "Administrator for non-Graph permissions) must grant consent; start again from /admin/consent."],
        status=400)


def unconfirmed_page(tenant_id: str, detail: str) -> web.Response:
    return page("Consent not confirmed yet", [
        f"Microsoft Entra ID did not issue Rapport a token for tenant {tenant_id} ({detail}). Right after consent "
        "this can take a minute. Nothing was recorded: reload this page shortly (the link stays valid for a "
        "few minutes), or start again from /admin/consent."], status=503)


def not_configured_page() -> web.Response:
    return page("Admin consent is not configured", [
        "This Rapport server has no Graph application configured. Set RAPPORT_GRAPH_CLIENT_ID and "
        "RAPPORT_GRAPH_CLIENT_SECRET (or RAPPORT_GRAPH_CERTIFICATE_PATH), and RAPPORT_SECRET_KEY; see "
        "docs/deploy.md."], status=503)

"""Found deploying by the book: in scoped mode (docs/deploy.md) the admin removes the tenant-wide mailbox grants
from Entra and grants them through Exchange Online RBAC for Applications, so the consent token's roles lack them.
The consent page must not then tell the admin the sync cannot work and to add them back."""

from __future__ import annotations

from bot.admin.pages import granted_page

TENANT = "7c1b672c-5086-43a6-8738-88bfeb28720a"


def _text(scopes: list[str]) -> str:
    body = granted_page(TENANT, scopes, new_tenant=True).text
    assert body is not None
    return body


def test_scoped_mode_grants_are_not_called_missing_permissions() -> None:
    page = _text(["Domain.Read.All", "User.Read.All"])
    assert "permissions are missing" not in page and "cannot work" not in page
    assert "RBAC for Applications" in page
    assert "Mail.ReadBasic.All" in page and "Calendars.ReadBasic.All" in page


def test_a_missing_directory_permission_is_still_missing() -> None:
    page = _text(["Mail.ReadBasic.All", "Calendars.ReadBasic.All", "User.Read.All"])
    assert "permissions are missing" in page and "Domain.Read.All" in page


def test_a_full_grant_lists_what_was_granted() -> None:
    page = _text(["Calendars.ReadBasic.All", "Domain.Read.All", "Mail.ReadBasic.All", "User.Read.All"])
    assert "<h1>Consent recorded</h1>" in page

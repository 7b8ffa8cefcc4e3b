"""Errors of the admin-consent flow.

::

    ConsentError (a BotError)        root: the callback records nothing and shows a page
    ├── BadState                     ``state`` is missing, malformed or not signed by us (``reason`` is logged)
    ├── ExpiredState                 ``state`` was signed by us but its lifetime is over
    ├── ReplayedState                ``state`` was already used for a recorded consent
    └── GrantNotConfirmed            Entra ID will not issue a token for the tenant (yet): consent not in effect
"""

from __future__ import annotations

from bot.errors import BotError


class ConsentError(BotError):
    """Root of the consent flow's errors."""


class BadState(ConsentError):
    """The ``state`` parameter is not one we issued."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"bad consent state: {reason}")


class ExpiredState(ConsentError):
    """The ``state`` parameter was ours but has expired."""

    def __init__(self, expired_at: int) -> None:
        self.expired_at = expired_at
        super().__init__(f"consent state expired at {expired_at}")


class ReplayedState(ConsentError):
    """The ``state`` nonce was already recorded: a consent link is used once."""

    def __init__(self, nonce: str) -> None:
        self.nonce = nonce
        super().__init__(f"consent state {nonce} already used")


class GrantNotConfirmed(ConsentError):
    """Getting an app-only token for the tenant failed, so the grant cannot be confirmed."""

    def __init__(self, tenant_id: str, detail: str) -> None:
        self.tenant_id = tenant_id
        self.detail = detail
        super().__init__(f"no token for tenant {tenant_id}: {detail}")

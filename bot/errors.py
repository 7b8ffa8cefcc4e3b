"""Errors raised by the bot on purpose.

::

    BotError                       root (a RapportError)
    ├── Unauthorized               an inbound request failed authentication (the web layer answers 401)
    ├── Forbidden                  an authenticated user asked for something they may not see or do
    ├── TamperedAction             an Action.Execute payload does not carry a valid signature for this user
    ├── DeliveryFailed             a proactive send gave up after its retries (carries the last status)
    └── WriteFailed                a Graph write (event, task) failed (carries the status, if any)
"""

from __future__ import annotations

from analytics.errors import RapportError


class BotError(RapportError):
    """Root of the bot's errors."""


class Unauthorized(BotError):
    """The inbound request is not authenticated. ``reason`` is logged, never returned to the caller."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"unauthorized: {reason}")


class Forbidden(BotError):
    """The user may not do or see this."""


class TamperedAction(BotError):
    """A card action's data was altered or belongs to another user or tenant."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"rejected card action: {reason}")


class DeliveryFailed(BotError):
    """A proactive message could not be delivered after retries."""

    def __init__(self, conversation_id: str, status: int | None, attempts: int) -> None:
        self.conversation_id = conversation_id
        self.status = status
        self.attempts = attempts
        super().__init__(f"delivery to {conversation_id} failed after {attempts} attempts (last status {status})")


class WriteFailed(BotError):
    """Graph refused or could not take a write; ``status`` is the HTTP status when there was a response."""

    def __init__(self, what: str, status: int | None, detail: str = "") -> None:
        self.what = what
        self.status = status
        self.detail = detail
        super().__init__(f"creating {what} failed (status {status}): {detail}")

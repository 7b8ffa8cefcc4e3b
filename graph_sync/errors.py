"""Errors raised by the Graph client and the sync worker.

::

    RapportError (analytics.errors)
    └── SyncError                   root of every error the sync raises on purpose
        ├── GraphError              Graph answered with an error status (carries status, code, url)
        │   ├── Throttled           429/503/504 whose retries ran out or whose wait must be requeued
        │   ├── SyncStateExpired    410 Gone, ``syncStateNotFound``, ``resyncRequired``: start a full resync
        │   └── AccessDenied        401/403: the app lacks a permission (e.g. Calendars.Read)
        ├── TransportFailed         the connection dropped or timed out, and retries ran out
        │   └── GraphUnreachable    no connection could be opened to Graph or the token endpoint at all
        ├── BadPage                 a response body that is not a Graph collection page
        ├── ItemRejected            one item of a page cannot be normalised (logged, skipped)
        ├── BudgetExhausted         the mailbox used its request budget for the window; requeued
        ├── LeaseLost               another worker took the mailbox over; the page was not committed
        └── TenantConfigError       a tenant row cannot be turned into a credential
"""

from __future__ import annotations

from analytics.errors import RapportError


class SyncError(RapportError):
    """Root of every error the sync raises on purpose."""


class GraphError(SyncError):
    """Graph answered with an error status."""

    def __init__(self, status: int, code: str, message: str, url: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.url = url
        super().__init__(f"HTTP {status} {code}: {message} ({url})")


class Throttled(GraphError):
    """Graph keeps throttling (or asks for a wait too long to sleep): retry after ``retry_after`` seconds."""

    def __init__(self, status: int, code: str, message: str, url: str, retry_after: float) -> None:
        super().__init__(status, code, message, url)
        self.retry_after = retry_after


class SyncStateExpired(GraphError):
    """The delta token is no longer valid: the resource needs a full resync."""


class AccessDenied(GraphError):
    """The app is not allowed to read this resource."""


class TransportFailed(SyncError):
    """The request never got an HTTP answer (connection dropped, timeout) and retries ran out."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"transport failed for {url}: {reason}")


class GraphUnreachable(TransportFailed):
    """No connection to the host could be opened (refused, timed out, unknown name): every mailbox of the tenant
    fails alike, so the worker stops the tenant's pass instead of retrying mailbox after mailbox. ``url`` is the
    origin that could not be reached (Graph's or the token endpoint's)."""

    def __str__(self) -> str:
        return f"cannot connect to {self.url}: {self.reason}"


class BadPage(SyncError):
    """A response body that is not a usable Graph collection page."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"bad page from {url}: {reason}")


class ItemRejected(SyncError):
    """One Graph item cannot become an activity (no usable time, wrong types); it is logged and skipped."""

    def __init__(self, item_id: str, reason: str) -> None:
        self.item_id = item_id
        self.reason = reason
        super().__init__(f"item {item_id!r} rejected: {reason}")


class BudgetExhausted(SyncError):
    """The mailbox's request budget is spent; it may continue after ``retry_after`` seconds."""

    def __init__(self, mailbox_id: str, retry_after: float) -> None:
        self.mailbox_id = mailbox_id
        self.retry_after = retry_after
        super().__init__(f"request budget of mailbox {mailbox_id} spent; resume in {retry_after:.0f} s")


class LeaseLost(SyncError):
    """This worker no longer owns the mailbox's lease, so it must not commit its page."""

    def __init__(self, mailbox_id: str, resource: str) -> None:
        self.mailbox_id = mailbox_id
        self.resource = resource
        super().__init__(f"lease on {mailbox_id}/{resource} lost to another worker")


class TenantConfigError(SyncError):
    """A tenant's stored credentials are incomplete or unusable."""

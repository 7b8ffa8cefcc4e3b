"""Scripted faults: "the next N matching requests fail this way"."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Fault:
    """One scripted failure. ``kind`` is ``status`` (429/503/504), ``drop``, ``sync_state`` or ``token``.

    It applies to the next ``count`` requests that match ``mailbox`` (a user id) and ``path_contains``, when
    given; ``sync_state`` faults apply only to delta requests that carry a token.
    """

    kind: str
    count: int = 1
    http_status: int = 0
    retry_after_s: int | None = None
    mailbox: str | None = None
    path_contains: str | None = None

    @classmethod
    def status(cls, status: int, count: int = 1, retry_after_s: int | None = None,
                    mailbox: str | None = None, path_contains: str | None = None) -> Fault:
        """Answer with ``status`` (429, 503 or 504) and Graph's matching error code."""
        if status not in (429, 503, 504):
            raise ValueError("scripted status faults are 429, 503 or 504")
        if status == 429 and retry_after_s is None:
            retry_after_s = 1
        return cls("status", count, status, retry_after_s, mailbox, path_contains)

    @classmethod
    def drop(cls, count: int = 1, mailbox: str | None = None, path_contains: str | None = None) -> Fault:
        """Close the connection without sending a response."""
        return cls("drop", count, mailbox=mailbox, path_contains=path_contains)

    @classmethod
    def sync_state_not_found(cls, count: int = 1, mailbox: str | None = None) -> Fault:
        """Answer the next delta request that carries a token with 410 ``syncStateNotFound``."""
        return cls("sync_state", count, mailbox=mailbox)

    @classmethod
    def token_expired(cls, count: int = 1, mailbox: str | None = None) -> Fault:
        """Answer with 401 ``InvalidAuthenticationToken`` as for an expired token."""
        return cls("token", count, mailbox=mailbox)

    def matches(self, path: str, mailbox: str | None, is_delta_with_token: bool) -> bool:
        """Whether this fault applies to a request."""
        if self.count <= 0:
            return False
        if self.mailbox is not None and self.mailbox != mailbox:
            return False
        if self.path_contains is not None and self.path_contains.lower() not in path.lower():
            return False
        return self.kind != "sync_state" or is_delta_with_token


class FaultScript:
    """The queue of pending faults, consumed first-added first."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        """Queue a fault and return it (its ``count`` shows how many uses are left)."""
        self.pending.append(fault)
        return fault

    def clear(self) -> None:
        """Forget every pending fault."""
        self.pending.clear()

    def take(self, path: str, mailbox: str | None, is_delta_with_token: bool) -> Fault | None:
        """Consume one use of the first matching fault."""
        for fault in self.pending:
            if fault.matches(path, mailbox, is_delta_with_token):
                fault.count -= 1
                if fault.count <= 0:
                    self.pending.remove(fault)
                return fault
        return None

"""Per-mailbox limits: concurrent requests in flight and requests per budget window."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from graph_sync.emulator.errors import GraphError


@dataclass
class MailboxLimits:
    """Outlook's two per-app-per-mailbox limits. ``admit`` either counts the request in or raises a 429."""

    concurrency: int
    budget: int
    window_s: float
    retry_after_s: int
    in_flight: dict[str, int] = field(default_factory=dict)
    recent: dict[str, deque[float]] = field(default_factory=dict)

    def admit(self, mailbox: str, now: float) -> None:
        """Enter a request for ``mailbox``; the caller must ``release`` it when the answer is ready."""
        stamps = self.recent.setdefault(mailbox, deque())
        while stamps and stamps[0] <= now - self.window_s:
            stamps.popleft()
        if len(stamps) >= self.budget:
            wait = max(self.retry_after_s, math.ceil(stamps[0] + self.window_s - now))
            raise GraphError(429, "ApplicationThrottled", "Application is over its resource limit.",
                             {"Retry-After": str(wait)})
        if self.in_flight.get(mailbox, 0) >= self.concurrency:
            raise GraphError(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                             {"Retry-After": str(self.retry_after_s)})
        stamps.append(now)
        self.in_flight[mailbox] = self.in_flight.get(mailbox, 0) + 1

    def release(self, mailbox: str) -> None:
        """Leave a request admitted by ``admit``."""
        self.in_flight[mailbox] -= 1

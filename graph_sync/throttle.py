"""Throttling arithmetic, free of I/O: when to retry, how long to wait, and each mailbox's request budget.

The I/O loop (:mod:`graph_sync.requester`) asks :func:`next_delay` after every failed attempt and sleeps
(with the injected sleep) or gives up; it asks :class:`MailboxBudget` before every request. Keeping the
arithmetic here makes it table-testable with no clock and no network.

Why not the SDK's ``RetryHandler``: it sleeps with ``asyncio.sleep`` and random jitter that cannot be
injected, does not retry dropped connections, does not count its retries against the mailbox budget, and
silently gives up on waits ≥ 180 s. The sync still sends every request through the SDK's middleware pipeline;
only the retry step is ours.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
TRANSPORT_ERROR = 0  # the "status" of an attempt that got no HTTP answer
DEFAULT_MAX_ATTEMPTS = 10
BACKOFF_BASE = 0.5
BACKOFF_CAP = 60.0


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds (fractional allowed) or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    if seconds != seconds or seconds < 0:  # NaN or negative: ignore the header
        return None
    return seconds


def next_delay(
    attempt: int,
    status: int,
    headers: Mapping[str, str],
    now: datetime,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    jitter: float = 0.0,
) -> float | None:
    """Seconds to wait before retrying, or ``None`` to give up.

    ``attempt`` counts the attempts made so far (1 after the first failure). ``status`` is the HTTP status,
    or :data:`TRANSPORT_ERROR` for a dropped connection. ``headers`` must be case-insensitive for real
    responses (httpx's are); a plain dict should use lower-case keys. ``jitter`` in [0, 1) is supplied by the
    caller's injected randomness and spreads exponential backoff only; ``Retry-After`` is honoured exactly.
    """
    if status not in RETRYABLE_STATUSES and status != TRANSPORT_ERROR:
        return None
    if attempt >= max_attempts:
        return None
    retry_after = parse_retry_after(headers.get("retry-after") or headers.get("Retry-After"), now)
    if retry_after is not None and status in (429, 503, 504):
        return retry_after
    backoff = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (attempt - 1))
    return backoff * (1.0 + jitter)


@dataclass
class MailboxBudget:
    """A sliding-window request budget for one mailbox (Graph: 10,000 requests per 10 minutes per app).

    :meth:`reserve` either records a request at ``now`` and returns 0, or returns the seconds until the oldest
    request in the window leaves it. Times are monotonic seconds supplied by the caller.
    """

    limit: int
    window: float = 600.0
    _sent: deque[float] = field(default_factory=deque)

    def reserve(self, now: float) -> float:
        """Take one request slot at ``now`` (returns 0.0), or return how long until one frees."""
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        if len(self._sent) >= self.limit:
            return self._sent[0] + self.window - now
        self._sent.append(now)
        return 0.0

    @property
    def used(self) -> int:
        return len(self._sent)

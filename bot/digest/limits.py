"""Teams' proactive-message limits and retry policy as pure functions (table-tested; no clock, no sleep).

Limits per bot (PLATFORM.md): per conversation 7 messages/s, 60 per 30 s, 1,800 per hour; per tenant 50
requests/s. Retry 429, 412, 502 and 504 with backoff, honouring ``Retry-After`` when given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

PER_CONVERSATION: tuple[tuple[float, int], ...] = ((1.0, 7), (30.0, 60), (3600.0, 1800))
PER_TENANT: tuple[tuple[float, int], ...] = ((1.0, 50),)
RETRYABLE = frozenset({412, 429, 502, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base`` × 2^attempt, capped, with up to ``jitter`` × delay added."""

    max_attempts: int = 5
    base: float = 1.0
    cap: float = 60.0
    jitter: float = 0.2


def earliest_send(sent: Sequence[float], now: float, limits: Sequence[tuple[float, int]]) -> float:
    """The earliest time ≥ ``now`` at which one more send keeps every (window, limit) satisfied.

    ``sent`` holds past send times (any order). A window of ``w`` seconds allows ``limit`` sends in any
    half-open interval ``(t - w, t]``.
    """
    at = now
    ordered = sorted(sent)
    for window, limit in limits:
        recent = [s for s in ordered if s > at - window]
        if len(recent) >= limit:
            # The send that must leave the window is the (len - limit + 1)-th most recent one.
            at = max(at, recent[len(recent) - limit] + window)
    if at != now:
        return earliest_send(ordered, at, limits)  # a later time may collide with another window
    return at


def retry_delay(attempt: int, status: int | None, retry_after: str | None, *, now_epoch: float,
                random: float, policy: RetryPolicy = RetryPolicy()) -> float | None:
    """Seconds to wait before retry number ``attempt + 1``, or None to give up.

    ``status`` None means the request got no response (connection error): retried like a 502. ``random`` is
    a number in [0, 1) from the caller's injected source.
    """
    if status is not None and status not in RETRYABLE:
        return None
    if attempt + 1 >= policy.max_attempts:
        return None
    told = _parse_retry_after(retry_after, now_epoch)
    if told is not None:
        return min(max(told, 0.0), policy.cap * 5)
    delay: float = min(policy.cap, policy.base * 2.0 ** attempt)
    return delay + delay * policy.jitter * random


def _parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return float(parsedate_to_datetime(value).timestamp()) - now_epoch
    except (TypeError, ValueError, IndexError):
        return None

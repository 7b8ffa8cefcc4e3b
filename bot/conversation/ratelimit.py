"""Per-user flood control (sans-IO token bucket; the caller passes the time).

A user who sends faster than the bucket refills gets one polite "slow down" reply, then silence until the
bucket refills, so a flood never turns into a flood of replies.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to handle this message; if not, whether to tell the user and when to come back."""

    allowed: bool
    notify: bool = False
    retry_after: float = 0.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class RateLimiter:
    """``capacity`` messages at once, refilled at ``per_second``; buckets are kept for at most ``max_keys`` users."""

    def __init__(self, capacity: int = 8, per_second: float = 0.5, max_keys: int = 100_000) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def check(self, key: str, now: float) -> Decision:
        """Take a token for ``key`` at time ``now`` (seconds, monotonic)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._evict(now)
            bucket = self._buckets[key] = _Bucket(tokens=float(self.capacity), updated=now)
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(self.capacity), bucket.tokens + elapsed * self.per_second)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return Decision(allowed=True)
        retry_after = (1.0 - bucket.tokens) / self.per_second
        notify = not bucket.warned
        bucket.warned = True
        return Decision(allowed=False, notify=notify, retry_after=retry_after)

    def _evict(self, now: float) -> None:
        # Full buckets carry no information: drop them first, then the oldest half if still too many.
        full_after = self.capacity / self.per_second
        for key in [k for k, b in self._buckets.items() if now - b.updated >= full_after]:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:
            for key in sorted(self._buckets, key=lambda k: self._buckets[k].updated)[: self.max_keys // 2]:
                del self._buckets[key]

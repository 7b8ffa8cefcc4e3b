"""The send-queue scheduling math, table-tested."""

from __future__ import annotations

import pytest

from bot.digest.limits import PER_CONVERSATION, PER_TENANT, RetryPolicy, earliest_send, retry_delay


@pytest.mark.parametrize("sent,now,expected", [
    ([], 10.0, 10.0),
    ([9.5] * 6, 10.0, 10.0),  # 6 in the last second: a 7th is fine
    ([9.5] * 7, 10.0, 10.5),  # 7 in the last second: wait until the oldest leaves
    ([9.1, 9.2, 9.3, 9.4, 9.5, 9.6, 9.7], 10.0, 10.1),
    ([float(i) * 0.5 for i in range(60)], 29.9, 30.0),  # 60 in 30 s: wait for the first (t=0) to leave
    ([float(i) for i in range(1800)], 1800.0, 3600.0),  # 1,800 in the hour
])
def test_earliest_send_per_conversation(sent: list[float], now: float, expected: float) -> None:
    assert earliest_send(sent, now, PER_CONVERSATION) == pytest.approx(expected)


def test_earliest_send_per_tenant_allows_fifty_per_second() -> None:
    assert earliest_send([5.0] * 49, 5.0, PER_TENANT) == 5.0
    assert earliest_send([5.0] * 50, 5.0, PER_TENANT) == 6.0


def test_scheduling_a_burst_never_breaks_any_window() -> None:
    sent: list[float] = []
    for _ in range(200):
        sent.append(earliest_send(sent, 0.0, PER_CONVERSATION))
    for window, limit in PER_CONVERSATION:
        for t in sent:
            assert sum(1 for s in sent if t - window < s <= t) <= limit
    assert sent[6] == 0.0 and sent[7] == 1.0 and sent[60] == 30.0


@pytest.mark.parametrize("attempt,status,retry_after,random,expected", [
    (0, 429, "2", 0.0, 2.0),
    (0, 429, "0.5", 0.9, 0.5),  # fractional Retry-After honoured, no jitter added
    (0, 429, "Mon, 02 Nov 2026 09:00:10 GMT", 0.0, 10.0),  # HTTP date
    (0, 502, None, 0.0, 1.0),
    (1, 504, None, 0.0, 2.0),
    (2, 412, None, 0.5, 4.0 * 1.1),
    (3, None, None, 0.0, 8.0),  # no response at all: retried
    (0, 400, None, 0.0, None),  # not retryable
    (0, 403, "5", 0.0, None),
    (4, 429, "1", 0.0, None),  # attempts exhausted
])
def test_retry_delay(attempt: int, status: int | None, retry_after: str | None, random: float,
                     expected: float | None) -> None:
    now = 1793610000.0  # 2026-11-02T09:00:00Z
    got = retry_delay(attempt, status, retry_after, now_epoch=now, random=random, policy=RetryPolicy())
    assert got == (None if expected is None else pytest.approx(expected))

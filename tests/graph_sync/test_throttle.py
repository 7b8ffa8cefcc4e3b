"""Retry and budget arithmetic, table-tested (no clock, no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from graph_sync.health import FailureLog
from graph_sync.throttle import TRANSPORT_ERROR, MailboxBudget, next_delay, parse_retry_after

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("3", 3.0), ("0.25", 0.25), (" 7 ", 7.0), ("", None), (None, None), ("-1", None), ("soon", None),
    ("Mon, 02 Nov 2026 09:00:30 GMT", 30.0), ("Mon, 02 Nov 2026 08:00:00 GMT", 0.0),
])
def test_retry_after_parses_seconds_fractions_and_http_dates(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(("attempt", "status", "headers", "expected"), [
    (1, 429, {"retry-after": "3"}, 3.0),          # Retry-After honoured exactly
    (1, 503, {"retry-after": "0.5"}, 0.5),
    (1, 429, {"retry-after": "400"}, 400.0),      # long waits are returned; the caller requeues them
    (1, 429, {}, 0.5),                            # no header: exponential backoff
    (3, 503, {}, 2.0),
    (1, TRANSPORT_ERROR, {}, 0.5),                # dropped connections are retried
    (1, 500, {"retry-after": "9"}, 0.5),          # 500 retried with backoff, its Retry-After ignored
    (1, 404, {}, None), (1, 400, {}, None), (1, 410, {}, None),
    (10, 429, {"retry-after": "1"}, None),         # attempts exhausted
    (20, 503, {}, None),
])
def test_next_delay_table(attempt: int, status: int, headers: dict[str, str], expected: float | None) -> None:
    assert next_delay(attempt, status, headers, NOW) == expected


def test_backoff_is_capped_and_jitter_only_stretches_it() -> None:
    assert next_delay(7, 503, {}, NOW, max_attempts=99) == 32.0
    assert next_delay(12, 503, {}, NOW, max_attempts=99) == 60.0
    assert next_delay(2, 503, {}, NOW, jitter=0.5) == 1.5
    assert next_delay(2, 429, {"retry-after": "2"}, NOW, jitter=0.5) == 2.0


def test_mailbox_budget_refuses_beyond_limit_until_the_window_slides() -> None:
    budget = MailboxBudget(limit=3, window=600.0)
    assert [budget.reserve(t) for t in (0.0, 1.0, 2.0)] == [0.0, 0.0, 0.0]
    assert budget.reserve(10.0) == 590.0
    assert budget.used == 3
    assert budget.reserve(600.0) == 0.0  # the request at t=0 left the window


def test_failure_is_logged_once_and_recovery_once(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    flog = FailureLog(logging.getLogger("test.failures"))
    with caplog.at_level(logging.INFO, logger="test.failures"):
        assert flog.failed("t/m/inbox", "HTTP 503") is True
        assert flog.failed("t/m/inbox", "HTTP 503") is False
        assert flog.failed("t/m/inbox", "HTTP 429") is False
        assert flog.succeeded("t/m/inbox") is True
        assert flog.succeeded("t/m/inbox") is False
    messages = [r.getMessage() for r in caplog.records]
    assert sum("sync failed" in m for m in messages) == 1
    assert sum("sync recovered" in m for m in messages) == 1

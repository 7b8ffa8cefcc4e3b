"""The request log and counters, for tests, benchmarks and the demo's status line."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RequestRecord:
    """One answered (or dropped) request. ``status`` 0 means the connection was dropped."""

    time: float
    method: str
    path: str
    status: int
    mailbox: str | None
    endpoint: str
    request_id: str


@dataclass
class Counters:
    """Running totals since the state was made (or ``reset``)."""

    requests: int = 0
    pages: int = 0
    items: int = 0
    throttled: int = 0
    faults: int = 0
    tokens_issued: int = 0
    by_mailbox: Counter[str] = field(default_factory=Counter)
    by_endpoint: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)

    def reset(self) -> None:
        """Start counting from zero."""
        self.__init__()  # type: ignore[misc]


class RequestLog:
    """The most recent requests, bounded so a long demo does not grow without end."""

    def __init__(self, size: int) -> None:
        self.records: deque[RequestRecord] = deque(maxlen=size)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def append(self, record: RequestRecord) -> None:
        """Record a request."""
        self.records.append(record)

    def clear(self) -> None:
        """Forget every record."""
        self.records.clear()

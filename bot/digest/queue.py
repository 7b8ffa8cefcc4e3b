"""The proactive send queue: paces sends within Teams' limits and retries throttled ones (thin I/O loop).

All timing decisions come from :mod:`bot.digest.limits`; clock, sleep and randomness are injected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.conversation.model import ConversationRecord, Reply
from bot.digest.limits import PER_CONVERSATION, PER_TENANT, RetryPolicy, earliest_send, retry_delay


class SendFailed(Exception):
    """What a sender raises: the HTTP status (None without a response) and the Retry-After header."""

    def __init__(self, status: int | None, retry_after: str | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"send failed with status {status}")


@dataclass(frozen=True)
class Outcome:
    conversation_id: str
    delivered: bool
    attempts: int
    last_status: int | None = None


@dataclass
class SendQueue:
    """Sends each (record, reply) in order, never faster than the limits allow."""

    send: Callable[[ConversationRecord, Reply], Awaitable[None]]
    clock: Callable[[], float]  # monotonic seconds
    sleep: Callable[[float], Awaitable[None]]
    random: Callable[[], float]
    wall_clock: Callable[[], float]  # epoch seconds, for HTTP-date Retry-After
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    _by_conversation: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    _by_tenant: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    async def run(self, jobs: Sequence[tuple[ConversationRecord, Reply]]) -> list[Outcome]:
        return [await self._deliver(record, reply) for record, reply in jobs]

    async def _deliver(self, record: ConversationRecord, reply: Reply) -> Outcome:
        attempt = 0
        while True:
            await self._pace(record)
            try:
                await self.send(record, reply)
                return Outcome(record.conversation_id, True, attempt + 1)
            except SendFailed as err:
                delay = retry_delay(attempt, err.status, err.retry_after, now_epoch=self.wall_clock(),
                                    random=self.random(), policy=self.policy)
                if delay is None:
                    return Outcome(record.conversation_id, False, attempt + 1, err.status)
                await self.sleep(delay)
                attempt += 1

    async def _pace(self, record: ConversationRecord) -> None:
        conv = self._by_conversation[record.conversation_id]
        tenant = self._by_tenant[record.tenant_id]
        now = self.clock()
        # Keep only what any window can still see.
        conv[:] = [s for s in conv if s > now - 3600.0]
        tenant[:] = [s for s in tenant if s > now - 1.0]
        at = max(earliest_send(conv, now, PER_CONVERSATION), earliest_send(tenant, now, PER_TENANT))
        while at > now:  # the limits of one may push the other later: recompute until both agree
            await self.sleep(at - now)
            now = self.clock()
            at = max(earliest_send(conv, now, PER_CONVERSATION), earliest_send(tenant, now, PER_TENANT))
        conv.append(now)
        tenant.append(now)

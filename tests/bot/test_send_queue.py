"""The send queue with a fake clock: pacing and retries, no real sleeping."""

from __future__ import annotations

import asyncio

from bot.conversation.model import ConversationRecord, Reply
from bot.digest.queue import SendFailed, SendQueue


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _queue(time: FakeTime, send: object) -> SendQueue:
    return SendQueue(send=send, clock=time.clock, sleep=time.sleep, random=lambda: 0.0,  # type: ignore[arg-type]
                     wall_clock=lambda: 1793610000.0)


def test_burst_to_one_conversation_is_paced_to_seven_per_second() -> None:
    time = FakeTime()
    sent: list[float] = []

    async def send(record: ConversationRecord, reply: Reply) -> None:
        sent.append(time.now)
    record = ConversationRecord("t", "c1", "https://x/")
    outcomes = asyncio.run(_queue(time, send).run([(record, Reply(text="hi"))] * 20))
    assert all(o.delivered for o in outcomes)
    assert sent[:7] == [0.0] * 7 and sent[7] == 1.0 and sent[14] == 2.0


def test_throttled_send_waits_retry_after_then_succeeds_and_400_gives_up() -> None:
    time = FakeTime()
    script = [SendFailed(429, "3"), SendFailed(502), None, SendFailed(400)]

    async def send(record: ConversationRecord, reply: Reply) -> None:
        failure = script.pop(0)
        if failure is not None:
            raise failure
    record = ConversationRecord("t", "c1", "https://x/")
    first, second = asyncio.run(_queue(time, send).run([(record, Reply(text="a")), (record, Reply(text="b"))]))
    assert first.delivered and first.attempts == 3
    assert time.slept[:2] == [3.0, 2.0]  # Retry-After honoured, then backoff 1 s × 2^1
    assert not second.delivered and second.last_status == 400

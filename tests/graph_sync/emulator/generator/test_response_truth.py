"""The reply delays ground truth reports are the delays between the messages the generator actually writes."""

from __future__ import annotations

import itertools
import random
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graph_sync.emulator.generator.generate import REFERENCE_NOW
from graph_sync.emulator.generator.ids import IdFactory
from graph_sync.emulator.generator.model import RelationshipPlan
from graph_sync.emulator.generator.simulate import (
    DAY,
    MAX_THREAD_MESSAGES,
    Clock,
    Realised,
    RelationshipSimulator,
)
from tests.graph_sync.emulator.generator.conftest import unique_mail


def _seconds(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_a_thread_at_the_message_cap_records_exactly_the_replies_it_contains() -> None:
    now = REFERENCE_NOW.timestamp()
    clock = Clock(now=now, span_start=now - 180 * DAY, recent_start=now - 90 * DAY, link_cut=now - 60 * DAY,
                  future_end=now + 30 * DAY)
    sim = RelationshipSimulator(clock=clock, rng=random.Random(3), nprng=np.random.default_rng(3),
                                ids=IdFactory(random.Random(4)), tenant_name="T", rooms=[])
    # Both sides always answer, within minutes: every thread runs to the cap.
    plan = RelationshipPlan(
        user_id="u", contact_email="c@example.com", account_id="A", strongest=True, trajectory="steady",
        threads_per_30d=1.0, meetings_per_30d=0.0, user_reply_rate=1.0, contact_reply_rate_before=1.0,
        contact_reply_rate_recent=1.0, user_median_minutes=5.0, contact_median_minutes=5.0,
        start=clock.span_start, end=clock.now - DAY)
    out = Realised()
    sim._thread(out, plan, clock.span_start + DAY)
    (messages,) = out.threads
    assert len(messages) == MAX_THREAD_MESSAGES
    # Eleven replies in the thread: eleven delays, each the gap between a message and the one it answers.
    gaps = [(b[0] - a[0]) / 60 for a, b in itertools.pairwise(messages)]
    recorded = sorted(out.user_delays + out.contact_delays)
    assert len(recorded) == MAX_THREAD_MESSAGES - 1
    assert recorded == pytest.approx(sorted(gaps))


def test_realised_response_medians_equal_a_recount_of_the_mail_files(small_tenant: Path,
                                                                      truth: dict[str, Any]) -> None:
    """Per relationship and side, the median gap before that side's replies, recounted from the mail files."""
    mail_of = {u["id"]: u["mail"] for u in truth["users"]}
    pairs = {(mail_of[r["user_id"]], r["contact_email"]) for r in truth["relationships"]}
    conversations: dict[tuple[str, str], dict[str, list[tuple[float, str]]]] = defaultdict(lambda: defaultdict(list))
    for m in unique_mail(small_tenant, mail_of):
        sender = m["from"]["emailAddress"]["address"]
        for rcpt in (r["emailAddress"]["address"] for r in m["toRecipients"]):
            pair = (sender, rcpt) if (sender, rcpt) in pairs else (rcpt, sender)
            if pair in pairs:
                conversations[pair][m["conversationId"]].append((_seconds(m["sentDateTime"]), sender))
    capped = compared = 0
    for r in truth["relationships"]:
        pair = (mail_of[r["user_id"]], r["contact_email"])
        delays: dict[str, list[float]] = {"user": [], "contact": []}
        for messages in conversations[pair].values():
            messages.sort()
            capped += len(messages) == MAX_THREAD_MESSAGES
            for (t0, _), (t1, sender) in itertools.pairwise(messages):
                delays["user" if sender == pair[0] else "contact"].append((t1 - t0) / 60)
        for side, values in delays.items():
            expected = r["realised"][f"{side}_median_first_response_minutes"]
            assert r["realised"][f"{side}_replies"] == len(values), (r["user_id"], r["contact_email"], side)
            if values:
                compared += 1
                # Sent times are written to the second: a median may differ by that, plus the rounding to 0.1.
                assert abs(statistics.median(values) - expected) <= 0.1, (r["user_id"], r["contact_email"], side)
            else:
                assert expected is None
    assert compared > 150 and capped > 0  # threads at the cap are among those checked

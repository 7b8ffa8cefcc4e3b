"""The array path (:func:`evaluate_batch`, what refreshes use) gives exactly what :func:`evaluate` gives."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.relationships.config import HealthConfig, health_config
from analytics.relationships.health import Counts, DayCount, evaluate, evaluate_batch, kind_index

AS_OF = date(2026, 11, 2)
KINDS = ("email", "meeting", "call", "task", "note")

day_counts = st.lists(
    st.builds(DayCount, st.integers(-20, 300).map(lambda d: AS_OF - timedelta(days=d)), st.sampled_from(KINDS),
              st.integers(0, 4), st.integers(0, 4)),
    max_size=60)


def counts_of(records: list[list[DayCount]]) -> Counts:
    rows = [(i, d.day.toordinal(), kind_index(d.kind), d.from_us, d.from_them)
            for i, days in enumerate(records) for d in days]
    cols = np.array(rows, dtype=np.int64).reshape(-1, 5).T
    return Counts(cols[0], cols[1], cols[2], cols[3], cols[4])


@settings(max_examples=60, deadline=None)
@given(st.lists(day_counts, min_size=1, max_size=8), st.sampled_from(["contact", "account", "opportunity"]))
def test_batch_equals_one_by_one(records: list[list[DayCount]], record_type: str) -> None:
    config = HealthConfig()
    batch = evaluate_batch(counts_of(records), [record_type] * len(records), AS_OF, config)
    assert batch == [evaluate(days, AS_OF, config, record_type) for days in records]


def test_batch_follows_tenant_options() -> None:
    config = health_config({"health": {"type_weights": {"meeting": 4.2, "email": 0.7}, "trend_days": 60,
                                       "baseline_days": 100, "activity_days": 120}}, window_days=45)
    records = [[DayCount(AS_OF - timedelta(days=d), k, d % 3, (d + 1) % 2) for d in range(0, 200, 3)
                for k in ("email", "meeting")][i::3] for i in range(3)]
    batch = evaluate_batch(counts_of(records), ["contact", "lead", "account"], AS_OF, config)
    assert batch == [evaluate(days, AS_OF, config, t) for days, t in zip(records, ["contact", "lead", "account"],
                                                                             strict=True)]
    assert all(r.score is not None for r in batch)

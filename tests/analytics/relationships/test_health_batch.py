"""The array scoring against a plain-Python reference of the published formula, and one record vs many."""

from __future__ import annotations

import math
from dataclasses import fields
from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.relationships.config import HealthConfig, health_config
from analytics.relationships.health import (
    BatchScores,
    Counts,
    DayCount,
    Settled,
    Snapshots,
    evaluate,
    evaluate_batch,
    kind_index,
    score_batch,
    score_settled,
    settle,
)

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


# --- The formula of docs/health.md, written out one day at a time (the reference) ------------------------------


def reference_snapshot(days: list[DayCount], as_of: date, config: HealthConfig,
                       record_type: str) -> tuple[float | None, list[float]]:
    window_start = as_of - timedelta(days=config.window_days - 1)
    recent_start = as_of - timedelta(days=config.recent_days - 1)
    w = config.type_weights
    in_window = [d for d in days if window_start <= d.day <= as_of and (d.from_us or d.from_them)]
    interactions = sum(d.from_us + d.from_them for d in in_window)
    expected = config.expected(record_type)
    recent = sum(w.get(d.kind, 1.0) * (d.from_us + d.from_them) for d in in_window if d.day >= recent_start)
    activity = min(1.0, math.log1p(recent) / math.log1p(2 * expected))
    last = max((d.day for d in in_window), default=None)
    g = 30.0 / expected
    if last is None:
        recency = 0.0
    else:
        gap = (as_of - last).days
        recency = 1.0 if gap <= g else math.exp(-(gap - g) / (2 * g))
    us = sum(w.get(d.kind, 1.0) * d.from_us for d in in_window)
    them = sum(w.get(d.kind, 1.0) * d.from_them for d in in_window)
    reciprocity = 2 * min(us, them) / (us + them) if us + them else 0.0
    ours = sorted({d.day for d in in_window if d.from_us})
    theirs = sorted({d.day for d in in_window if d.from_them})
    answered = asked = 0
    for day in ours:
        hit = any(0 <= (t - day).days <= config.reply_days for t in theirs)
        answered += hit
        asked += hit or (as_of - day).days > config.reply_days
    responsiveness = answered / asked if asked else (1.0 if them > 0 else 0.0)
    values = [activity, recency, reciprocity, responsiveness]
    total = sum(100 * v * config.factor_weights[f]
                for v, f in zip(values, ("activity", "recency", "reciprocity", "responsiveness"), strict=True))
    return (total if interactions >= config.min_interactions else None), values


def reference_trend(days: list[DayCount], as_of: date, config: HealthConfig) -> str:
    recent_start = as_of - timedelta(days=config.trend_days - 1)
    start = recent_start - timedelta(days=config.baseline_days)
    active = [d for d in days if start <= d.day <= as_of and (d.from_us or d.from_them)]
    first = min((d.day for d in active), default=None)
    if first is None or first >= recent_start:
        return "Not enough info"
    recent = sum(d.from_us + d.from_them for d in active if d.day >= recent_start)
    before = sum(d.from_us + d.from_them for d in active if d.day < recent_start)
    if recent + before < config.min_interactions or before == 0:
        return "Not enough info"
    ratio = (recent / config.trend_days) / (before / max(1, (recent_start - first).days))
    if ratio >= config.improving_ratio:
        return "Improving"
    return "Declining" if ratio <= config.declining_ratio else "Steady"


def check_against_reference(records: list[list[DayCount]], types: list[str], config: HealthConfig) -> None:
    batch = score_batch(counts_of(records), types, AS_OF, config)
    for i, (days, record_type) in enumerate(zip(records, types, strict=True)):
        for snap, as_of in ((batch.now, AS_OF), (batch.then, AS_OF - timedelta(days=config.trend_days))):
            score, values = reference_snapshot(days, as_of, config, record_type)
            assert np.allclose(snap.values[i], values, rtol=0, atol=1e-12), (i, snap.values[i], values)
            got = float(snap.score[i])
            assert (score is None) == math.isnan(got)
            if score is not None:
                assert abs(got - score) <= 0.05 + 1e-9  # rounded to 0.1
        assert batch.trend[i] == reference_trend(days, AS_OF, config)


@settings(max_examples=60, deadline=None)
@given(st.lists(day_counts, min_size=1, max_size=8), st.sampled_from(["contact", "account", "opportunity"]))
def test_array_scoring_follows_the_published_formula(records: list[list[DayCount]], record_type: str) -> None:
    check_against_reference(records, [record_type] * len(records), HealthConfig())


@settings(max_examples=40, deadline=None)
@given(st.lists(day_counts, min_size=1, max_size=8))
def test_many_records_at_once_equal_one_at_a_time_exactly(records: list[list[DayCount]]) -> None:
    config = HealthConfig()
    batch = evaluate_batch(counts_of(records), ["contact"] * len(records), AS_OF, config)
    assert batch == [evaluate(days, AS_OF, config, "contact") for days in records]


def test_tenant_options_apply_to_the_array_scoring() -> None:
    config = health_config({"health": {"type_weights": {"meeting": 4.2, "email": 0.7}, "trend_days": 60,
                                       "baseline_days": 100, "activity_days": 120}}, window_days=45)
    records = [[DayCount(AS_OF - timedelta(days=d), k, d % 3, (d + 1) % 2) for d in range(0, 200, 3)
                for k in ("email", "meeting")][i::3] for i in range(3)]
    check_against_reference(records, ["contact", "lead", "account"], config)
    batch = evaluate_batch(counts_of(records), ["contact", "lead", "account"], AS_OF, config)
    assert batch == [evaluate(days, AS_OF, config, t)
                     for days, t in zip(records, ["contact", "lead", "account"], strict=True)]
    assert all(r.score is not None for r in batch)


@settings(max_examples=30, deadline=None)
@given(st.lists(day_counts, min_size=1, max_size=8))
def test_details_written_as_json_text_are_the_details(records: list[list[DayCount]]) -> None:
    import json

    config = HealthConfig()
    batch = score_batch(counts_of(records), ["account"] * len(records), AS_OF, config)
    as_text = batch.details_json(config)
    for (score, state, trend, details), (score2, state2, trend2, text) in zip(batch.details(config), as_text,
                                                                             strict=True):
        assert (score, state, trend) == (score2, state2, trend2)
        assert text == json.dumps(details)


def _same_scores(a: BatchScores, b: BatchScores) -> None:
    for snap_a, snap_b in ((a.now, b.now), (a.then, b.then)):
        for f in fields(Snapshots):
            assert np.array_equal(getattr(snap_a, f.name), getattr(snap_b, f.name), equal_nan=True) \
                if f.name != "as_of" else snap_a.as_of == snap_b.as_of, f.name
    assert a.trend == b.trend


@settings(max_examples=60, deadline=None)
@given(st.lists(day_counts, min_size=1, max_size=8), st.lists(day_counts, min_size=1, max_size=8),
       st.sampled_from([HealthConfig(), health_config({"health": {"trend_days": 30, "baseline_days": 60}},
                                                      window_days=45)]))
def test_scores_from_a_settled_part_and_the_live_days_equal_scores_from_everything(
        records: list[list[DayCount]], later: list[list[DayCount]], config: HealthConfig) -> None:
    """What a watching sync's refresh does on the full refresh's day: the settled part of the full refresh's
    scores, then counts changed only after the day it depends on, read from the live days on."""
    types = ["contact", "account"] * len(records)
    types = types[:len(records)]
    then_day = AS_OF.toordinal() - config.trend_days
    live_from = AS_OF.toordinal() - max(config.window_days, config.recent_days, config.trend_days) + 1
    changes = [[d for d in days if d.day.toordinal() > then_day] for days in later[:len(records)]]
    changes += [[]] * (len(records) - len(changes))
    settled = settle(counts_of(records), types, AS_OF, config)
    everything = counts_of([a + b for a, b in zip(records, changes, strict=True)])
    live = everything.day >= live_from
    only_live = Counts(everything.record[live], everything.day[live], everything.kind[live],
                       everything.from_us[live], everything.from_them[live])
    _same_scores(score_settled(only_live, types, AS_OF, config, settled), score_batch(everything, types, AS_OF, config))
    # taking, merging and concatenating settled parts keeps each record's own
    n = len(records)
    rows = np.arange(n)[::-1].copy()
    assert settled.take(rows).take(rows).first.tolist() == settled.first.tolist()
    mask = np.arange(n) % 2 == 0
    mixed = settled.where(mask, settle(counts_of(records[::-1]), types[::-1], AS_OF, config).take(rows))
    _same_scores(score_settled(everything, types, AS_OF, config, mixed), score_batch(everything, types, AS_OF, config))
    both = Settled.concat([settled, settled])
    _same_scores(score_settled(counts_of([*records, *records]), types * 2, AS_OF, config, both),
                 score_batch(counts_of([*records, *records]), types * 2, AS_OF, config))

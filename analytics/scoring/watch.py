"""Keeping scores fresh: which open records are due (pure), and the loop that scores them (``rapport scoring watch``).

A record is *due* when it is open and

* ``new``: it has no stored predictive score;
* ``changed``: its CRM content (fields, contact, account, owner, amount, stage, stage history) differs from what
  was scored — each score keeps a fingerprint of that content in ``score.details``;
* ``model``: the model that scored it is no longer active (a retrain was published, or a filtered model
  now claims the record);
* ``activity``: new mail or meetings of its contact or team reached the store after it was scored — the
  watching sync's incremental health refresh rescored the record's relationship since (``health_score_change``),
  so its relationship KPIs may have moved;
* ``daily``: its score is older than ``full_every`` (a day by default), so every open record is rescored daily
  and slower-moving inputs (durations, relationship KPIs no incremental refresh saw) are picked up.

A round loads the CRM records only (cheap), decides what is due, and scores just those — with the feature
providers — through :func:`analytics.scoring.service.score_records`. The loop runs a round per tenant and
record type every ``interval`` seconds; clock, sleep and the stop signal are injected (no test waits in real
time). A failing round is logged and the loop goes on; the next round retries everything still due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from analytics.scoring import registry
from analytics.scoring.dataset import load_records
from analytics.scoring.mapping import RecordType
from analytics.scoring.providers import FeatureProvider
from analytics.scoring.records import ScoringRecord, fingerprint
from analytics.scoring.scores import GradeBands, StoredScore, relationship_changes, stored_scores
from analytics.scoring.service import score_records

log = logging.getLogger(__name__)

FULL_EVERY = timedelta(days=1)
RECORD_TYPES: tuple[RecordType, ...] = ("lead", "opportunity")


def due_records(records: Sequence[ScoringRecord], stored: Mapping[str, StoredScore], active_model_ids: Collection[str],
                now: datetime, full_every: timedelta = FULL_EVERY,
                activity: Mapping[str, datetime] | None = None) -> dict[str, str]:
    """Open records that need a (new) score, each with why: ``new``, ``changed``, ``model``, ``activity`` or
    ``daily``. ``activity``: when each record's relationship last changed (see the module docstring)."""
    activity = activity or {}
    out: dict[str, str] = {}
    for record in records:
        if record.label is not None:
            continue
        seen = stored.get(record.record_id)
        if seen is None:
            out[record.record_id] = "new"
        elif seen.fingerprint != fingerprint(record):
            out[record.record_id] = "changed"
        elif seen.model_id not in active_model_ids:
            out[record.record_id] = "model"
        elif (moved := activity.get(record.record_id)) is not None and moved > seen.computed_at:
            out[record.record_id] = "activity"
        elif now - seen.computed_at >= full_every:
            out[record.record_id] = "daily"
    return out


@dataclass
class RoundReport:
    """What one round did for one tenant and record type."""

    tenant_id: str
    record_type: str
    due: dict[str, int] = field(default_factory=dict)  # reason → records
    scored: int = 0
    skipped: str | None = None  # why nothing was scored (no active model)


def score_due(engine: Engine, tenant_id: str, record_type: RecordType, now: datetime,
              providers: Sequence[FeatureProvider], bands: GradeBands = GradeBands(),
              full_every: timedelta = FULL_EVERY) -> RoundReport:
    """Score the due open records of one tenant and type (nothing when no model is active)."""
    report = RoundReport(tenant_id, record_type)
    with engine.connect() as conn:
        active = {m.model_id for m in registry.active_models(conn, tenant_id, record_type)}
        if not active:
            report.skipped = f"no active {record_type} model"
            return report
        records = load_records(conn, tenant_id, record_type)
        stored = stored_scores(conn, tenant_id, record_type)
        activity = relationship_changes(conn, tenant_id, record_type)
    due = due_records(records, stored, active, now, full_every, activity)
    for reason in due.values():
        report.due[reason] = report.due.get(reason, 0) + 1
    if due:
        cards = score_records(engine, tenant_id, record_type, now, providers, bands, record_ids=sorted(due))
        report.scored = len(cards)
    return report


@dataclass
class Watcher:
    """Runs :func:`score_due` for every tenant and record type, round after round, until told to stop.

    ``tenants`` and ``providers`` are called each round (tenants may be added while it runs); ``clock``,
    ``sleep`` (seconds) and ``stop`` are injected by the composition root (the CLI) or by tests.
    """

    engine: Engine
    tenants: Callable[[], Sequence[str]]
    providers: Callable[[], Sequence[FeatureProvider]]
    clock: Callable[[], datetime]
    sleep: Callable[[float], object]
    stop: Callable[[], bool]
    interval: float = 60.0
    bands: GradeBands = field(default_factory=GradeBands)
    full_every: timedelta = FULL_EVERY
    record_types: Sequence[RecordType] = RECORD_TYPES
    on_round: Callable[[list[RoundReport]], None] | None = None
    failures: int = 0
    # What is failing now (a tenant and record type, or the round itself) and since when it was logged: a failure
    # is logged once with its traceback and its recovery once, not again every interval (a database that refuses
    # connections for an hour would otherwise write a traceback a minute).
    failing: dict[str, str] = field(default_factory=dict)

    def run_round(self) -> list[RoundReport]:
        """One round over every tenant and record type; a failing one is logged and does not stop the others.

        A round that cannot even list the tenants (the database refuses connections) is logged and skipped: the
        watch keeps running and the next round retries."""
        reports: list[RoundReport] = []
        try:
            providers = self.providers()
            tenants = list(self.tenants())
        except Exception as err:  # top of a worker loop: a restarting database must not end the watch
            self._failed("round", err, "scoring round could not start (next round in %gs)", self.interval)
            tenants, providers = [], []
        else:
            self._recovered("round")
        for tenant_id in tenants:
            for record_type in self.record_types:
                key = f"{tenant_id}/{record_type}"
                try:
                    reports.append(score_due(self.engine, tenant_id, record_type, self.clock(), providers,
                                             self.bands, self.full_every))
                except Exception as err:  # top of a worker loop: log with context, keep the other tenants going
                    self._failed(key, err, "scoring round failed for tenant %s, %s records", tenant_id, record_type)
                else:
                    self._recovered(key)
        if self.on_round is not None:
            self.on_round(reports)
        return reports

    def _failed(self, key: str, err: Exception, message: str, *args: object) -> None:
        self.failures += 1
        text = f"{type(err).__name__}: {err}"
        if key in self.failing:
            log.debug(message + " (still failing): %s", *args, text)
            return
        self.failing[key] = text
        log.exception(message, *args)

    def _recovered(self, key: str) -> None:
        if self.failing.pop(key, None) is not None:
            log.info("scoring recovered: %s", "rounds start again" if key == "round" else key)

    def run(self, max_rounds: int | None = None) -> int:
        """Rounds every ``interval`` seconds until ``stop()`` (or ``max_rounds``); returns the rounds run."""
        rounds = 0
        while not self.stop() and (max_rounds is None or rounds < max_rounds):
            started = self.clock()
            self.run_round()
            rounds += 1
            if self.stop() or (max_rounds is not None and rounds >= max_rounds):
                break
            spent = (self.clock() - started).total_seconds()
            self.sleep(max(0.0, self.interval - spent))
        return rounds

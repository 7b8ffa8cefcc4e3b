"""Scoring use cases over the store: import, train and publish, score, report. What the CLI (and bot) call.

Every function takes ``now`` (training "now" and the window derive from it) and the feature providers; nothing
here reads a clock or the environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from analytics.errors import NotFound
from analytics.scoring import registry
from analytics.scoring.dataset import load_records
from analytics.scoring.errors import NoActiveModel, NotEnoughData
from analytics.scoring.filters import matches, validate_filters
from analytics.scoring.importer import ImportSummary, import_file
from analytics.scoring.mapping import RecordType, load_mapping
from analytics.scoring.policy import ActiveInfo, Decision, publish_decision, retrain_due
from analytics.scoring.providers import FeatureProvider, enrich
from analytics.scoring.records import ScoringRecord
from analytics.scoring.scores import GradeBands, ScoreCard, compute_cards, previous_scores, save_cards
from analytics.scoring.training import TrainedModel, TrainingConfig, train


@dataclass(frozen=True)
class TrainOutcome:
    """One trained model: where it went and why."""

    model: registry.ModelInfo
    decision: Decision
    warnings: list[str] = field(default_factory=list)


def import_crm_file(engine: Engine, tenant_id: str, record_type: RecordType, path: Path, mapping_path: Path,
                    now: datetime) -> ImportSummary:
    """Validate and import a leads / opportunities file (all or nothing), and audit it."""
    mapping = load_mapping(mapping_path)
    summary = import_file(engine, tenant_id, path, mapping, record_type)
    with engine.begin() as conn:
        registry.audit(conn, tenant_id, now, "scoring.import", str(path.name),
                       {"record_type": record_type, "records": summary.records})
    return summary


def records_for(engine: Engine, tenant_id: str, record_type: RecordType, providers: Sequence[FeatureProvider],
                now: datetime, record_ids: Sequence[str] | None = None) -> list[ScoringRecord]:
    """Records of a type with provider features as of their closing (or ``now``)."""
    with engine.connect() as conn:
        records = load_records(conn, tenant_id, record_type, record_ids)
    return enrich(providers, tenant_id, record_type, records, now)


def train_and_publish(engine: Engine, tenant_id: str, record_type: RecordType, now: datetime,
                      config: TrainingConfig, providers: Sequence[FeatureProvider], *, name: str = "default",
                      filters: Mapping[str, Any] | None = None,
                      records: Sequence[ScoringRecord] | None = None) -> TrainOutcome:
    """Train one model, register it, and publish it if the rules allow (raises :class:`NotEnoughData`)."""
    wanted = validate_filters(filters or {})
    if records is None:
        records = records_for(engine, tenant_id, record_type, providers, now)
    subset = [r for r in records if matches(r, wanted, for_training=True)]
    model = train(subset, record_type, now, config, name=name, filters=wanted)
    with engine.begin() as conn:
        current = next((m for m in registry.active_models(conn, tenant_id, record_type) if m.name == name), None)
        active = (ActiveInfo(float(current.metrics.get("accuracy") or 0.0), current.published_at)
                  if current is not None and current.published_at is not None else None)
        decision = publish_decision(model.publishable, float(model.metrics["auc"]), config.auc_bar,
                                    float(model.metrics["accuracy"]), active, now)
        status = "candidate" if decision.publish else ("rejected" if not model.publishable else "candidate")
        info = registry.save_model(conn, tenant_id, model, status)
        if decision.publish:
            registry.publish(conn, tenant_id, info.model_id, now, decision.reason)
            info = next(m for m in registry.list_models(conn, tenant_id, record_type) if m.model_id == info.model_id)
    return TrainOutcome(info, decision, model.warnings)


def train_per_stage(engine: Engine, tenant_id: str, now: datetime, config: TrainingConfig,
                    providers: Sequence[FeatureProvider]) -> list[TrainOutcome | NotEnoughData]:
    """One opportunity model per stage that has enough closed deals (stages without enough are reported)."""
    records = records_for(engine, tenant_id, "opportunity", providers, now)
    stages = sorted({s for r in records for s, _ in r.stage_history})
    out: list[TrainOutcome | NotEnoughData] = []
    for stage in stages[: registry.MAX_MODELS_PER_TYPE - 1]:  # keep one slot for the default model
        try:
            out.append(train_and_publish(engine, tenant_id, "opportunity", now, config, providers,
                                         name=f"stage-{stage}"[:40], filters={"stage": stage}, records=records))
        except NotEnoughData as err:
            out.append(err)
    return out


def retrain_due_types(engine: Engine, tenant_id: str, now: datetime) -> list[tuple[str, str]]:
    """``(record_type, name)`` of models whose last training is 15 or more days old."""
    with engine.connect() as conn:
        models_ = registry.list_models(conn, tenant_id)
    latest: dict[tuple[str, str], datetime] = {}
    for m in models_:
        key = (m.record_type, m.name)
        latest[key] = max(latest.get(key, m.trained_at), m.trained_at)
    return [key for key, at in sorted(latest.items()) if retrain_due(at, now)]


def score_records(engine: Engine, tenant_id: str, record_type: RecordType, now: datetime,
                  providers: Sequence[FeatureProvider], bands: GradeBands = GradeBands(),
                  record_id: str | None = None, save: bool = True,
                  record_ids: Sequence[str] | None = None) -> list[ScoreCard]:
    """Score open records (or one record, or the open ones of ``record_ids``) with the active models, and store
    scores and history."""
    with engine.connect() as conn:
        active = registry.active_models(conn, tenant_id, record_type)
        if not active:
            raise NoActiveModel(record_type)
        loaded: list[tuple[registry.ModelInfo, TrainedModel]] = [
            (m, registry.load_model(conn, tenant_id, m.model_id)) for m in active]
        previous = previous_scores(conn, tenant_id, record_type)
    wanted = [record_id] if record_id else (list(record_ids) if record_ids is not None else None)
    if wanted is not None and not wanted:
        return []
    records = records_for(engine, tenant_id, record_type, providers, now, wanted)
    if record_id and not records:
        raise NotFound(f"{record_type} {record_id} does not exist")
    targets = [r for r in records if r.label is None or record_id]
    # Specific (filtered) models first; the default model takes every record no filter claimed.
    ordered = sorted(loaded, key=lambda pair: (not pair[0].filters, pair[0].name))
    assigned: dict[str, list[ScoringRecord]] = {}
    for r in targets:
        for info, _model in ordered:
            if matches(r, {k: str(v) for k, v in info.filters.items()}, for_training=False):
                assigned.setdefault(info.model_id, []).append(r)
                break
    cards: list[ScoreCard] = []
    for info, model in ordered:
        cards.extend(compute_cards(model, info.model_id, assigned.get(info.model_id, []), now, bands, previous))
    cards.sort(key=lambda c: (-c.value, c.record_id))
    if save and cards:
        with engine.begin() as conn:
            save_cards(conn, tenant_id, record_type, cards, now)
    return cards


def active_report(engine: Engine, tenant_id: str, record_type: RecordType) -> list[registry.ModelInfo]:
    """The active models of a record type with their metrics (for ``rapport scoring report``)."""
    with engine.connect() as conn:
        models_ = registry.active_models(conn, tenant_id, record_type)
        if not models_:
            models_ = registry.list_models(conn, tenant_id, record_type)[:1]
    if not models_:
        raise NoActiveModel(record_type)
    return models_

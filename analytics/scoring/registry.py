"""The model registry in ``model_version``: versions, schema hashes, metrics, artifacts and publication.

Artifacts are pickled :class:`~analytics.scoring.training.TrainedModel` objects written by this module only;
they are loaded back from the same database, never from user-supplied files.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from analytics.errors import NotFound
from analytics.scoring.errors import ScoringError
from analytics.scoring.training import TrainedModel
from analytics.store import models
from analytics.store.ids import key64

MV = models.table_of(models.ModelVersion)
AUDIT = models.table_of(models.AuditEvent)
MAX_MODELS_PER_TYPE = 10


@dataclass(frozen=True)
class ModelInfo:
    """A registered model without its artifact."""

    model_id: str
    record_type: str
    name: str
    version: int
    status: str
    filters: dict[str, Any]
    feature_schema_hash: str
    metrics: dict[str, Any]
    threshold: float
    trained_at: datetime
    published_at: datetime | None


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as ``None`` (PostgreSQL's JSONB rejects them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _info(row: Any) -> ModelInfo:
    return ModelInfo(row.model_id, row.record_type, row.name, row.version, row.status, dict(row.filters or {}),
                     row.feature_schema_hash, dict(row.metrics or {}), row.threshold, row.trained_at,
                     row.published_at)


_COLUMNS = [c for c in MV.c if c.name != "artifact"]


def list_models(conn: Connection, tenant_id: str, record_type: str | None = None) -> list[ModelInfo]:
    """Every model of the tenant (of one record type), newest first."""
    q = select(*_COLUMNS).where(MV.c.tenant_id == tenant_id)
    if record_type:
        q = q.where(MV.c.record_type == record_type)
    return [_info(r) for r in conn.execute(q.order_by(MV.c.record_type, MV.c.name, MV.c.version.desc()))]


def active_models(conn: Connection, tenant_id: str, record_type: str) -> list[ModelInfo]:
    """The published model of each name (filter set) of a record type."""
    return [m for m in list_models(conn, tenant_id, record_type) if m.status == "active"]


def latest(conn: Connection, tenant_id: str, record_type: str, name: str) -> ModelInfo | None:
    """The most recently trained model of a name."""
    return next((m for m in list_models(conn, tenant_id, record_type) if m.name == name), None)


def save_model(conn: Connection, tenant_id: str, model: TrainedModel, status: str) -> ModelInfo:
    """Register a trained model as a new version of its name (at most 10 names per record type)."""
    names = {m.name for m in list_models(conn, tenant_id, model.record_type)}
    if model.name not in names and len(names) >= MAX_MODELS_PER_TYPE:
        raise ScoringError(f"{model.record_type} already has {MAX_MODELS_PER_TYPE} models ({', '.join(sorted(names))})"
                           "; retrain one of them instead of adding another")
    version = int(conn.execute(select(func.coalesce(func.max(MV.c.version), 0)).where(
        MV.c.tenant_id == tenant_id, MV.c.record_type == model.record_type, MV.c.name == model.name)).scalar_one()) + 1
    model_id = f"{model.record_type}-{model.name}-v{version}"[:64]
    conn.execute(MV.insert().values(
        tenant_id=tenant_id, model_id=model_id, record_type=model.record_type, name=model.name, version=version,
        status=status, filters=model.filters, feature_schema_hash=model.schema_hash(),
        metrics=json_safe({**model.metrics, "warnings": model.warnings}), threshold=model.threshold,
        trained_at=model.trained_at, published_at=None, artifact=pickle.dumps(model),
    ))
    row = conn.execute(select(*_COLUMNS).where(MV.c.tenant_id == tenant_id, MV.c.model_id == model_id)).one()
    return _info(row)


def publish(conn: Connection, tenant_id: str, model_id: str, now: datetime, reason: str) -> None:
    """Make ``model_id`` the active model of its name; the previous one retires. Audited."""
    row = conn.execute(select(*_COLUMNS).where(MV.c.tenant_id == tenant_id, MV.c.model_id == model_id)).first()
    if row is None:
        raise NotFound(f"model {model_id} does not exist")
    conn.execute(MV.update().where(MV.c.tenant_id == tenant_id, MV.c.record_type == row.record_type,
                                   MV.c.name == row.name, MV.c.status == "active").values(status="retired"))
    conn.execute(MV.update().where(MV.c.tenant_id == tenant_id, MV.c.model_id == model_id)
                 .values(status="active", published_at=now))
    audit(conn, tenant_id, now, "scoring.publish", model_id, {"reason": reason})


def set_status(conn: Connection, tenant_id: str, model_id: str, status: str) -> None:
    """Mark a model candidate / rejected / retired."""
    conn.execute(MV.update().where(MV.c.tenant_id == tenant_id, MV.c.model_id == model_id).values(status=status))


def load_model(conn: Connection, tenant_id: str, model_id: str) -> TrainedModel:
    """The artifact of a registered model."""
    blob = conn.execute(select(MV.c.artifact).where(MV.c.tenant_id == tenant_id, MV.c.model_id == model_id)
                        ).scalar_one_or_none()
    if blob is None:
        raise NotFound(f"model {model_id} does not exist")
    model = pickle.loads(blob)  # our own artifact, written by save_model
    if not isinstance(model, TrainedModel):
        raise ScoringError(f"model {model_id}: the stored artifact is not a scoring model")
    return model


def audit(conn: Connection, tenant_id: str, now: datetime, action: str, target: str,
          details: dict[str, Any], actor: str = "rapport scoring") -> None:
    """Write an audit event (model publication, imports)."""
    event_id = f"{key64(action, target, now.isoformat()) & 0xFFFFFFFFFFFF:012x}-{action}"[:64]
    conn.execute(AUDIT.insert().values(tenant_id=tenant_id, event_id=event_id, at=now, actor=actor, action=action,
                                       target=target, details=details))

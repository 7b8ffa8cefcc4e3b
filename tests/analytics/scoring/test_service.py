"""Import → train → publish → score → history, through the store and the CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from analytics.cli_context import CliContext
from analytics.scoring import registry, service
from analytics.scoring.cli import app as scoring_app
from analytics.scoring.dataset import load_records
from analytics.scoring.errors import NoActiveModel, ScoringError
from analytics.scoring.records import ScoringRecord
from analytics.scoring.scores import score_history
from analytics.scoring.training import TrainingConfig
from analytics.settings import Settings
from analytics.store import models
from tests.analytics.scoring.synth import LEAD_MAPPING, NOW, lead_rows, to_csv

FAST = TrainingConfig(candidates=("logistic",), calibration_folds=2)


def _import(engine: Engine, tenant_id: str, tmp_path: Path, n: int = 400) -> None:
    (tmp_path / "map.toml").write_text(LEAD_MAPPING, encoding="utf-8")
    (tmp_path / "leads.csv").write_text(to_csv(lead_rows(n)), encoding="utf-8")
    service.import_crm_file(engine, tenant_id, "lead", tmp_path / "leads.csv", tmp_path / "map.toml", NOW)


def test_train_publish_score_and_keep_history(engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    _import(engine, tenant_id, tmp_path)
    with pytest.raises(NoActiveModel):
        service.score_records(engine, tenant_id, "lead", NOW, [])
    first = service.train_and_publish(engine, tenant_id, "lead", NOW, FAST, [])
    assert first.decision.publish and first.model.status == "active"
    assert first.model.feature_schema_hash and first.model.metrics["auc"] > 0.65
    cards = service.score_records(engine, tenant_id, "lead", NOW, [])
    assert cards and all(0 <= c.value <= 100 and c.grade in "ABCD" and c.trend == "New" for c in cards)
    later = NOW + timedelta(days=1)
    again = service.score_records(engine, tenant_id, "lead", later, [])
    assert {c.trend for c in again} == {"Steady"}  # same model, same data
    with engine.connect() as conn:
        history = score_history(conn, tenant_id, "lead", cards[0].record_id)
        stored = conn.execute(select(models.table_of(models.Score)).where(
            models.table_of(models.Score).c.record_id == cards[0].record_id)).one()
    assert [at for at, _ in history] == [NOW, later]
    assert stored.label == cards[0].grade and "probability" in stored.details
    # A retrain 16 days later is due and, being as good, is published; the first model retires.
    assert service.retrain_due_types(engine, tenant_id, NOW + timedelta(days=16)) == [("lead", "default")]
    assert service.retrain_due_types(engine, tenant_id, NOW + timedelta(days=3)) == []
    second = service.train_and_publish(engine, tenant_id, "lead", NOW + timedelta(days=16), FAST, [])
    with engine.connect() as conn:
        statuses = {m.model_id: m.status for m in registry.list_models(conn, tenant_id, "lead")}
        audits = conn.execute(select(func.count()).select_from(models.table_of(models.AuditEvent))).scalar_one()
    assert statuses == {first.model.model_id: "retired", second.model.model_id: "active"}
    assert audits >= 3  # one import, two publications


def test_one_record_is_scored_with_its_full_reasons(engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    _import(engine, tenant_id, tmp_path)
    service.train_and_publish(engine, tenant_id, "lead", NOW, FAST, [])
    [card] = service.score_records(engine, tenant_id, "lead", NOW, [], record_id="L00003")
    e = card.explanation
    assert abs(e.base + e.total_contribution - e.logit) < 1e-9
    assert len(e.positive) <= 10 and len(e.negative) <= 10
    assert len(card.explanation.card()[0]) <= 5


def test_at_most_ten_models_per_record_type(engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    _import(engine, tenant_id, tmp_path, n=300)
    with engine.connect() as conn:
        recs = load_records(conn, tenant_id, "lead")
    for i in range(10):
        service.train_and_publish(engine, tenant_id, "lead", NOW, FAST, [], name=f"m{i}", records=recs)
    with pytest.raises(ScoringError, match="already has 10 models"):
        service.train_and_publish(engine, tenant_id, "lead", NOW, FAST, [], name="eleventh", records=recs)


class _PlantedProvider:
    """A feature provider with a relationship signal that gives the outcome away (a stand-in for KPIs)."""

    name = "test"

    def __init__(self) -> None:
        self.as_of: list[datetime] = []

    def features(self, tenant_id: str, record_type: str, records: Sequence[ScoringRecord],
                 now: datetime) -> dict[str, dict[str, float | None]]:
        self.as_of.extend(r.as_of(now) for r in records)
        return {r.record_id: {"emails_from_them": float(5 * (r.label or 0))} for r in records}


def test_provider_features_are_used_as_of_each_record_closing(engine: Engine, tenant_id: str,
                                                             tmp_path: Path) -> None:
    _import(engine, tenant_id, tmp_path, n=300)
    provider = _PlantedProvider()
    outcome = service.train_and_publish(engine, tenant_id, "lead", NOW, FAST, [provider])
    assert any("'Emails from them'" in w for w in outcome.warnings)  # separates perfectly: leakage warning
    assert any(at < NOW for at in provider.as_of)  # closed records are seen as of their closing


def _cli(db_url: str, tmp_path: Path) -> typer.Typer:
    """The scoring group under a root that sets the context like ``bot/cli.py`` does."""
    root = typer.Typer()

    @root.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = CliContext(settings=Settings(database_url=db_url, data_dir=tmp_path / "data"))

    root.add_typer(scoring_app, name="scoring")
    return root


def test_cli_import_train_score_report_models(db_url: str, engine: Engine, tenant_id: str,
                                              tmp_path: Path) -> None:
    (tmp_path / "map.toml").write_text(LEAD_MAPPING, encoding="utf-8")
    (tmp_path / "leads.csv").write_text(to_csv(lead_rows(300)), encoding="utf-8")
    app, runner, at = _cli(db_url, tmp_path), CliRunner(), ["--now", NOW.isoformat()]
    result = runner.invoke(app, ["scoring", "import", "lead", str(tmp_path / "leads.csv"), "--mapping",
                                 str(tmp_path / "map.toml"), *at])
    assert result.exit_code == 0, result.output
    assert "Imported 300 leads" in result.output
    result = runner.invoke(app, ["scoring", "train", "lead", *at])
    assert result.exit_code == 0, result.output
    assert "— published" in result.output, result.output
    result = runner.invoke(app, ["scoring", "score", "lead", "--json", *at])
    assert result.exit_code == 0, repr(result.exception)
    rows = json.loads(result.output)
    assert rows and {"score", "grade", "trend", "positive", "negative"} <= set(rows[0])
    result = runner.invoke(app, ["scoring", "report", "lead", "--json"])
    [report] = json.loads(result.output)
    assert Path(report["charts"]["roc"]).read_bytes()[:4] == b"\x89PNG"
    assert Path(report["charts"]["roc"]).parent == tmp_path / "data" / "charts" / tenant_id  # a folder per tenant
    assert Path(report["charts"]["calibration"]).exists()
    result = runner.invoke(app, ["scoring", "models"])
    assert result.exit_code == 0 and "lead-" in result.output


def test_cli_refuses_a_bad_file_with_every_problem(db_url: str, engine: Engine, tenant_id: str,
                                                   tmp_path: Path) -> None:
    rows = lead_rows(10)
    rows[3]["Status"] = "Perhaps"
    (tmp_path / "map.toml").write_text(LEAD_MAPPING, encoding="utf-8")
    (tmp_path / "leads.csv").write_text(to_csv(rows), encoding="utf-8")
    result = CliRunner().invoke(_cli(db_url, tmp_path), ["scoring", "import", "lead", str(tmp_path / "leads.csv"),
                                                         "--mapping", str(tmp_path / "map.toml")])
    assert result.exit_code != 0
    assert "line 5, column 'Status'" in str(result.exception)

"""Relationship KPIs as scoring features, on a generated tenant whose mail is loaded into the store.

The generator plants two relationship drivers in the lead outcome (``ground_truth.json`` → ``crm.leads``):
``lead_reply_count`` (messages the lead sent its owner before closing, +0.5 each, capped at 4) and
``log1p_lead_response_hours`` (slower answers, lower odds). The scorer never sees those numbers: it sees the
KPIs computed from the ingested mail as of each lead's closing (``rel.emails_from_them``,
``rel.their_response_hours``), and its reasons must push them the planted way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from analytics.query import RelationshipQueries
from analytics.scoring import service
from analytics.scoring.providers import RelationshipKpiProvider, kpi_features
from analytics.scoring.training import TrainingConfig, train
from analytics.settings import Settings
from analytics.views import TargetRef
from graph_sync.emulator.generator.generate import generate_tenant
from tests.analytics.synthetic import load_tenant

NOW = datetime(2026, 11, 1, tzinfo=UTC)  # the generator's reference "now"
SEEDS = (11, 12, 13)


@pytest.fixture(scope="module")
def tenant_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = []
    for seed in SEEDS:
        folder = tmp_path_factory.mktemp(f"kpi{seed}") / "small"
        generate_tenant(folder, seed=seed, size="small")
        out.append(folder)
    return out


def test_kpi_features_match_the_query_api_and_their_reasons_recover_the_planted_drivers(
        engine: Engine, tenant_dirs: list[Path]) -> None:
    settings = Settings()
    provider = RelationshipKpiProvider(engine, settings.analytics_window_days)
    pooled = []
    coefficients: dict[str, float] = {}
    for folder in tenant_dirs:
        tenant_id, truth = load_tenant(engine, folder, now=NOW)
        coefficients = truth["crm"]["leads"]["coefficients"]
        service.import_crm_file(engine, tenant_id, "lead", folder / "crm" / "leads.csv",
                                folder / "crm" / "leads.mapping.toml", NOW)
        records = service.records_for(engine, tenant_id, "lead", [provider], NOW)
        pooled.extend(records)
        # Batched features equal the query API's per-record KPIs (same scope and rules), on a sample.
        queries = RelationshipQueries(engine, settings)
        for record in records[::15]:
            as_of = record.as_of(NOW)
            view = queries.health(tenant_id, TargetRef("lead", record.record_id, record.record_id, closed=True),
                                  now=as_of)
            assert dict(record.relationship) == kpi_features(view.kpis, as_of), record.record_id
    assert coefficients["lead_reply_count"] > 0 > coefficients["log1p_lead_response_hours"]
    with_mail = [r for r in pooled if (r.relationship.get("emails_from_us") or 0) > 0]
    assert len(with_mail) > 0.8 * len(pooled)  # the owners' outreach is found for most leads

    model = train(pooled, "lead", NOW, TrainingConfig(boosting_trees=100))
    keys = [f.key for f in model.builder.features]
    X = model.builder.transform(pooled)
    _, contrib = model.estimator.explain(X)
    # Replies (planted +0.5 each): leads that wrote back at least twice are pushed up against silent ones.
    replies = np.nan_to_num(X[:, keys.index("rel.emails_from_them")])
    push = contrib[:, keys.index("rel.emails_from_them")]
    answered, silent = replies >= 2, replies == 0
    assert answered.sum() > 30 and silent.sum() > 30
    assert push[answered].mean() - push[silent].mean() > 0.25, (push[answered].mean(), push[silent].mean())
    # Response time (planted negative): among leads that answered, the slower half is pushed down against the
    # faster half.
    hours = X[:, keys.index("rel.their_response_hours")]
    slow_push = contrib[:, keys.index("rel.their_response_hours")]
    median = np.nanmedian(hours)
    assert slow_push[hours > median].mean() < slow_push[hours <= median].mean()
    weight = dict(zip(keys, np.abs(contrib).mean(axis=0), strict=True))
    assert weight["rel.emails_from_them"] > weight["account.country"]
    assert model.metrics["auc"] > 0.65

"""On the generator's synthetic CRM records, the reasons recover the planted outcome drivers.

The generator draws each lead's outcome from a published logistic model (``ground_truth.json`` → ``crm.leads``):
referral and partner sources, senior titles, a budget and a business address raise the odds; cold outreach and
free-mail addresses lower them; the country has no effect. Several small tenants are pooled (their CRM rows
are independent draws from the same planted model) so the test has enough closed leads and stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import numpy as np
import pytest

from analytics.scoring.importer import parse_file
from analytics.scoring.mapping import load_mapping
from analytics.scoring.records import ScoringRecord
from analytics.scoring.training import TrainedModel, TrainingConfig, train

SEEDS = (1, 2, 3, 4)
SENIOR = ("CEO", "CTO", "CFO", "VP", "Director", "Head")
FREE_MAIL: set[str] = set()  # filled from ground_truth.json


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[ScoringRecord], dict[str, float], datetime]:
    """Leads of several small tenants, the planted lead coefficients, and the generator's "now"."""
    from graph_sync.emulator.generator import generate_tenant

    records: list[ScoringRecord] = []
    coefficients: dict[str, float] = {}
    now = datetime.min
    for seed in SEEDS:
        out = tmp_path_factory.mktemp(f"tenant{seed}")
        generate_tenant(out, seed=seed, size="small")
        truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
        coefficients = {**truth["crm"]["leads"]["coefficients"]}
        FREE_MAIL.update(truth["free_mail_domains"])
        now = datetime.fromisoformat(truth["reference_now"].replace("Z", "+00:00"))
        mapping = load_mapping(out / "crm" / "leads.mapping.toml")
        rows, _ = parse_file(out / "crm" / "leads.csv", mapping, "lead")
        records.extend(ScoringRecord(
            record_id=f"{seed}-{r.record_id}", created_at=r.created_at, closed_at=r.closed_at,
            label={"positive": 1, "negative": 0}.get(r.outcome), owner=None, fields=r.fields,
            contact_email=r.contact_email, contact_name=r.contact_name, contact_fields=r.contact_fields,
            account_fields=r.account_fields) for r in rows)
    return records, coefficients, now


@pytest.fixture(scope="module")
def model(pooled: tuple[list[ScoringRecord], dict[str, float], datetime]) -> TrainedModel:
    records, _, now = pooled
    return train(records, "lead", now, TrainingConfig(boosting_trees=100))


def _mean_contribution(model: TrainedModel, records: list[ScoringRecord], key: str,
                       having: Callable[[ScoringRecord], bool]) -> tuple[float, float]:
    X = model.builder.transform(records)
    _, contrib = model.estimator.explain(X)
    j = [f.key for f in model.builder.features].index(key)
    sel = np.array([having(r) for r in records])
    return float(contrib[sel, j].mean()), float(contrib[~sel, j].mean())


def test_reasons_push_each_planted_driver_the_planted_way(
        pooled: tuple[list[ScoringRecord], dict[str, float], datetime], model: TrainedModel) -> None:
    records, coefficients, _ = pooled
    checks = [  # (planted coefficient, feature key, records that have the driver)
        ("source_is_referral", "source", lambda r: r.fields.get("source") == "referral"),
        ("source_is_cold_outreach", "source", lambda r: r.fields.get("source") == "cold_outreach"),
        ("email_is_free_mail", "intelligent.email_domain",
         lambda r: (r.contact_email or "@").rsplit("@", 1)[1] in FREE_MAIL),
        ("title_is_senior", "contact.title", lambda r: str(r.contact_fields.get("title")).startswith(SENIOR)),
        ("has_budget", "budget", lambda r: r.fields.get("budget") is not None),
    ]
    for planted, key, having in checks:
        with_driver, without = _mean_contribution(model, records, key, having)
        assert np.sign(with_driver - without) == np.sign(coefficients[planted]), planted
        assert abs(with_driver - without) > 0.2, planted


def test_a_field_without_planted_effect_weighs_less_than_the_planted_drivers(model: TrainedModel,
        pooled: tuple[list[ScoringRecord], dict[str, float], datetime]) -> None:
    records, _, _ = pooled
    X = model.builder.transform(records)
    _, contrib = model.estimator.explain(X)
    weight = dict(zip([f.key for f in model.builder.features], np.abs(contrib).mean(axis=0), strict=True))
    for planted in ("source", "intelligent.email_domain", "contact.title"):
        assert weight["account.country"] < weight[planted]


def test_post_outcome_status_reason_is_never_a_feature(model: TrainedModel) -> None:
    keys = {f.key for f in model.builder.features}
    assert "status_reason" not in keys
    assert model.warnings == []
    assert model.metrics["auc"] > 0.6

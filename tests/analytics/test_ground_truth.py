"""Relationship analytics against the synthetic tenant generator's ground truth (small tenant, seed 7).

The thresholds are what the implementation reaches on this tenant (figures for the demo tenant are in
``docs/health.md``); they guard against regressions, not against the generator's noise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from analytics.settings import Settings
from graph_sync.emulator.generator.generate import generate_tenant

from . import evaluation as ev
from .synthetic import load_tenant

NOW = datetime(2026, 11, 1, tzinfo=UTC)  # the generator's reference "now"


@pytest.fixture(scope="module")
def tenant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "small"
    generate_tenant(out, seed=7, size="small")
    return out


def test_small_tenant_matches_its_ground_truth(engine: Engine, tenant_dir: Path) -> None:
    tenant_id, truth = load_tenant(engine, tenant_dir, now=NOW)

    accounts, contacts = ev.trend_reports(engine, tenant_id, truth, Settings(), NOW)
    assert accounts.n == 20 and accounts.accuracy >= 0.95, accounts
    assert contacts.n >= 70 and contacts.accuracy >= 0.9, contacts
    for state in ev.STATES:  # ~70 contacts: one contact moves a state's figure by 3-4 points
        assert contacts.precision[state] >= 0.8, (state, contacts.precision)
        assert contacts.recall[state] >= 0.8, (state, contacts.recall)

    connectors = ev.connector_report(engine, tenant_id, truth, NOW)
    assert connectors.first >= 0.95 and connectors.top5 == 1.0, connectors
    # Where the account changed owner, the new owner is the planted strongest; a recent handover has not yet
    # overtaken the previous owner's history.
    assert connectors.handed_over_n >= 10 and connectors.handed_over_top5 == 1.0, connectors
    assert connectors.handed_over_first >= 0.8, connectors

    # Every relationship's median first-response time of each side, computed from the mail, matches the
    # generator's realised value to the minute.
    responses = ev.response_report(engine, tenant_id, truth, NOW)
    assert responses.n > 200 and responses.within_minute == 1.0, responses

    links = ev.link_prediction(engine, tenant_id, truth)
    # Relationships move (handovers, new and fading ties, one-way sequences): who-knows strength, with recency
    # and reciprocity, predicts who corresponds after the cut better than the raw count of the same rows.
    assert links.contacts > 50 and links.two_way_contacts > 50
    assert links.recall_at_5 >= links.baseline_recall_at_5 and links.mrr > links.baseline_mrr, links
    assert links.two_way_recall_at_5 >= links.two_way_baseline_recall_at_5, links
    assert links.two_way_mrr > links.two_way_baseline_mrr, links

"""Leads and opportunities asked for by the names the cards show them by: an opportunity's own name, a lead's
"Name (Company)" or its contact's name alone, a Chinese name; several records of one name are an
:class:`AmbiguousRecordName` listing their ids; an account's name still means the account."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from analytics.query import AmbiguousRecordName, RelationshipQueries
from analytics.relationships.errors import TargetNotFound
from analytics.settings import Settings
from analytics.store import models
from analytics.store.ids import contact_key
from analytics.store.queries_relationships import TEXT_KEY


@pytest.fixture
def queries(engine: Engine, tenant_id: str, now: datetime) -> RelationshipQueries:
    opportunity = models.table_of(models.Opportunity)
    lead = models.table_of(models.Lead)
    account = models.table_of(models.Account)
    contact = models.table_of(models.Contact)
    with engine.begin() as conn:
        conn.execute(insert(account), [
            {"tenant_id": tenant_id, "account_id": "ACC-1", "name": "Pioneer Analytics"},
            {"tenant_id": tenant_id, "account_id": "ACC-2", "name": "恒泰科技"}])
        conn.execute(insert(contact), [
            {"tenant_id": tenant_id, "contact_id": contact_key(e), "email": e, "domain": e.split("@")[1],
             "display_name": n}
            for e, n in (("marco.moreau@pioneer.example", "Marco Moreau"), ("li.na@hengtai.example", "李娜"),
                         ("marc.other@else.example", "Marcella Otero"))])
        conn.execute(insert(opportunity), [
            {"tenant_id": tenant_id, "opportunity_id": i, "account_id": a, "created_at": now, "fields": f}
            for i, a, f in (("OPP-1", "ACC-1", {TEXT_KEY: {"name": "Pioneer Analytics - Platform Q3 2026"}}),
                            ("OPP-2", "ACC-1", {"name": "Fjord Foods - Services"}),
                            ("OPP-3", "ACC-1", {"name": "Fjord Foods - Services"}),
                            ("OPP-5", "ACC-1", {"name": "Fjord Foods - Platform Q3 2026"}),
                            ("OPP-6", "ACC-1", {"name": "Fjord Foods - Platform Q3 2026 (2)"}),
                            ("OPP-4", "ACC-2", {"name": "恒泰科技 - 平台"}))])
        conn.execute(insert(lead), [
            {"tenant_id": tenant_id, "lead_id": i, "contact_email": e, "account_id": a, "created_at": now,
             "fields": {}}
            for i, e, a in (("L-1", "marco.moreau@pioneer.example", "ACC-1"), ("L-2", "li.na@hengtai.example", "ACC-2"),
                            ("L-3", "marc.other@else.example", None))])
    return RelationshipQueries(engine, Settings())


def test_an_opportunity_is_found_by_its_own_name(queries: RelationshipQueries, tenant_id: str) -> None:
    ref = queries.resolve_target(tenant_id, "pioneer analytics - platform q3 2026")
    assert (ref.kind, ref.key, ref.label) == ("opportunity", "OPP-1", "Pioneer Analytics - Platform Q3 2026")
    assert queries.resolve_target(tenant_id, "opportunity:恒泰科技 - 平台").key == "OPP-4"


def test_a_lead_is_found_by_its_label_or_its_contacts_name(queries: RelationshipQueries, tenant_id: str) -> None:
    for text in ("Marco Moreau (Pioneer Analytics)", "marco moreau", "lead:Marco Moreau"):
        ref = queries.resolve_target(tenant_id, text)
        assert (ref.kind, ref.key, ref.label) == ("lead", "L-1", "Marco Moreau (Pioneer Analytics)"), text
    assert queries.resolve_target(tenant_id, "李娜").key == "L-2"


def test_a_name_shared_by_several_records_lists_them_by_id(queries: RelationshipQueries, tenant_id: str) -> None:
    with pytest.raises(AmbiguousRecordName) as err:
        queries.resolve_target(tenant_id, "Fjord Foods - Services")
    assert err.value.candidates == (("opportunity:OPP-2", "Fjord Foods - Services"),
                                    ("opportunity:OPP-3", "Fjord Foods - Services"))
    # "marc" is inside both "Marco Moreau" and "Marcella Otero": no exact match, two that contain it
    with pytest.raises(AmbiguousRecordName):
        queries.resolve_target(tenant_id, "lead:marc")


def test_an_exact_name_wins_over_names_containing_it_and_accounts_come_first(
        queries: RelationshipQueries, tenant_id: str) -> None:
    assert queries.resolve_target(tenant_id, "Fjord Foods - Platform Q3 2026").key == "OPP-5"
    assert queries.resolve_target(tenant_id, "Fjord Foods - Platform Q3 2026 (2)").key == "OPP-6"
    assert queries.resolve_target(tenant_id, "Pioneer Analytics").kind == "account"
    with pytest.raises(TargetNotFound):
        queries.resolve_target(tenant_id, "opportunity:Marco Moreau")  # a lead's name, not an opportunity's
    with pytest.raises(TargetNotFound):
        queries.resolve_target(tenant_id, "zz")  # too short to name one record

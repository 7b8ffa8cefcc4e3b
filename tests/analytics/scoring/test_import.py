"""Importing CRM files: everything or nothing, and every problem with its line and column."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from analytics.errors import NotFound
from analytics.scoring.errors import ImportInvalid, MappingError
from analytics.scoring.importer import import_file
from analytics.scoring.mapping import load_mapping, parse_mapping
from analytics.store import models
from analytics.store.ids import contact_key, domain_of
from tests.analytics.scoring.synth import LEAD_MAPPING, lead_rows, to_csv


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(models.table_of(model))).scalar_one())


def _write(tmp_path: Path, text: str, name: str = "leads.csv") -> tuple[Path, Path]:
    (tmp_path / "map.toml").write_text(LEAD_MAPPING, encoding="utf-8")
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path / name, tmp_path / "map.toml"


def test_valid_csv_imports_records_contacts_accounts_and_members(engine: Engine, tenant_id: str,
                                                                 tmp_path: Path) -> None:
    path, mapping = _write(tmp_path, to_csv(lead_rows(60)))
    summary = import_file(engine, tenant_id, path, load_mapping(mapping), "lead")
    assert summary.records == 60 == summary.positives + summary.negatives + summary.open_records
    assert _count(engine, models.Lead) == 60
    assert _count(engine, models.Contact) == 60
    assert _count(engine, models.Account) == 60
    assert _count(engine, models.CrmMember) == 120  # owner + stakeholder
    with engine.connect() as conn:
        row = conn.execute(select(models.table_of(models.Lead)).where(
            models.table_of(models.Lead).c.lead_id == "L00001")).one()
    assert row.fields["_post_outcome"]["reason"].endswith("by sales")  # kept, but apart from the features
    assert "reason" not in row.fields
    # Re-importing replaces instead of duplicating.
    import_file(engine, tenant_id, path, load_mapping(mapping), "lead")
    assert _count(engine, models.Lead) == 60


def test_jsonl_file_imports_like_csv(engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    rows = lead_rows(10)
    path, mapping = _write(tmp_path, "\n".join(json.dumps(r) for r in rows) + "\n", "leads.jsonl")
    assert import_file(engine, tenant_id, path, load_mapping(mapping), "lead").records == 10


def test_every_problem_is_reported_with_line_and_column_and_nothing_is_written(
        engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    rows = lead_rows(20)
    rows[2]["Status"] = "Maybe"  # line 4 (header is line 1)
    rows[5]["Created"] = "yesterday"  # line 7
    rows[9]["Visits"] = "many"  # line 11
    rows[12]["Lead Id"] = rows[11]["Lead Id"]  # line 14
    path, mapping = _write(tmp_path, to_csv(rows))
    with pytest.raises(ImportInvalid) as caught:
        import_file(engine, tenant_id, path, load_mapping(mapping), "lead")
    found = {(p.line, p.column) for p in caught.value.problems}
    assert found == {(4, "Status"), (7, "Created"), (11, "Visits"), (14, "Lead Id")}
    assert "'Maybe' is not one of" in str(caught.value)
    assert "nothing imported" in str(caught.value)
    assert _count(engine, models.Lead) == 0
    assert _count(engine, models.Contact) == 0


def test_unknown_column_is_refused(engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    rows = [{**r, "Favourite colour": "blue"} for r in lead_rows(5)]
    path, mapping = _write(tmp_path, to_csv(rows))
    with pytest.raises(ImportInvalid) as caught:
        import_file(engine, tenant_id, path, load_mapping(mapping), "lead")
    [problem] = caught.value.problems
    assert (problem.line, problem.column) == (1, "Favourite colour")
    assert "unknown column" in problem.message
    assert _count(engine, models.Lead) == 0


def test_missing_mapped_column_is_refused(engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "Industry"} for r in lead_rows(5)]
    path, mapping = _write(tmp_path, to_csv(rows))
    with pytest.raises(ImportInvalid, match=r"Industry.*not in the file"):
        import_file(engine, tenant_id, path, load_mapping(mapping), "lead")


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty"),
    ("Lead Id,Created,Closed\n", "has a header but no records"),
])
def test_empty_file_is_refused_with_a_clear_message(engine: Engine, tenant_id: str, tmp_path: Path, text: str,
                                                    message: str) -> None:
    path, mapping = _write(tmp_path, text)
    with pytest.raises(ImportInvalid, match=message):
        import_file(engine, tenant_id, path, load_mapping(mapping), "lead")
    assert _count(engine, models.Lead) == 0


def test_a_failure_inside_the_transaction_leaves_nothing(engine: Engine, tmp_path: Path, now: datetime) -> None:
    path, mapping = _write(tmp_path, to_csv(lead_rows(5)))
    with pytest.raises(NotFound):
        import_file(engine, "no-such-tenant", path, load_mapping(mapping), "lead")
    assert _count(engine, models.Lead) == 0
    assert _count(engine, models.Account) == 0


def test_opportunity_stage_history_is_imported(engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    (tmp_path / "opps.csv").write_text(
        "id,created,closed,status,stage,amount\nO1,2026-01-01,2026-03-01,Won,Close,1000\n"
        "O2,2026-02-01,,Open,Develop,500\n", encoding="utf-8")
    (tmp_path / "stages.csv").write_text(
        "opportunity_id,stage,entered_at\nO1,Qualify,2026-01-01\nO1,Close,2026-02-01\nO2,Qualify,2026-02-01\n"
        "O2,Develop,2026-02-10\n", encoding="utf-8")
    mapping = parse_mapping("""
record_type = "opportunity"
[record]
id = "id"
created_at = "created"
closed_at = "closed"
stage = "stage"
amount = "amount"
[label]
column = "status"
positive = ["Won"]
negative = ["Lost"]
open = ["Open"]
[stages]
file = "stages.csv"
""", base_dir=tmp_path)
    summary = import_file(engine, tenant_id, tmp_path / "opps.csv", mapping, "opportunity")
    assert (summary.records, summary.stage_entries, summary.positives) == (2, 4, 1)
    assert _count(engine, models.OpportunityStage) == 4


@pytest.mark.parametrize(("text", "key"), [
    ('record_type = "deal"', "record_type"),
    ('record_type = "lead"\n[record]\nid = "x"', "record.created_at"),
    ('record_type = "lead"\n[record]\nid = "x"\ncreated_at = "c"\n[label]\ncolumn = "s"\npositive = ["a"]\n'
     'negative = ["b"]\n[fields.f]\ncolumn = "f"\nkind = "colour"', "fields.f.kind"),
    ('record_type = "lead"\ncolour = 1', "colour"),
])
def test_invalid_mapping_names_the_key_at_fault(text: str, key: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text)
    assert caught.value.key == key


def test_the_generator_mapping_files_parse() -> None:
    from graph_sync.emulator.generator.mapping import LEADS_MAPPING, OPPORTUNITIES_MAPPING

    leads = parse_mapping(LEADS_MAPPING)
    opps = parse_mapping(OPPORTUNITIES_MAPPING)
    assert [f.name for f in leads.fields if f.post_outcome] == ["status_reason"]
    assert opps.stages is not None and opps.stages.entered_at == "entered_on"


def test_import_links_contacts_the_sync_met_first_and_maps_business_domains(
    engine: Engine, tenant_id: str, tmp_path: Path, now: datetime
) -> None:
    rows = lead_rows(20)
    contact = models.table_of(models.Contact)
    business = next(r for r in rows if not r["Email"].endswith("gmail.com"))
    free = next(r for r in rows if r["Email"].endswith("gmail.com"))
    with engine.begin() as conn:  # the sync saw both people before the CRM import
        for r in (business, free):
            email = r["Email"]
            conn.execute(contact.insert().values(tenant_id=tenant_id, contact_id=contact_key(email), email=email,
                                                 domain=domain_of(email), fields={}))
    path, mapping = _write(tmp_path, to_csv(rows))
    import_file(engine, tenant_id, path, load_mapping(mapping), "lead")
    with engine.connect() as conn:
        linked = dict(conn.execute(select(contact.c.email, contact.c.account_id)).all())
        domains = dict(conn.execute(select(models.table_of(models.AccountDomain).c.domain,
                                           models.table_of(models.AccountDomain).c.account_id)).all())
    assert linked[business["Email"]] is not None and linked[free["Email"]] is not None
    assert domains[domain_of(business["Email"])] == linked[business["Email"]]
    assert "gmail.com" not in domains


RENAMING_MAPPING = """
record_type = "lead"

[record]
id = "Lead Id"
created_at = "Created"
contact_email = "Email"
contact_name = "Name"
account_id = "Account Id"
account_name = "Account"

[label]
column = "Status"
positive = ["Qualified"]
negative = ["Disqualified"]
open = ["Open"]
"""


def test_a_reimport_takes_the_crms_new_account_name_and_fills_a_contact_name_the_mail_never_gave(
        engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    """Re-importing kept the first account name forever, so a rename in the CRM never showed on cards."""
    mapping = tmp_path / "map.toml"
    mapping.write_text(RENAMING_MAPPING, encoding="utf-8")
    path = tmp_path / "leads.csv"
    header = "Lead Id,Created,Email,Name,Account Id,Account,Status\n"
    with engine.begin() as conn:  # met by the sync first: one with a name from the mail headers, one without
        conn.execute(models.table_of(models.Contact).insert(), [
            {"tenant_id": tenant_id, "contact_id": contact_key(e), "email": e, "domain": "fab.example",
             "display_name": n} for e, n in (("ann@fab.example", "Ann B."), ("bo@fab.example", "bo@fab.example"))])
    for account in ("Fabrikam", "Fabrikam Group"):
        path.write_text(header + f"L1,2026-10-01T00:00:00Z,ann@fab.example,Ann Baker,A1,{account},Open\n"
                                 f"L2,2026-10-01T00:00:00Z,bo@fab.example,Bo Chen,A1,{account},Open\n",
                        encoding="utf-8")
        import_file(engine, tenant_id, path, load_mapping(mapping), "lead")
    with engine.connect() as conn:
        accounts = conn.execute(select(models.table_of(models.Account).c.name)).scalars().all()
        contacts = dict(conn.execute(select(models.table_of(models.Contact).c.email,
                                            models.table_of(models.Contact).c.display_name)).all())
    assert accounts == ["Fabrikam Group"]
    assert contacts == {"ann@fab.example": "Ann B.", "bo@fab.example": "Bo Chen"}

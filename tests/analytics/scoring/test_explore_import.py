"""CRM exports as Excel, Salesforce, HubSpot and Dynamics write them: encodings, delimiters, decimal commas,
day-first dates, quoted line breaks, padding columns; every one either read exactly right or refused with its
line, column and what to change — never guessed, never half-imported."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from analytics.scoring.dataset import load_records
from analytics.scoring.errors import ImportInvalid, MappingError
from analytics.scoring.importer import import_file
from analytics.scoring.mapping import load_mapping, parse_mapping
from analytics.scoring.parsing import parse_date_cell, parse_number, parse_records, parse_stages
from analytics.store import models
from tests.analytics.scoring.test_service import _cli

MAPPING = """
record_type = "lead"
{extra}
[record]
id = "Lead Id"
created_at = "Created On"
closed_at = "Closed On"
contact_email = "Email"
contact_name = "Full Name"
account_id = "Company"
account_name = "Company"

[label]
column = "Status"
positive = ["Qualified"]
negative = ["Disqualified"]
open = ["Open", ""]

[fields.budget]
column = "Budget"
kind = "number"

[fields.newsletter]
column = "Newsletter"
kind = "bool"
"""
HEADER = "Lead Id,Created On,Closed On,Email,Full Name,Company,Status,Budget,Newsletter"


def _mapping(extra: str = "") -> str:
    return MAPPING.format(extra=extra)


def _files(tmp_path: Path, data: str | bytes, extra: str = "", name: str = "leads.csv") -> tuple[Path, Path]:
    (tmp_path / "map.toml").write_text(_mapping(extra), encoding="utf-8")
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", newline="")
    return path, tmp_path / "map.toml"


def _problems(text: str, extra: str = "", fmt: str = "csv") -> list[tuple[int, str, str]]:
    parsed = parse_records(text, parse_mapping(_mapping(extra)), "jsonl" if fmt == "jsonl" else "csv")
    return [(p.line, p.column, p.message) for p in parsed.problems]


def _one(text: str, extra: str = "") -> dict[str, object]:
    parsed = parse_records(text, parse_mapping(_mapping(extra)), "csv")
    assert not parsed.problems, parsed.problems
    r = parsed.records[0]
    return {"id": r.record_id, "created": r.created_at, "closed": r.closed_at, "name": r.contact_name,
            "account": r.account_id, **r.fields}


def _leads(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(models.table_of(models.Lead))).scalar_one())


# --- encodings ---------------------------------------------------------------------------------------------

def test_a_windows_1252_file_is_refused_with_its_line_and_the_key_to_set_then_imports_with_it(
        engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    text = f"{HEADER}\r\nL1,2025-01-05,2025-02-01,a@y.com,Ann,Acme,Qualified,1,Yes\r\n" \
           "L2,2025-01-06,,b@y.com,José Müller,Café,Open,,No\r\n"
    path, mapping = _files(tmp_path, text.encode("cp1252"))
    with pytest.raises(ImportInvalid) as caught:
        import_file(engine, tenant_id, path, load_mapping(mapping), "lead")
    [problem] = caught.value.problems
    assert problem.line == 3 and 'encoding = "cp1252"' in problem.message  # was: "file: not UTF-8 text"
    assert _leads(engine) == 0
    path, mapping = _files(tmp_path, text.encode("cp1252"), extra='encoding = "cp1252"')
    assert import_file(engine, tenant_id, path, load_mapping(mapping), "lead").records == 2
    with engine.connect() as conn:
        names = set(conn.execute(select(models.table_of(models.Contact).c.display_name)).scalars())
    assert "José Müller" in names


def test_utf16_file_gets_a_hint(engine: Engine, tenant_id: str, tmp_path: Path) -> None:
    text = f"{HEADER}\nL1,2025-01-05,2025-02-01,a@y.com,Ann,Acme,Qualified,1,Yes\n"
    path, mapping = _files(tmp_path, text.encode("utf-16"))
    with pytest.raises(ImportInvalid, match='encoding = "utf-16"'):
        import_file(engine, tenant_id, path, load_mapping(mapping), "lead")
    path, mapping = _files(tmp_path, text.encode("utf-16"), extra='encoding = "utf-16"')
    assert import_file(engine, tenant_id, path, load_mapping(mapping), "lead").records == 1


# --- delimiters, decimal commas, dates ---------------------------------------------------------------------

EUROPEAN = ('delimiter = ";"\ndecimal_separator = ","\ndate_formats = ["%d/%m/%Y", "%d.%m.%Y %H:%M"]')


def test_a_european_excel_file_reads_exactly_with_the_mapping_keys() -> None:
    text = ("Lead Id;Created On;Closed On;Email;Full Name;Company;Status;Budget;Newsletter\r\n"
            "L1;31/12/2024;15.01.2025 10:30;a@y.com;Ana;Gamma, S.A.;Qualified;1.200,50 €;TRUE\r\n")
    got = _one(text, EUROPEAN)
    assert got["created"] == datetime(2024, 12, 31, tzinfo=UTC)
    assert got["closed"] == datetime(2025, 1, 15, 10, 30, tzinfo=UTC)
    assert got["budget"] == 1200.5
    assert got["account"] == "Gamma, S.A."


def test_a_semicolon_file_without_the_delimiter_key_says_which_key_to_set() -> None:
    text = "Lead Id;Created On;Closed On;Email;Full Name;Company;Status;Budget;Newsletter\nL1;x;x;x;x;x;x;x;x\n"
    [(line, _column, message)] = _problems(text)
    assert line == 1 and 'set delimiter = ";"' in message


def test_excel_sep_line_and_blank_lines_before_the_header_keep_line_numbers_true() -> None:
    text = f"sep=;\n\n{HEADER.replace(',', ';')}\nL1;2025-01-05;2025-02-01;a@y.com;Ann;Acme;Maybe;1;Yes\n"
    assert _problems(text) == [(4, "Status", "label value 'Maybe' is not one of positive ['qualified'], "
                                             "negative ['disqualified'] or open ['', 'open']")]


@pytest.mark.parametrize(("raw", "decimal", "value"), [
    ("$12,000.00", None, 12000.0),
    ("12 000 €", None, 12000.0),
    ("12\u00a0000,50 €", ",", 12000.5),
    ("1,200", ".", 1200.0),
    ("1,200", ",", 1.2),
    ("1.200", ",", 1200.0),
    ("1.200.000", ",", 1200000.0),
    ("1,200,000", None, 1200000.0),
    ("-$1,200.50", None, -1200.5),
    ("1'200.5", None, 1200.5),
    ("0.125", None, 0.125),
    ("1e3", None, 1000.0),
    ("41600", None, 41600.0),
])
def test_numbers_are_read_as_written(raw: str, decimal: str | None, value: float) -> None:
    assert parse_number(raw, decimal) == (value, None)


@pytest.mark.parametrize(("raw", "decimal", "says"), [
    ("1,200", None, "ambiguous"),  # 1200 or 1.2: never guessed
    ("1200,50", None, 'decimal_separator = ","'),
    ("1.2k", None, "write it out"),
    ("NaN", None, "expected a number"),
    ("inf", None, "expected a number"),
    ("1e999", None, "finite"),
    ("1,2,3", ".", "expected a number"),
    ("12,34", ".", "expected a number"),  # not a thousands group
])
def test_numbers_that_are_unclear_or_not_numbers_are_refused(raw: str, decimal: str | None, says: str) -> None:
    value, problem = parse_number(raw, decimal)
    assert value is None and problem is not None and says in problem


def test_nan_and_infinity_budgets_no_longer_import() -> None:
    text = f"{HEADER}\nL1,2025-01-05,2025-02-01,a@y.com,A,Acme,Qualified,NaN,Yes\n" \
           "L2,2025-01-05,2025-02-01,b@y.com,B,Acme,Qualified,inf,Yes\n"
    assert [(line, col) for line, col, _ in _problems(text)] == [(2, "Budget"), (3, "Budget")]


def test_an_amount_takes_the_same_rules(tmp_path: Path) -> None:
    mapping = parse_mapping(_mapping('decimal_separator = "."').replace(
        'record_type = "lead"', 'record_type = "opportunity"').replace(
        'account_name = "Company"', 'account_name = "Company"\namount = "Amount"'))
    text = f"{HEADER},Amount\nO1,2025-01-05,2025-02-01,a@y.com,A,Acme,Qualified,1,Yes,\"$12,000.00\"\n"
    parsed = parse_records(text, mapping, "csv")
    assert not parsed.problems and parsed.records[0].amount == 12000.0


def test_a_date_two_formats_read_differently_is_refused_not_given_the_first_meaning() -> None:
    formats = ("%d/%m/%Y", "%m/%d/%Y")
    value, problem = parse_date_cell("03/04/2025", formats)
    assert value is None and problem is not None and "ambiguous" in problem
    assert parse_date_cell("13/04/2025", formats) == (datetime(2025, 4, 13, tzinfo=UTC), None)
    assert parse_date_cell("04/04/2025", formats) == (datetime(2025, 4, 4, tzinfo=UTC), None)
    assert parse_date_cell("2025-12-31T10:00:00Z", formats) == (datetime(2025, 12, 31, 10, tzinfo=UTC), None)


def test_day_first_dates_without_a_format_and_excel_serials_say_what_to_do() -> None:
    text = f"{HEADER}\nL1,31/12/2025,,a@y.com,A,Acme,Open,,\nL2,45657,,b@y.com,B,Acme,Open,,\n"
    problems = _problems(text)
    assert [(line, col) for line, col, _ in problems] == [(2, "Created On"), (3, "Created On")]
    assert 'date_formats = ["%d/%m/%Y"]' in problems[0][2]
    assert "Excel serial date" in problems[1][2]


# --- CSV shape ---------------------------------------------------------------------------------------------

def test_a_record_with_a_quoted_line_break_is_reported_on_its_first_line() -> None:
    text = (f"{HEADER}\r\nL1,2025-01-05,2025-02-01,a@y.com,\"Line one\r\nline two\",\"Acme, Inc.\",Qualified,1,Yes\r\n"
            "L2,2025-01-05,,b@y.com,B,Acme,Maybe,,\r\n")
    assert [(line, col) for line, col, _ in _problems(text)] == [(4, "Status")]  # was line 4 and … line 3 for L1
    text = f"{HEADER}\nL1,2025-01-05,2025-02-01,a@y.com,\"Line one\nline two\",Acme,Bad,1,Yes\n"
    assert [(line, col) for line, col, _ in _problems(text)] == [(2, "Status")]  # was line 3


def test_an_unclosed_quote_points_at_its_line() -> None:
    text = f"{HEADER}\nL1,2025-01-05,,a@y.com,\"Ann,Acme,Open,,\nL2,2025-01-05,,b@y.com,B,Acme,Open,,\n"
    [(line, _col, message)] = _problems(text)
    assert line == 2 and "quote that is not closed" in message


def test_a_huge_unclosed_cell_is_a_problem_not_a_crash() -> None:
    text = f"{HEADER}\nL1,2025-01-05,,a@y.com,\"{'x' * 200_000},Acme,Open,,\n"
    [(line, _col, message)] = _problems(text)  # was: _csv.Error traceback
    assert line == 2 and "field limit" in message


def test_padding_columns_are_ignored_but_a_value_under_an_unnamed_column_is_not() -> None:
    ok = f"{HEADER},,\r\nL1,2025-01-05,2025-02-01,a@y.com,A,Acme,Qualified,1,Yes,,\r\n,,,,,,,,,,\r\n\r\n"
    assert _problems(ok) == []  # was: two "unknown column" problems with an empty name
    bad = f"{HEADER},\nL1,2025-01-05,2025-02-01,a@y.com,A,Acme,Qualified,1,Yes,oops\n"
    assert [(line, col) for line, col, _ in _problems(bad)] == [(2, "(unnamed column 10)")]


def test_a_mapped_column_named_twice_in_the_header_is_refused() -> None:
    text = f"{HEADER},Email\nL1,2025-01-05,2025-02-01,a@y.com,A,Acme,Qualified,1,Yes,other@y.com\n"
    assert [(line, col) for line, col, _ in _problems(text)] == [(1, "Email")]  # was: the last one won


def test_a_header_differing_only_in_case_or_spaces_names_the_file_column() -> None:
    text = f"lead  id,{HEADER.split(',', 1)[1]}\nL1,2025-01-05,2025-02-01,a@y.com,A,Acme,Qualified,1,Yes\n"
    problems = _problems(text)
    assert (1, "Lead Id", "column named by the mapping is not in the file (the file has 'lead  id': names "
                          "must match exactly)") in problems


def test_an_invalid_contact_email_is_refused() -> None:
    text = f"{HEADER}\nL1,2025-01-05,2025-02-01,not-an-email,A,Acme,Qualified,1,Yes\n"
    assert [(line, col) for line, col, _ in _problems(text)] == [(2, "Email")]


def test_chinese_columns_values_and_yes_no() -> None:
    mapping = parse_mapping("""
record_type = "lead"
[record]
id = "线索编号"
created_at = "创建日期"
[label]
column = "状态"
positive = ["合格"]
negative = ["不合格"]
open = ["进行中"]
[fields."订阅"]
column = "订阅"
kind = "bool"
""")
    parsed = parse_records("线索编号,创建日期,状态,订阅\nZ1,2025-01-05,合格,是\nZ2,2025-01-06,进行中,否\n", mapping, "csv")
    assert not parsed.problems
    assert [r.fields["订阅"] for r in parsed.records] == [True, False]


# --- JSON Lines --------------------------------------------------------------------------------------------

def _jsonl(*objs: dict[str, object]) -> str:
    return "\n".join(json.dumps(o, ensure_ascii=False) for o in objs) + "\n"


def test_jsonl_nested_values_and_nan_are_refused_with_their_line() -> None:
    base = {"Lead Id": "J1", "Created On": "2025-01-05", "Closed On": "2025-02-01", "Email": "j@y.com",
            "Full Name": "J", "Company": "Acme", "Status": "Qualified", "Budget": 1200, "Newsletter": True}
    text = _jsonl({**base, "Company": {"name": "Acme"}}, {**base, "Lead Id": "J2", "Extra": {"a": 1}})
    text += '{"Lead Id": "J3", "Created On": "2025-01-05", "Status": "Open", "Budget": NaN}\n'
    problems = _problems(text, 'unknown_columns = "ignore"', fmt="jsonl")
    assert [(line, col) for line, col, _ in problems] == [(1, "Company"), (3, "")]
    assert "JSON object" in problems[0][2] and "NaN" in problems[1][2]


def test_jsonl_numbers_follow_a_decimal_comma_mapping() -> None:
    base = {"Lead Id": "J1", "Created On": "2025-01-05", "Closed On": "2025-02-01", "Email": "j@y.com",
            "Full Name": "J", "Company": "Acme", "Status": "Qualified", "Budget": "1.200,5", "Newsletter": 1}
    parsed = parse_records(_jsonl(base), parse_mapping(_mapping('decimal_separator = ","')), "jsonl")
    assert not parsed.problems and parsed.records[0].fields["budget"] == 1200.5


def test_a_jsonl_stage_file_missing_a_key_is_a_problem_not_a_crash() -> None:
    spec = parse_mapping(_mapping().replace('record_type = "lead"', 'record_type = "opportunity"')
                         + '[stages]\nfile = "s.jsonl"\n').stages
    assert spec is not None
    entries, problems = parse_stages(_jsonl({"opportunity_id": "O1", "stage": "Qualify",
                                             "entered_at": "2025-01-05"}, {"opportunity_id": "O1"}),
                                     spec, "jsonl", {"O1"})
    assert len(entries) == 1 and {(p.line, p.column) for p in problems} == {(2, "stage"), (2, "entered_at")}


# --- mapping files -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "key"), [
    (("open = [", "opn = ["), "label.opn"),
    (('open = ["Open", ""]', 'open = ["Open", "", "qualified"]'), "label"),
    (('positive = ["Qualified"]', "positive = []"), "label.positive"),
    (('kind = "bool"', 'kind = "bool"\n[fields.status]\ncolumn = "Status"'), "fields.status.column"),
    (('kind = "bool"', 'kind = "bool"\n[fields.closed]\ncolumn = "Closed On"\nkind = "date"'),
     "fields.closed.column"),
    (('kind = "bool"', 'kind = "bool"\n[fields.budget2]\ncolumn = "Budget"'), "fields.budget2.column"),
    (('record_type = "lead"', 'record_type = "lead"\nignore = ["Budget"]'), "ignore"),
    (('account_id = "Company"\n', ""), "record.account_id"),
    (('record_type = "lead"', 'record_type = "lead"\ndate_formats = ["%Q"]'), "date_formats"),
    (('record_type = "lead"', 'record_type = "lead"\ndate_formats = ["%H:%M"]'), "date_formats"),
    (('record_type = "lead"', 'record_type = "lead"\nencoding = "klingon"'), "encoding"),
    (('record_type = "lead"', 'record_type = "lead"\nencoding = "base64"'), "encoding"),
    (('record_type = "lead"', 'record_type = "lead"\ndelimiter = ";;"'), "delimiter"),
    (('record_type = "lead"', 'record_type = "lead"\ndecimal_separator = "·"'), "decimal_separator"),
    (('record_type = "lead"', 'record_type = "opportunity"\n[stages]\nfile = "s.csv"\nentered = "x"'),
     "stages.entered"),
])
def test_mapping_mistakes_name_the_key(change: tuple[str, str], key: str) -> None:
    text = _mapping()
    assert change[0] in text
    with pytest.raises(MappingError) as caught:
        parse_mapping(text.replace(change[0], change[1], 1))
    assert caught.value.key == key


def test_the_account_name_may_share_the_account_key_column() -> None:
    assert parse_mapping(_mapping()).standard["account_name"] == "Company"


# --- store and CLI -----------------------------------------------------------------------------------------

@pytest.mark.sqlite_only  # PostgreSQL's JSONB never accepted NaN or infinities
def test_non_finite_numbers_stored_by_older_imports_are_read_as_missing(engine: Engine, tenant_id: str,
                                                                        now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(models.table_of(models.Lead).insert().values(
            tenant_id=tenant_id, lead_id="L1", status="qualified", created_at=now, closed_at=now,
            fields={"budget": float("inf"), "visits": 3.0}))
    with engine.connect() as conn:
        [record] = load_records(conn, tenant_id, "lead")
    assert record.fields["budget"] is None and record.fields["visits"] == 3.0
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in record.fields.values())


def test_cli_import_of_opportunities_says_opportunities(db_url: str, engine: Engine, tenant_id: str,
                                                        tmp_path: Path) -> None:
    mapping = _mapping().replace('record_type = "lead"', 'record_type = "opportunity"')
    (tmp_path / "map.toml").write_text(mapping, encoding="utf-8")
    (tmp_path / "o.csv").write_text(f"{HEADER}\nO1,2025-01-05,2025-02-01,a@y.com,A,Acme,Qualified,1,Yes\n",
                                    encoding="utf-8")
    result = CliRunner().invoke(_cli(db_url, tmp_path), ["scoring", "import", "opportunity",
                                                         str(tmp_path / "o.csv"), "--mapping",
                                                         str(tmp_path / "map.toml")])
    assert result.exit_code == 0, result.output
    assert "Imported 1 opportunities" in result.output  # was "opportunitys"

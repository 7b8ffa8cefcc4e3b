"""CRM files (CSV or JSON Lines) → typed records, with every problem found (pure: text in, records out).

Validation collects problems instead of stopping at the first, so one run tells the user everything to fix.
Line numbers are what an editor shows: in a CSV the header is line 1 and the first record line 2; in JSON Lines
the first record is line 1.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from analytics.scoring.errors import ImportProblem
from analytics.scoring.mapping import FieldSpec, Mapping, StagesSpec

Outcome = Literal["positive", "negative", "open"]
FieldValue = str | float | bool | None
# (line, cells by column, problems as (column, message)); a row whose cells are {} could not be read at all.
Row = tuple[int, dict[str, str], list[tuple[str, str]]]

STATUS_WORDS: dict[str, dict[Outcome, str]] = {
    "lead": {"positive": "qualified", "negative": "disqualified", "open": "open"},
    "opportunity": {"positive": "won", "negative": "lost", "open": "open"},
}


@dataclass(frozen=True)
class CrmRecord:
    """One lead or opportunity as imported. Field values are parsed: numbers are floats, dates ISO strings."""

    record_id: str
    line: int
    created_at: datetime
    outcome: Outcome
    closed_at: datetime | None = None
    owner: str | None = None
    contact_email: str | None = None
    contact_name: str | None = None
    account_id: str | None = None
    account_name: str | None = None
    stage: str | None = None
    amount: float | None = None
    fields: dict[str, FieldValue] = field(default_factory=dict)
    contact_fields: dict[str, FieldValue] = field(default_factory=dict)
    account_fields: dict[str, FieldValue] = field(default_factory=dict)
    post_outcome: dict[str, FieldValue] = field(default_factory=dict)  # known only after the outcome
    text: dict[str, FieldValue] = field(default_factory=dict)  # free text: kept, never a feature


@dataclass(frozen=True)
class StageEntry:
    """An opportunity entered ``stage`` at ``entered_at``."""

    record_id: str
    stage: str
    entered_at: datetime
    line: int


@dataclass
class ParseResult:
    """Records and stage history read from files, and every problem found on the way."""

    records: list[CrmRecord] = field(default_factory=list)
    stages: list[StageEntry] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)


def parse_datetime(raw: str, formats: tuple[str, ...] = ()) -> datetime | None:
    """ISO 8601 (date or date-time; naive means UTC) or one of ``formats``; ``None`` if none fits."""
    text = raw.strip()
    candidates: list[datetime] = []
    try:
        candidates.append(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        for fmt in formats:
            try:
                candidates.append(datetime.strptime(text, fmt))
                break
            except ValueError:
                continue
    if not candidates:
        return None
    value = candidates[0]
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_date_cell(raw: str, formats: tuple[str, ...] = ()) -> tuple[datetime | None, str | None]:
    """A date cell: ISO 8601, else the one reading the mapping's ``date_formats`` agree on; or what went wrong.

    A value two formats read as different dates (03/04/2025 with both %d/%m/%Y and %m/%d/%Y) is refused
    rather than given the first format's meaning: a silently swapped day and month is worse than an error.
    """
    text = raw.strip()
    iso = parse_datetime(text)
    if iso is not None:
        return iso, None
    readings: dict[datetime, str] = {}
    for fmt in formats:
        try:
            readings.setdefault(datetime.strptime(text, fmt), fmt)
        except ValueError:
            continue
    if len(readings) == 1:
        value = next(iter(readings))
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)), None
    if readings:
        both = " or ".join(f"{d:%Y-%m-%d} ({fmt})" for d, fmt in readings.items())
        return None, (f"{text!r} is ambiguous: {both}; list only the format the file uses in date_formats")
    if re.fullmatch(r"\d{4,6}(\.\d+)?", text):
        return None, (f"expected a date, got {text!r}, which looks like an Excel serial date number: format the "
                      "column as a date in Excel before saving the file")
    if formats:
        return None, f"expected an ISO 8601 date or one of date_formats {list(formats)}, got {text!r}"
    return None, (f"expected an ISO 8601 date such as 2026-03-31, got {text!r}: for another layout, list it in "
                  "the mapping, e.g. date_formats = [\"%d/%m/%Y\"]")


_CURRENCY = "$€£¥₹"
_SPACES = " \u00a0\u202f"  # Excel and European exports group thousands with (non-breaking) spaces
_NUMBER = {
    decimal: re.compile(r"(?P<int>\d{1,3}(?P<sep>[" + re.escape(group + _SPACES + "'’") + r"])\d{3}"
                        r"(?:(?P=sep)\d{3})*|\d+)?(?:" + re.escape(decimal) + r"(?P<frac>\d*))?"
                        r"(?P<exp>[eE][+-]?\d+)?")
    for decimal, group in ((".", ","), (",", "."))
}


def parse_number(raw: str, decimal: str | None = None) -> tuple[float | None, str | None]:
    """A number cell (currency sign and thousands separators allowed); or what went wrong.

    ``decimal`` is the mapping's ``decimal_separator``; when the mapping does not state it, "." is the decimal
    mark and a lone comma group ("1,200": 1200 or 1.2?) is refused as ambiguous instead of guessed.
    """
    text = raw.strip()
    body, sign = text, ""
    for _ in range(2):  # "-$1,200" and "$-1,200"
        body = body.strip(_CURRENCY + _SPACES)
        if body[:1] in ("+", "-") and not sign:
            sign, body = body[:1], body[1:]
    match = _NUMBER[decimal or "."].fullmatch(body)
    if match is None or not (match["int"] or match["frac"]):
        return None, _number_problem(text, decimal)
    if decimal is None and match["sep"] == "," and match["int"].count(",") == 1 and match["frac"] is None:
        return None, (f"{text!r} is ambiguous: a thousands separator (1200) or a decimal comma (1.2)? State "
                      "decimal_separator = \".\" or \",\" in the mapping")
    digits = re.sub(r"\D", "", match["int"] or "0")
    value = float(f"{sign}{digits}.{match['frac'] or '0'}{match['exp'] or ''}")
    if not math.isfinite(value):
        return None, f"expected a finite number, got {text!r}"
    return value, None


def _number_problem(text: str, decimal: str | None) -> str:
    if re.search(r"\d\s*[kKmMbB]$", text):
        return f"expected a number, got {text!r}: write it out in full (1.2k as 1200)"
    if decimal is None and "," in text:
        return (f"expected a number, got {text!r}: if \",\" is the decimal separator, set decimal_separator = "
                "\",\" in the mapping")
    return f"expected a number, got {text!r}"


_TRUE = {"1", "true", "yes", "y", "t", "是"}
_FALSE = {"0", "false", "no", "n", "f", "否"}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def _parse_value(spec: FieldSpec, raw: str, mapping: Mapping) -> tuple[FieldValue, str | None]:
    """The parsed value of one cell and, if it does not fit the field's kind, what was expected."""
    text = raw.strip()
    if text == "":
        return None, None
    if spec.kind == "number":
        return parse_number(text, mapping.decimal_separator)
    if spec.kind == "bool":
        low = text.casefold()
        if low in _TRUE:
            return True, None
        if low in _FALSE:
            return False, None
        return None, f"expected yes/no or true/false, got {text!r}"
    if spec.kind == "date":
        parsed, problem = parse_date_cell(text, mapping.date_formats)
        return (parsed.isoformat() if parsed else None), problem
    return text, None


UNNAMED = "(unnamed column {})"


def _preamble(text: str, delimiter: str) -> tuple[str, str, int]:
    """Skip blank lines before the header and Excel's "sep=;" line (which states the delimiter).

    Returns the rest of the text, the delimiter and how many lines were skipped (to keep line numbers true).
    """
    skipped = 0
    while True:
        line, newline, rest = text.partition("\n")
        sep = re.fullmatch(r"sep=(.)\r?", line)
        if newline and (not line.strip() or sep):
            delimiter = sep.group(1) if sep else delimiter
            text, skipped = rest, skipped + 1
            continue
        return text, delimiter, skipped


def _rows_csv(text: str, delimiter: str = ",") -> tuple[list[str], int, Iterator[Row]]:
    body, delimiter, skipped = _preamble(text, delimiter)
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    try:
        first = next(reader)
    except (StopIteration, csv.Error):
        return [], skipped + 1, iter(())
    # Empty header cells (Excel's trailing delimiters) get a name so that a value under them can be reported.
    header = [h.strip() or UNNAMED.format(i) for i, h in enumerate(first, start=1)]

    def rows() -> Iterator[Row]:
        end = reader.line_num
        try:
            for cells in reader:
                start, end = end + 1, reader.line_num  # a quoted cell may hold line breaks: report the first line
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) > len(header) and not any(c.strip() for c in cells[len(header):]):
                    cells = cells[:len(header)]  # padding delimiters at the end of a row
                if len(cells) != len(header):
                    problem = f"expected {len(header)} cells, got {len(cells)}"
                    if end > start:
                        problem += (f" (this record runs on to line {end + skipped}: check for a quote that is "
                                    "not closed)")
                    yield start + skipped, {}, [("", problem)]
                    continue
                yield start + skipped, dict(zip(header, cells, strict=True)), []
        except csv.Error as err:
            yield end + 1 + skipped, {}, [("", f"unreadable CSV from here on ({err}): check for a quote that is "
                                                "not closed")]

    return header, skipped + 1, rows()


class _Nested(str):
    """A JSON object or array where a plain value belongs (kept as JSON text, reported if the mapping reads it)."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return _Nested(json.dumps(value, ensure_ascii=False))
    return str(value)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON value")


def _rows_jsonl(text: str) -> tuple[list[str], list[Row]]:
    rows: list[Row] = []
    keys: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_constant=_no_constant)
        except ValueError as err:
            rows.append((number, {}, [("", f"invalid JSON ({getattr(err, 'msg', err)})")]))
            continue
        if not isinstance(obj, dict):
            rows.append((number, {}, [("", "expected a JSON object")]))
            continue
        keys.update(dict.fromkeys(str(k).strip() for k in obj))
        rows.append((number, {str(k).strip(): _cell(v) for k, v in obj.items()}, []))
    return list(keys), rows


def read_rows(text: str, fmt: Literal["csv", "jsonl"], delimiter: str = ",") -> tuple[list[str], int, Iterable[Row]]:
    """Column names, the header's line and the rows of a CSV or JSON Lines document (CSV rows are streamed)."""
    if fmt == "csv":
        return _rows_csv(text, delimiter)
    columns, rows = _rows_jsonl(text)
    return columns, rows[0][0] if rows else 1, rows


def _loose(name: str) -> str:
    return " ".join(name.split()).casefold()


def _check_columns(mapping: Mapping, columns: list[str], problems: list[ImportProblem], header_line: int) -> None:
    needed = set(mapping.standard.values()) | {mapping.label.column} | {f.column for f in mapping.fields}
    if len(columns) == 1 and columns[0] not in needed:
        other = next((d for d in ";\t|," if d != mapping.delimiter and d in columns[0]), None)
        if other is not None:
            shown = "\\t" if other == "\t" else other
            problems.append(ImportProblem(header_line, columns[0], (
                f"the header is a single column: the file looks separated by {shown!r}, not "
                f"{mapping.delimiter!r}; set delimiter = \"{shown}\" in the mapping")))
            return
    present = set(columns)
    loose = {_loose(c): c for c in columns}
    for col in sorted(needed - present):
        # JSON Lines may omit empty keys, so only a column absent from every line counts as missing.
        near = loose.get(_loose(col))
        hint = f" (the file has {near!r}: names must match exactly)" if near else ""
        problems.append(ImportProblem(header_line, col, f"column named by the mapping is not in the file{hint}"))
    for col in sorted(needed & present):
        if columns.count(col) > 1:
            problems.append(ImportProblem(header_line, col, f"the header names this column {columns.count(col)} "
                                                            "times: which one the mapping means is unclear"))
    if mapping.unknown_columns == "error":
        known = mapping.known_columns()
        for col in dict.fromkeys(columns):
            if col not in known and not col.startswith("(unnamed column"):
                problems.append(ImportProblem(
                    header_line, col,
                    "unknown column: map it under [fields] or list it in `ignore` (or set unknown_columns = \"ignore\")"))


def _unnamed_values(columns: list[str], row: dict[str, str], mapping: Mapping) -> list[tuple[str, str]]:
    if mapping.unknown_columns != "error":
        return []
    return [(col, f"a value ({row[col].strip()!r}) under a column without a name in the header")
            for col in columns if col.startswith("(unnamed column") and row.get(col, "").strip()]


def _nested_values(row: dict[str, str], mapping: Mapping) -> list[tuple[str, str]]:
    wanted = set(mapping.standard.values()) | {mapping.label.column} | {f.column for f in mapping.fields}
    return [(col, f"expected a plain value, got a JSON object or array {value[:60]}")
            for col, value in row.items() if isinstance(value, _Nested) and col in wanted]


def parse_records(text: str, mapping: Mapping, fmt: Literal["csv", "jsonl"]) -> ParseResult:
    """Parse and validate a leads or opportunities file against ``mapping``."""
    result = ParseResult()
    problems = result.problems
    columns, header_line, stream = read_rows(text, fmt, mapping.delimiter)
    rows = iter(stream)
    first = next(rows, None)
    if not columns or first is None:
        problems.append(ImportProblem(0, "", "the file is empty: no header and records" if not columns
                                      else "the file has a header but no records"))
        return result
    rows = itertools.chain([first], rows)
    _check_columns(mapping, columns, problems, header_line)
    if problems:
        return result  # per-row checks would repeat the same column problem on every line
    std = mapping.standard
    seen: dict[str, int] = {}
    for line, row, row_problems in rows:
        for column, message in row_problems:
            problems.append(ImportProblem(line, column, message))
        if not row:
            continue
        before = len(problems)

        def bad(column: str, message: str, _line: int = line) -> None:
            problems.append(ImportProblem(_line, column, message))

        for column, message in _unnamed_values(columns, row, mapping) + _nested_values(row, mapping):
            bad(column, message)
        record_id = row.get(std["id"], "").strip()
        if not record_id:
            bad(std["id"], "the record id is empty")
        elif record_id in seen:
            bad(std["id"], f"duplicate id {record_id!r} (first on line {seen[record_id]})")
        else:
            seen[record_id] = line
        created, problem = parse_date_cell(row.get(std["created_at"], ""), mapping.date_formats)
        if problem:
            bad(std["created_at"], problem)
        raw_label = row.get(mapping.label.column, "")
        outcome = mapping.label.outcome(raw_label)
        if outcome is None:
            bad(mapping.label.column, f"label value {raw_label!r} is not one of positive "
                f"{sorted(mapping.label.positive)}, negative {sorted(mapping.label.negative)} or open "
                f"{sorted(mapping.label.open)}")
        closed: datetime | None = None
        if "closed_at" in std and row.get(std["closed_at"], "").strip():
            closed, problem = parse_date_cell(row[std["closed_at"]], mapping.date_formats)
            if problem:
                bad(std["closed_at"], problem)
        elif outcome in ("positive", "negative"):
            if "closed_at" in std:
                bad(std["closed_at"], "a closed record needs its closing date")
            else:
                closed = created  # without a closing date, the creation date orders closed records
        if created and closed and closed < created:
            bad(std["closed_at"], "closed before it was created")
        amount: float | None = None
        if "amount" in std and row.get(std["amount"], "").strip():
            amount, problem = parse_number(row[std["amount"]], mapping.decimal_separator)
            if problem:
                bad(std["amount"], problem)
        email = row.get(std["contact_email"], "").strip() if "contact_email" in std else ""
        if email and not _EMAIL.fullmatch(email):
            bad(std["contact_email"], f"expected an email address, got {email!r}")
        values: dict[str, dict[str, FieldValue]] = {"record": {}, "contact": {}, "account": {}, "post": {},
                                                     "text": {}}
        for spec in mapping.fields:
            value, error = _parse_value(spec, row.get(spec.column, ""), mapping)
            if error:
                bad(spec.column, error)
            bucket = "post" if spec.post_outcome else "text" if spec.kind == "text" else spec.on
            values[bucket][spec.name] = value
        if len(problems) > before or created is None or outcome is None:
            continue

        def opt(key: str, _row: dict[str, str] = row) -> str | None:
            value = _row.get(std[key], "").strip() if key in std else ""
            return value or None

        result.records.append(CrmRecord(
            record_id=record_id, line=line, created_at=created, outcome=outcome,
            closed_at=closed if outcome != "open" else None, owner=opt("owner"),
            contact_email=email.lower() if email else None, contact_name=opt("contact_name"),
            account_id=opt("account_id"), account_name=opt("account_name"), stage=opt("stage"), amount=amount,
            fields=values["record"], contact_fields=values["contact"], account_fields=values["account"],
            post_outcome=values["post"], text=values["text"],
        ))
    return result


def parse_stages(text: str, spec: StagesSpec, fmt: Literal["csv", "jsonl"], known_ids: set[str],
                 formats: tuple[str, ...] = (), delimiter: str = ",") -> tuple[list[StageEntry], list[ImportProblem]]:
    """Parse a stage-history file; every row must name an opportunity of the imported file."""
    problems: list[ImportProblem] = []
    entries: list[StageEntry] = []
    columns, header_line, rows = read_rows(text, fmt, delimiter)
    rows = list(rows)
    if not columns or not rows:
        return [], [ImportProblem(0, "", f"the stage history {spec.file} is empty")]
    for col in (spec.id, spec.stage, spec.entered_at):
        if col not in columns:
            problems.append(ImportProblem(header_line, col, f"column missing from {spec.file}"))
    if problems:
        return [], problems
    for line, row, row_problems in rows:
        for column, message in row_problems:
            problems.append(ImportProblem(line, column, f"{spec.file}: {message}"))
        if not row:
            continue
        rid = row.get(spec.id, "").strip()
        stage = row.get(spec.stage, "").strip()
        entered, problem = parse_date_cell(row.get(spec.entered_at, ""), formats)
        if rid not in known_ids:
            problems.append(ImportProblem(line, spec.id, f"{spec.file}: unknown opportunity {rid!r}"))
        if not stage:
            problems.append(ImportProblem(line, spec.stage, f"{spec.file}: empty stage"))
        if problem:
            problems.append(ImportProblem(line, spec.entered_at, f"{spec.file}: {problem}"))
        if rid in known_ids and stage and entered is not None:
            entries.append(StageEntry(rid, stage, entered, line))
    return entries, problems

"""CRM files (CSV or JSON Lines) → typed records, with every problem found (pure: text in, records out).

Validation collects problems instead of stopping at the first, so one run tells the user everything to fix.
Line numbers are what an editor shows: in a CSV the header is line 1 and the first record line 2; in JSON Lines
the first record is line 1.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from analytics.scoring.errors import ImportProblem
from analytics.scoring.mapping import FieldSpec, Mapping, StagesSpec

Outcome = Literal["positive", "negative", "open"]
FieldValue = str | float | bool | None

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


_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def _parse_value(spec: FieldSpec, raw: str, formats: tuple[str, ...]) -> tuple[FieldValue, str | None]:
    """The parsed value of one cell and, if it does not fit the field's kind, what was expected."""
    text = raw.strip()
    if text == "":
        return None, None
    if spec.kind == "number":
        try:
            return float(text), None
        except ValueError:
            return None, f"expected a number, got {text!r}"
    if spec.kind == "bool":
        low = text.casefold()
        if low in _TRUE:
            return True, None
        if low in _FALSE:
            return False, None
        return None, f"expected yes/no or true/false, got {text!r}"
    if spec.kind == "date":
        parsed = parse_datetime(text, formats)
        if parsed is None:
            return None, f"expected a date (ISO 8601 such as 2026-03-31), got {text!r}"
        return parsed.isoformat(), None
    return text, None


def _rows_csv(text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str], str | None]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], iter(())

    def rows() -> Iterator[tuple[int, dict[str, str], str | None]]:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                yield line, {}, f"expected {len(header)} cells, got {len(cells)}"
                continue
            yield line, dict(zip(header, cells, strict=True)), None

    return header, rows()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _rows_jsonl(text: str) -> tuple[list[str], list[tuple[int, dict[str, str], str | None]]]:
    rows: list[tuple[int, dict[str, str], str | None]] = []
    keys: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            rows.append((number, {}, f"invalid JSON ({err.msg})"))
            continue
        if not isinstance(obj, dict):
            rows.append((number, {}, "expected a JSON object"))
            continue
        keys.update(dict.fromkeys(obj))
        rows.append((number, {str(k): _cell(v) for k, v in obj.items()}, None))
    return list(keys), rows


def read_rows(text: str, fmt: Literal["csv", "jsonl"]) -> tuple[list[str], list[tuple[int, dict[str, str], str | None]]]:
    """Column names and ``(line, row, problem)`` triples of a CSV or JSON Lines document."""
    if fmt == "csv":
        header, rows = _rows_csv(text)
        return header, list(rows)
    return _rows_jsonl(text)


def _check_columns(mapping: Mapping, columns: list[str], problems: list[ImportProblem], header_line: int,
                   jsonl: bool) -> None:
    present = set(columns)
    needed = set(mapping.standard.values()) | {mapping.label.column} | {f.column for f in mapping.fields}
    for col in sorted(needed - present):
        # JSON Lines may omit empty keys, so only a column absent from every line counts as missing.
        problems.append(ImportProblem(header_line, col, "column named by the mapping is not in the file"))
    if mapping.unknown_columns == "error":
        for col in columns:
            if col not in mapping.known_columns():
                problems.append(ImportProblem(
                    header_line, col,
                    "unknown column: map it under [fields] or list it in `ignore` (or set unknown_columns = \"ignore\")"))
    del jsonl


def parse_records(text: str, mapping: Mapping, fmt: Literal["csv", "jsonl"]) -> ParseResult:
    """Parse and validate a leads or opportunities file against ``mapping``."""
    result = ParseResult()
    problems = result.problems
    columns, rows = read_rows(text, fmt)
    if not columns or not rows:
        problems.append(ImportProblem(0, "", "the file is empty: no header and records" if not columns
                                      else "the file has a header but no records"))
        return result
    header_line = 1 if fmt == "csv" else rows[0][0]
    _check_columns(mapping, columns, problems, header_line, fmt == "jsonl")
    if problems:
        return result  # per-row checks would repeat the same column problem on every line
    std = mapping.standard
    seen: dict[str, int] = {}
    for line, row, problem in rows:
        if problem:
            problems.append(ImportProblem(line, "", problem))
            continue
        before = len(problems)

        def bad(column: str, message: str, _line: int = line) -> None:
            problems.append(ImportProblem(_line, column, message))

        record_id = row.get(std["id"], "").strip()
        if not record_id:
            bad(std["id"], "the record id is empty")
        elif record_id in seen:
            bad(std["id"], f"duplicate id {record_id!r} (first on line {seen[record_id]})")
        else:
            seen[record_id] = line
        created = parse_datetime(row.get(std["created_at"], ""), mapping.date_formats)
        if created is None:
            bad(std["created_at"], f"expected a date, got {row.get(std['created_at'], '')!r}")
        raw_label = row.get(mapping.label.column, "")
        outcome = mapping.label.outcome(raw_label)
        if outcome is None:
            bad(mapping.label.column, f"label value {raw_label!r} is not one of positive "
                f"{sorted(mapping.label.positive)}, negative {sorted(mapping.label.negative)} or open "
                f"{sorted(mapping.label.open)}")
        closed: datetime | None = None
        if "closed_at" in std and row.get(std["closed_at"], "").strip():
            closed = parse_datetime(row[std["closed_at"]], mapping.date_formats)
            if closed is None:
                bad(std["closed_at"], f"expected a date, got {row[std['closed_at']]!r}")
        elif outcome in ("positive", "negative"):
            if "closed_at" in std:
                bad(std["closed_at"], "a closed record needs its closing date")
            else:
                closed = created  # without a closing date, the creation date orders closed records
        if created and closed and closed < created:
            bad(std["closed_at"], "closed before it was created")
        amount: float | None = None
        if "amount" in std and row.get(std["amount"], "").strip():
            try:
                amount = float(row[std["amount"]])
            except ValueError:
                bad(std["amount"], f"expected a number, got {row[std['amount']]!r}")
        values: dict[str, dict[str, FieldValue]] = {"record": {}, "contact": {}, "account": {}, "post": {},
                                                     "text": {}}
        for spec in mapping.fields:
            value, error = _parse_value(spec, row.get(spec.column, ""), mapping.date_formats)
            if error:
                bad(spec.column, error)
            bucket = "post" if spec.post_outcome else "text" if spec.kind == "text" else spec.on
            values[bucket][spec.name] = value
        if len(problems) > before or created is None or outcome is None:
            continue

        def opt(key: str, _row: dict[str, str] = row) -> str | None:
            value = _row.get(std[key], "").strip() if key in std else ""
            return value or None

        email = opt("contact_email")
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
                 formats: tuple[str, ...] = ()) -> tuple[list[StageEntry], list[ImportProblem]]:
    """Parse a stage-history file; every row must name an opportunity of the imported file."""
    problems: list[ImportProblem] = []
    entries: list[StageEntry] = []
    columns, rows = read_rows(text, fmt)
    if not columns or not rows:
        return [], [ImportProblem(0, "", f"the stage history {spec.file} is empty")]
    for col in (spec.id, spec.stage, spec.entered_at):
        if col not in columns:
            problems.append(ImportProblem(1, col, f"column missing from {spec.file}"))
    if problems:
        return [], problems
    for line, row, problem in rows:
        if problem:
            problems.append(ImportProblem(line, "", f"{spec.file}: {problem}"))
            continue
        rid = row[spec.id].strip()
        stage = row[spec.stage].strip()
        entered = parse_datetime(row[spec.entered_at], formats)
        if rid not in known_ids:
            problems.append(ImportProblem(line, spec.id, f"{spec.file}: unknown opportunity {rid!r}"))
        if not stage:
            problems.append(ImportProblem(line, spec.stage, f"{spec.file}: empty stage"))
        if entered is None:
            problems.append(ImportProblem(line, spec.entered_at,
                                          f"{spec.file}: expected a date, got {row[spec.entered_at]!r}"))
        if rid in known_ids and stage and entered is not None:
            entries.append(StageEntry(rid, stage, entered, line))
    return entries, problems

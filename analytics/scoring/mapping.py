"""Mapping files: how the columns of a CRM export become lead or opportunity records.

A mapping is a small TOML document (the format is documented with examples in ``docs/scoring.md``)::

    record_type = "lead"                 # lead | opportunity
    unknown_columns = "error"            # error | ignore: columns in the file that the mapping does not name
    ignore = ["Notes"]                   # columns present in the file and deliberately unused

    [record]                             # standard fields → source columns
    id = "Lead Id"
    created_at = "Created On"
    closed_at = "Closed On"
    owner = "Owner"
    contact_email = "Email"
    contact_name = "Full Name"
    account_id = "Account"

    [label]
    column = "Status"
    positive = ["Qualified"]
    negative = ["Disqualified"]
    open = ["Open", ""]

    [fields.industry]                    # a feature field
    column = "Industry"
    kind = "category"                    # category | number | date | bool | text
    on = "account"                       # record | contact | account
    post_outcome = false                 # true: known only after the outcome, never a feature

Parsing is pure: :func:`parse_mapping` takes text and returns a :class:`Mapping`, or raises
:class:`~analytics.scoring.errors.MappingError` naming the key at fault.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from analytics.scoring.errors import MappingError

RecordType = Literal["lead", "opportunity"]
FieldKind = Literal["category", "number", "date", "bool", "text"]
FieldOwner = Literal["record", "contact", "account"]

RECORD_TYPES: tuple[RecordType, ...] = ("lead", "opportunity")
FIELD_KINDS: tuple[FieldKind, ...] = ("category", "number", "date", "bool", "text")
FIELD_OWNERS: tuple[FieldOwner, ...] = ("record", "contact", "account")

# Standard fields a mapping may bind under [record]; "id" and "created_at" are required.
STANDARD_FIELDS: dict[str, str] = {
    "id": "the record's unique id",
    "created_at": "when the record was created",
    "closed_at": "when it was closed (empty while open)",
    "owner": "the owning user (email or id)",
    "contact_email": "the lead's contact email",
    "contact_name": "the lead's contact name",
    "account_id": "the account key",
    "account_name": "the account's display name",
    "stage": "the opportunity's current stage",
    "amount": "the opportunity's amount",
}
REQUIRED_STANDARD = ("id", "created_at")


@dataclass(frozen=True)
class FieldSpec:
    """One mapped CRM field: where it comes from, its kind, which entity it describes, and whether it leaks."""

    name: str
    column: str
    kind: FieldKind = "category"
    on: FieldOwner = "record"
    post_outcome: bool = False


@dataclass(frozen=True)
class LabelSpec:
    """Which column carries the outcome and which of its values mean positive, negative or still open."""

    column: str
    positive: frozenset[str]
    negative: frozenset[str]
    open: frozenset[str] = frozenset({""})

    def outcome(self, raw: str) -> Literal["positive", "negative", "open"] | None:
        """The outcome of one cell, compared case-insensitively; ``None`` for a value the mapping does not know."""
        value = raw.strip().casefold()
        if value in self.positive:
            return "positive"
        if value in self.negative:
            return "negative"
        if value in self.open:
            return "open"
        return None


@dataclass(frozen=True)
class StagesSpec:
    """Where the stage history of opportunities lives (a second file) and its columns."""

    file: str
    id: str = "opportunity_id"
    stage: str = "stage"
    entered_at: str = "entered_at"


@dataclass(frozen=True)
class Mapping:
    """A validated mapping file."""

    record_type: RecordType
    standard: dict[str, str]
    label: LabelSpec
    fields: tuple[FieldSpec, ...] = ()
    ignore: frozenset[str] = frozenset()
    unknown_columns: Literal["error", "ignore"] = "error"
    date_formats: tuple[str, ...] = ()
    stages: StagesSpec | None = None
    base_dir: Path = field(default=Path("."))

    def known_columns(self) -> set[str]:
        """Every source column the mapping names (standard, label, fields and ignored)."""
        cols = set(self.standard.values()) | {self.label.column} | {f.column for f in self.fields}
        return cols | set(self.ignore)

    @property
    def feature_fields(self) -> tuple[FieldSpec, ...]:
        """Fields usable as features: everything except post-outcome fields and free text."""
        return tuple(f for f in self.fields if not f.post_outcome and f.kind != "text")


def _str_list(source: str, key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MappingError(source, key, "a string or a list of strings")
    return list(value)


def _table(source: str, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MappingError(source, key, "a table")
    return value


def _field(source: str, name: str, raw: Any) -> FieldSpec:
    if isinstance(raw, str):
        return FieldSpec(name=name, column=raw)
    spec = _table(source, f"fields.{name}", raw)
    unknown = set(spec) - {"column", "kind", "on", "post_outcome"}
    if unknown:
        raise MappingError(source, f"fields.{name}.{sorted(unknown)[0]}", "one of column, kind, on, post_outcome")
    column = spec.get("column", name)
    kind = spec.get("kind", "category")
    on = spec.get("on", "record")
    post = spec.get("post_outcome", False)
    if not isinstance(column, str) or not column:
        raise MappingError(source, f"fields.{name}.column", "a column name")
    if kind not in FIELD_KINDS:
        raise MappingError(source, f"fields.{name}.kind", "one of " + ", ".join(FIELD_KINDS))
    if on not in FIELD_OWNERS:
        raise MappingError(source, f"fields.{name}.on", "one of " + ", ".join(FIELD_OWNERS))
    if not isinstance(post, bool):
        raise MappingError(source, f"fields.{name}.post_outcome", "true or false")
    return FieldSpec(name=name, column=column, kind=kind, on=on, post_outcome=post)


def parse_mapping(text: str, *, source: str = "mapping", base_dir: Path = Path(".")) -> Mapping:
    """Parse and validate a mapping document."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise MappingError(source, "(file)", f"valid TOML ({err})") from err
    allowed = {"record_type", "unknown_columns", "ignore", "date_formats", "record", "label", "fields", "stages"}
    unknown = set(doc) - allowed
    if unknown:
        raise MappingError(source, sorted(unknown)[0], "a known key (" + ", ".join(sorted(allowed)) + ")")
    record_type = doc.get("record_type")
    if record_type not in RECORD_TYPES:
        raise MappingError(source, "record_type", "lead or opportunity")
    record = _table(source, "record", doc.get("record", {}))
    standard: dict[str, str] = {}
    for key, column in record.items():
        if key not in STANDARD_FIELDS:
            raise MappingError(source, f"record.{key}", "one of " + ", ".join(STANDARD_FIELDS))
        if not isinstance(column, str) or not column:
            raise MappingError(source, f"record.{key}", "a column name")
        standard[key] = column
    for key in REQUIRED_STANDARD:
        if key not in standard:
            raise MappingError(source, f"record.{key}", f"required: the column holding {STANDARD_FIELDS[key]}")
    label_doc = _table(source, "label", doc.get("label"))
    column = label_doc.get("column")
    if not isinstance(column, str) or not column:
        raise MappingError(source, "label.column", "the column holding the outcome")
    label = LabelSpec(
        column=column,
        positive=frozenset(v.casefold() for v in _str_list(source, "label.positive", label_doc.get("positive"))),
        negative=frozenset(v.casefold() for v in _str_list(source, "label.negative", label_doc.get("negative"))),
        open=frozenset(v.casefold() for v in _str_list(source, "label.open", label_doc.get("open", [""]))),
    )
    if label.positive & label.negative:
        raise MappingError(source, "label", "positive and negative values must not overlap")
    fields_doc = _table(source, "fields", doc.get("fields", {}))
    specs = tuple(_field(source, name, raw) for name, raw in fields_doc.items())
    unknown_columns = doc.get("unknown_columns", "error")
    if unknown_columns not in ("error", "ignore"):
        raise MappingError(source, "unknown_columns", "error or ignore")
    stages = None
    if "stages" in doc:
        if record_type != "opportunity":
            raise MappingError(source, "stages", "only for record_type = \"opportunity\"")
        st = _table(source, "stages", doc["stages"])
        if not isinstance(st.get("file"), str):
            raise MappingError(source, "stages.file", "the stage-history file, relative to the mapping")
        stages = StagesSpec(**{k: str(v) for k, v in st.items() if k in ("file", "id", "stage", "entered_at")})
    return Mapping(
        record_type=record_type,
        standard=standard,
        label=label,
        fields=specs,
        ignore=frozenset(_str_list(source, "ignore", doc.get("ignore", []))),
        unknown_columns=unknown_columns,
        date_formats=tuple(_str_list(source, "date_formats", doc.get("date_formats", []))),
        stages=stages,
        base_dir=base_dir,
    )


def load_mapping(path: Path) -> Mapping:
    """Read and parse a mapping file; relative paths inside it resolve against its folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise MappingError(str(path), "(file)", f"a readable file ({err.strerror})") from err
    return parse_mapping(text, source=str(path), base_dir=path.parent)

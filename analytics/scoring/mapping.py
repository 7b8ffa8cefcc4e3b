"""Mapping files: how the columns of a CRM export become lead or opportunity records.

A mapping is a small TOML document (the format is documented with examples in ``docs/scoring.md``)::

    record_type = "lead"                 # lead | opportunity
    unknown_columns = "error"            # error | ignore: columns in the file that the mapping does not name
    ignore = ["Notes"]                   # columns present in the file and deliberately unused
    date_formats = ["%d/%m/%Y"]          # tried after ISO 8601; a value two formats read differently is refused
    encoding = "utf-8"                   # or "cp1252", "latin-1", "utf-16", ... (a UTF-8 BOM is skipped)
    delimiter = ","                      # or ";" (European Excel), "\t", "|"
    decimal_separator = "."              # or ","; unset: "." and a lone "1,200" is refused as ambiguous

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
from datetime import datetime
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
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal_separator: Literal[".", ","] | None = None  # None: not stated, so a lone "1,200" is ambiguous
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


def _label(source: str, doc: Any) -> LabelSpec:
    label_doc = _table(source, "label", doc)
    unknown = set(label_doc) - {"column", "positive", "negative", "open"}
    if unknown:
        raise MappingError(source, f"label.{sorted(unknown)[0]}", "one of column, positive, negative, open")
    column = label_doc.get("column")
    if not isinstance(column, str) or not column:
        raise MappingError(source, "label.column", "the column holding the outcome")
    values: dict[str, frozenset[str]] = {}
    for key in ("positive", "negative", "open"):
        raw = label_doc.get(key, [""]) if key == "open" else label_doc.get(key)
        values[key] = frozenset(v.strip().casefold() for v in _str_list(source, f"label.{key}", raw))
        if key != "open" and not values[key]:
            raise MappingError(source, f"label.{key}", "at least one value")
    # A value in two lists would silently take the first list's meaning.
    for a, b in (("positive", "negative"), ("positive", "open"), ("negative", "open")):
        if values[a] & values[b]:
            raise MappingError(source, "label", f"{a} and {b} values must not overlap "
                                                f"(both list {sorted(values[a] & values[b])[0]!r})")
    return LabelSpec(column=column, positive=values["positive"], negative=values["negative"], open=values["open"])


def _check_columns_mapped_once(source: str, standard: dict[str, str], label: LabelSpec,
                               specs: tuple[FieldSpec, ...], ignore: frozenset[str]) -> None:
    """A column feeds one key: the label or a closing date mapped again as a field would leak the outcome."""
    seen: dict[str, str] = {}
    bindings = [(f"record.{k}", c) for k, c in standard.items()] + [("label.column", label.column)]
    bindings += [(f"fields.{f.name}.column", f.column) for f in specs]
    for key, column in bindings:
        first = seen.get(column)
        # The account key and its display name may well be the same column ("Company").
        if first is not None and {first, key} != {"record.account_id", "record.account_name"}:
            raise MappingError(source, key, f"a column not mapped already ({column!r} is mapped by {first})")
        seen.setdefault(column, key)
    for column in sorted(ignore & set(seen)):
        raise MappingError(source, "ignore", f"only unmapped columns ({column!r} is mapped by {seen[column]})")


def _date_formats(source: str, value: Any) -> tuple[str, ...]:
    formats = tuple(_str_list(source, "date_formats", value))
    probe = datetime(2001, 2, 3, 4, 5, 6)
    for fmt in formats:
        # A usable format reads back the day it writes: this refuses bad directives and formats without a date.
        try:
            ok = datetime.strptime(probe.strftime(fmt), fmt).date() == probe.date()
        except ValueError:
            ok = False
        if not ok:
            raise MappingError(source, "date_formats", f"strptime formats with a day, month and year such as "
                                                       f"\"%d/%m/%Y\" or \"%m/%d/%Y %H:%M\" (not {fmt!r})")
    return formats


def _file_options(source: str, doc: dict[str, Any]) -> dict[str, Any]:
    encoding = doc.get("encoding", "utf-8")
    try:
        # Encoding a letter also refuses codecs that are not text encodings ("base64", "zlib").
        "a".encode(encoding if isinstance(encoding, str) else "")
    except (LookupError, UnicodeError):
        raise MappingError(source, "encoding", "a text encoding such as \"utf-8\", \"cp1252\" or \"utf-16\"") from None
    delimiter = doc.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n" or delimiter.isalnum():
        raise MappingError(source, "delimiter", "one character such as \",\", \";\", \"\\t\" or \"|\"")
    decimal = doc.get("decimal_separator")
    if decimal not in (None, ".", ","):
        raise MappingError(source, "decimal_separator", "\".\" or \",\"")
    return {"encoding": encoding, "delimiter": delimiter, "decimal_separator": decimal}


def parse_mapping(text: str, *, source: str = "mapping", base_dir: Path = Path(".")) -> Mapping:
    """Parse and validate a mapping document."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise MappingError(source, "(file)", f"valid TOML ({err})") from err
    allowed = {"record_type", "unknown_columns", "ignore", "date_formats", "record", "label", "fields", "stages",
               "encoding", "delimiter", "decimal_separator"}
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
    if "account_name" in standard and "account_id" not in standard:
        # Without the key the name would be dropped: accounts are stored by their key.
        raise MappingError(source, "record.account_id", "required with record.account_name: the column holding "
                                                        "the account key (it may be the same column)")
    label = _label(source, doc.get("label"))
    fields_doc = _table(source, "fields", doc.get("fields", {}))
    specs = tuple(_field(source, name, raw) for name, raw in fields_doc.items())
    ignore = frozenset(_str_list(source, "ignore", doc.get("ignore", [])))
    _check_columns_mapped_once(source, standard, label, specs, ignore)
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
        for key, value in st.items():
            if key not in ("file", "id", "stage", "entered_at"):
                raise MappingError(source, f"stages.{key}", "one of file, id, stage, entered_at")
            if not isinstance(value, str) or not value:
                raise MappingError(source, f"stages.{key}", "a file or column name")
        stages = StagesSpec(**{k: str(v) for k, v in st.items() if k in ("file", "id", "stage", "entered_at")})
    return Mapping(
        record_type=record_type,
        standard=standard,
        label=label,
        fields=specs,
        ignore=ignore,
        unknown_columns=unknown_columns,
        date_formats=_date_formats(source, doc.get("date_formats", [])),
        stages=stages,
        base_dir=base_dir,
        **_file_options(source, doc),
    )


def load_mapping(path: Path) -> Mapping:
    """Read and parse a mapping file; relative paths inside it resolve against its folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise MappingError(str(path), "(file)", f"a readable file ({err.strerror})") from err
    return parse_mapping(text, source=str(path), base_dir=path.parent)

"""Import a CRM file into the store: all of it in one transaction, or nothing.

The file is parsed and validated in full first (:mod:`analytics.scoring.parsing`); only a file without a single
problem reaches the database, and then every row of it is written inside one transaction, so a failure half-way
(a constraint, a lost connection) also leaves nothing behind. Re-importing a file replaces the records it names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine

from analytics.errors import NotFound
from analytics.scoring.errors import ImportInvalid, ImportProblem
from analytics.scoring.intelligent import email_domain_kind
from analytics.scoring.mapping import Mapping, RecordType
from analytics.scoring.parsing import STATUS_WORDS, CrmRecord, StageEntry, parse_records, parse_stages
from analytics.store import models
from analytics.store.ids import contact_key, domain_of
from analytics.store.records import POST_OUTCOME_KEY, TEXT_KEY
from analytics.store.statistics import BULK_LOAD_ROWS, CRM_TABLES, analyze_after_bulk_load

_CHUNK = 500


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote."""

    record_type: RecordType
    records: int
    open_records: int
    positives: int
    negatives: int
    stage_entries: int
    contacts_added: int
    accounts_added: int


def file_format(path: Path) -> Literal["csv", "jsonl"]:
    """CSV or JSON Lines, by extension."""
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"


def _read(path: Path, encoding: str = "utf-8") -> str:
    """The file's text in the mapping's encoding (a UTF-8 byte-order mark is skipped)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ImportInvalid(str(path), [ImportProblem(0, "", f"cannot read the file ({err.strerror})")]) from err
    codec = "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        hint = ""
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            hint = ": it looks like UTF-16 (Excel's \"Unicode Text\"); set encoding = \"utf-16\" in the mapping"
        elif codec == "utf-8-sig":
            hint = (": if Excel saved it as plain \"CSV\" rather than \"CSV UTF-8\", set encoding = \"cp1252\" "
                    "(Western European Windows) in the mapping")
        problem = ImportProblem(line, "", f"byte 0x{data[err.start]:02x} is not {encoding} text{hint}")
        raise ImportInvalid(str(path), [problem]) from err


def parse_file(path: Path, mapping: Mapping, record_type: RecordType) -> tuple[list[CrmRecord], list[StageEntry]]:
    """Parse and validate ``path`` (and the stage history the mapping names); raise with every problem."""
    if mapping.record_type != record_type:
        raise ImportInvalid(str(path), [ImportProblem(0, "", f"the mapping is for {mapping.record_type}s, "
                                                              f"not {record_type}s")])
    parsed = parse_records(_read(path, mapping.encoding), mapping, file_format(path))
    problems = list(parsed.problems)
    stages: list[StageEntry] = []
    if mapping.stages is not None and not problems:
        stage_path = mapping.base_dir / mapping.stages.file
        stages, stage_problems = parse_stages(_read(stage_path, mapping.encoding), mapping.stages,
                                              file_format(stage_path), {r.record_id for r in parsed.records},
                                              mapping.date_formats, mapping.delimiter)
        problems.extend(stage_problems)
    if problems:
        raise ImportInvalid(str(path), problems)
    return parsed.records, stages


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _ensure_tenant(conn: Connection, tenant_id: str) -> None:
    t = models.table_of(models.Tenant)
    if conn.execute(select(t.c.tenant_id).where(t.c.tenant_id == tenant_id)).first() is None:
        raise NotFound(f"tenant {tenant_id} does not exist")


def _upsert_accounts(conn: Connection, tenant_id: str, records: list[CrmRecord]) -> int:
    t = models.table_of(models.Account)
    wanted: dict[str, CrmRecord] = {}
    for r in records:
        if r.account_id:
            wanted[r.account_id] = r
    existing: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for chunk in _chunks(list(wanted)):
        for row in conn.execute(select(t.c.account_id, t.c.fields, t.c.name).where(
                t.c.tenant_id == tenant_id, t.c.account_id.in_(chunk))):
            existing[row.account_id] = dict(row.fields or {})
            names[row.account_id] = row.name
    new_rows = []
    for account_id, r in wanted.items():
        if account_id in existing:
            changes: dict[str, Any] = {}
            if r.account_fields:
                changes["fields"] = {**existing[account_id], **r.account_fields}
            # The CRM is where accounts are named: a rename there shows on the next import
            if r.account_name and r.account_name != names[account_id]:
                changes["name"] = r.account_name
            if changes:
                conn.execute(t.update().where(t.c.tenant_id == tenant_id, t.c.account_id == account_id)
                             .values(**changes))
        else:
            new_rows.append({"tenant_id": tenant_id, "account_id": account_id, "name": r.account_name or account_id,
                             "source": "crm", "fields": r.account_fields})
    if new_rows:
        conn.execute(t.insert(), new_rows)
    _link_account_domains(conn, tenant_id, records)
    return len(new_rows)


def _link_account_domains(conn: Connection, tenant_id: str, records: list[CrmRecord]) -> None:
    """Map a CRM account to its contacts' business domains, so everyone else at that domain counts for it too.

    Free-mail domains are never mapped (gmail.com is nobody's company), and a domain already mapped to an
    account keeps its mapping: the first explicit link wins rather than flapping between imports.
    """
    t = models.table_of(models.AccountDomain)
    wanted: dict[str, str] = {}
    for r in records:
        if r.account_id and r.contact_email and email_domain_kind(r.contact_email) == "business":
            wanted.setdefault(domain_of(r.contact_email), r.account_id)
    if not wanted:
        return
    taken: set[str] = set()
    for chunk in _chunks(sorted(wanted)):
        taken.update(conn.execute(select(t.c.domain).where(t.c.tenant_id == tenant_id, t.c.domain.in_(chunk)))
                     .scalars())
    rows = [{"tenant_id": tenant_id, "domain": d, "account_id": a} for d, a in sorted(wanted.items())
            if d not in taken]
    if rows:
        conn.execute(t.insert(), rows)


def _upsert_contacts(conn: Connection, tenant_id: str, records: list[CrmRecord]) -> int:
    t = models.table_of(models.Contact)
    wanted: dict[str, CrmRecord] = {r.contact_email: r for r in records if r.contact_email}
    existing: dict[str, dict[str, Any]] = {}
    linked: dict[str, str | None] = {}
    shown: dict[str, str] = {}
    for chunk in _chunks(list(wanted)):
        for row in conn.execute(select(t.c.email, t.c.fields, t.c.account_id, t.c.display_name).where(
                t.c.tenant_id == tenant_id, t.c.email.in_(chunk))):
            existing[row.email] = dict(row.fields or {})
            linked[row.email] = row.account_id
            shown[row.email] = row.display_name or ""
    new_rows = []
    for email, r in wanted.items():
        if email in existing:
            changes: dict[str, Any] = {}
            if r.contact_fields:
                changes["fields"] = {**existing[email], **r.contact_fields}
            # A name the mail never gave (blank, or the address itself) is taken from the CRM; one the mail
            # headers gave is kept (it is how the person signs), so imports do not flip it back and forth
            if r.contact_name and shown[email].strip().lower() in ("", email.lower()):
                changes["display_name"] = r.contact_name
            # The sync usually met this person first; the CRM's explicit account link is what ties them to it.
            if r.account_id and linked[email] is None:
                changes["account_id"] = r.account_id
            if changes:
                conn.execute(t.update().where(t.c.tenant_id == tenant_id, t.c.email == email).values(**changes))
        else:
            new_rows.append({"tenant_id": tenant_id, "contact_id": contact_key(email), "email": email,
                             "domain": domain_of(email), "display_name": r.contact_name or "",
                             "account_id": r.account_id, "sender_class": "person", "fields": r.contact_fields})
    if new_rows:
        conn.execute(t.insert(), new_rows)
    return len(new_rows)


def _fields_doc(r: CrmRecord) -> dict[str, Any]:
    doc: dict[str, Any] = dict(r.fields)
    if r.post_outcome:
        doc[POST_OUTCOME_KEY] = r.post_outcome
    if r.text:
        doc[TEXT_KEY] = r.text
    return doc


def write_records(conn: Connection, tenant_id: str, record_type: RecordType, records: list[CrmRecord],
                  stages: list[StageEntry]) -> tuple[int, int]:
    """Replace the named records (and their members and stage history) inside the caller's transaction."""
    _ensure_tenant(conn, tenant_id)
    accounts_added = _upsert_accounts(conn, tenant_id, records)
    contacts_added = _upsert_contacts(conn, tenant_id, records)
    ids = [r.record_id for r in records]
    words = STATUS_WORDS[record_type]
    members = models.table_of(models.CrmMember)
    if record_type == "lead":
        table = models.table_of(models.Lead)
        key = table.c.lead_id
    else:
        table = models.table_of(models.Opportunity)
        key = table.c.opportunity_id
        st = models.table_of(models.OpportunityStage)
        for chunk in _chunks(ids):
            conn.execute(delete(st).where(st.c.tenant_id == tenant_id, st.c.opportunity_id.in_(chunk)))
    for chunk in _chunks(ids):
        conn.execute(delete(members).where(members.c.tenant_id == tenant_id, members.c.record_type == record_type,
                                           members.c.record_id.in_(chunk)))
        conn.execute(delete(table).where(table.c.tenant_id == tenant_id, key.in_(chunk)))
    rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, Any]] = []
    for r in records:
        row: dict[str, Any] = {"tenant_id": tenant_id, "owner_id": r.owner, "account_id": r.account_id,
                               "status": words[r.outcome], "created_at": r.created_at, "closed_at": r.closed_at,
                               "fields": _fields_doc(r)}
        if record_type == "lead":
            row.update(lead_id=r.record_id, contact_email=r.contact_email)
        else:
            row.update(opportunity_id=r.record_id, stage=r.stage, amount=r.amount)
        rows.append(row)
        if r.owner:
            member_rows.append({"tenant_id": tenant_id, "record_type": record_type, "record_id": r.record_id,
                                "address": r.owner.lower(), "role": "owner", "side": "internal"})
        if r.contact_email:
            member_rows.append({"tenant_id": tenant_id, "record_type": record_type, "record_id": r.record_id,
                                "address": r.contact_email, "role": "stakeholder", "side": "external"})
    for chunk in _chunks(rows):
        conn.execute(table.insert(), list(chunk))
    for chunk in _chunks(member_rows):
        conn.execute(members.insert(), list(chunk))
    if stages:
        seq: dict[str, int] = {}
        stage_rows = []
        for s in sorted(stages, key=lambda e: (e.record_id, e.entered_at)):
            seq[s.record_id] = seq.get(s.record_id, 0) + 1
            stage_rows.append({"tenant_id": tenant_id, "opportunity_id": s.record_id, "seq": seq[s.record_id],
                               "stage": s.stage, "entered_at": s.entered_at})
        st = models.table_of(models.OpportunityStage)
        for chunk in _chunks(stage_rows):
            conn.execute(st.insert(), list(chunk))
    return contacts_added, accounts_added


def import_file(engine: Engine, tenant_id: str, path: Path, mapping: Mapping,
                record_type: RecordType) -> ImportSummary:
    """Validate ``path`` in full, then write all of it in one transaction (or raise and write nothing)."""
    records, stages = parse_file(path, mapping, record_type)
    with engine.begin() as conn:
        contacts_added, accounts_added = write_records(conn, tenant_id, record_type, records, stages)
    if len(records) + len(stages) >= BULK_LOAD_ROWS:  # a first import: plan the reads that follow for it
        analyze_after_bulk_load(engine, CRM_TABLES)
    return ImportSummary(
        record_type=record_type,
        records=len(records),
        open_records=sum(r.outcome == "open" for r in records),
        positives=sum(r.outcome == "positive" for r in records),
        negatives=sum(r.outcome == "negative" for r in records),
        stage_entries=len(stages),
        contacts_added=contacts_added,
        accounts_added=accounts_added,
    )

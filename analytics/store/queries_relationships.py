"""Store queries behind relationship analytics: targets, people, rollups, activities and health scores.

Everything here takes a :class:`~sqlalchemy.Connection` and hands back the dataclasses below; the pure analytics
(:mod:`analytics.relationships`) never sees a table. Every statement filters on ``tenant_id`` first so it uses
the tenant-leading indexes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, RowMapping, Table, and_, delete, func, null, or_, select, update

from analytics.store import health_factors, models
from analytics.store.ingest import dialect_insert
from analytics.store.records import TEXT_KEY

ACT = models.table_of(models.Activity)
PART = models.table_of(models.ActivityParticipant)
CONTACT = models.table_of(models.Contact)
ROLLUP = models.table_of(models.InteractionRollup)
USER = models.table_of(models.InternalUser)
ACCOUNT = models.table_of(models.Account)
ACCOUNT_DOMAIN = models.table_of(models.AccountDomain)
LEAD = models.table_of(models.Lead)
OPP = models.table_of(models.Opportunity)
MEMBER = models.table_of(models.CrmMember)
SCORE = models.table_of(models.Score)
HISTORY = models.table_of(models.ScoreHistory)
SCORE_CHANGE = models.table_of(models.HealthScoreChange)
OPT_OUT = models.table_of(models.UserOptOut)
TENANT = models.table_of(models.Tenant)
CHANGE = models.table_of(models.RollupChange)
STATE = models.table_of(models.HealthState)
REFRESH = models.table_of(models.HealthRefresh)

_CHUNK = 500
WHO_KNOWS_OPT_OUT_SCOPES = ("who_knows", "all")


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- Records handed out ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactRow:
    contact_id: int
    email: str
    domain: str
    display_name: str
    account_id: str | None
    sender_class: str

    def account_in(self, account_domains: Mapping[str, str]) -> str | None:
        """The contact's account: its explicit link, else the account owning its domain (``account_domains``:
        domain → account id) — :func:`contacts_of_account`'s rule in Python."""
        return self.account_id if self.account_id is not None else account_domains.get(self.domain)


@dataclass(frozen=True, slots=True)
class UserRow:
    user_id: str
    email: str
    display_name: str


@dataclass(frozen=True, slots=True)
class AccountRow:
    account_id: str
    name: str
    owner_id: str | None


@dataclass(frozen=True, slots=True)
class CrmRecordRow:
    """A lead or an opportunity, with the people on it."""

    record_type: str  # lead | opportunity
    record_id: str
    label: str  # its name (see ``record_name``), else a lead's address, else the id
    status: str
    owner_id: str | None
    account_id: str | None
    stage: str | None
    amount: float | None
    contact_email: str | None
    internal_addresses: tuple[str, ...]  # owner and sales team
    external_addresses: tuple[str, ...]  # stakeholders
    named: bool  # the label is the record's own name, not its address or id


def record_name(fields: Mapping[str, Any] | None) -> str | None:
    """A lead's or opportunity's own name: its ``name`` (else ``topic``) field, else the same imported as free
    text, which a mapping keeps out of the features (under ``TEXT_KEY``)."""
    fields = fields or {}
    text = fields.get(TEXT_KEY) or {}
    name = fields.get("name") or fields.get("topic") or text.get("name") or text.get("topic")
    return str(name) if name else None


def _crm_row(record_type: str, record_id: str, r: RowMapping, internal: Iterable[str],
             external: Iterable[str]) -> CrmRecordRow:
    name = record_name(r["fields"])
    email = r.get("contact_email")
    label = name or (email if record_type == "lead" and email else record_id)
    return CrmRecordRow(record_type, record_id, label, r["status"], r["owner_id"], r["account_id"], r.get("stage"),
                        r.get("amount"), email, tuple(internal), tuple(external), name is not None)


@dataclass(frozen=True, slots=True)
class RollupRow:
    """One ``interaction_rollup`` row (a day of one user-contact pair for one kind)."""

    day: date
    user_id: str
    contact_id: int
    kind: str
    from_us: int
    from_them: int
    last_at: datetime | None


@dataclass(frozen=True, slots=True)
class PartRow:
    role: str
    side: str
    address: str
    display_name: str
    user_id: str | None
    contact_id: int | None


@dataclass(frozen=True, slots=True)
class ActivityRow:
    activity_id: int
    kind: str
    start_at: datetime
    duration_minutes: float
    conversation_id: str | None
    initiator_side: str | None
    is_reply: bool
    participants: tuple[PartRow, ...]


@dataclass(frozen=True, slots=True)
class StoredScore:
    record_type: str
    record_id: str
    value: float | None
    label: str | None
    trend: str | None
    computed_at: datetime


# --- Tenant and people ------------------------------------------------------------------------------------------


def tenant_options(conn: Connection, tenant_id: str) -> dict[str, Any]:
    """The tenant's ``options`` document (analytics weights, bands, …); empty for an unknown tenant.

    Through the driver (every refresh and live health query reads it; SQLAlchemy's statement and result handling
    cost ten times the read): PostgreSQL's driver returns the JSON document parsed, SQLite its text."""
    rows = _driver_rows(conn, f"SELECT options FROM tenant WHERE tenant_id = {_mark(conn)}", (tenant_id,))
    value = rows[0][0] if rows else None
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}


def tenant_domains(conn: Connection, tenant_id: str) -> set[str]:
    t = models.table_of(models.TenantDomain)
    return set(conn.execute(select(t.c.domain).where(t.c.tenant_id == tenant_id)).scalars())


def users(conn: Connection, tenant_id: str, user_ids: Collection[str] | None = None) -> dict[str, UserRow]:
    """Internal users by id (all of them when ``user_ids`` is None)."""
    q = select(USER.c.user_id, USER.c.email, USER.c.display_name).where(USER.c.tenant_id == tenant_id)
    out: dict[str, UserRow] = {}
    if user_ids is None:
        rows: Iterable[Any] = conn.execute(q)
    else:
        ids = sorted(user_ids)
        rows = [r for chunk in _chunks(ids) for r in conn.execute(q.where(USER.c.user_id.in_(chunk)))]
    for r in rows:
        out[r.user_id] = UserRow(r.user_id, r.email, r.display_name or r.email)
    return out


def unavailable_users(conn: Connection, tenant_id: str) -> set[str]:
    """Mailboxes nobody can ask for an introduction: shared, room and equipment mailboxes, disabled accounts."""
    q = select(USER.c.user_id).where(USER.c.tenant_id == tenant_id,
                                     or_(USER.c.mailbox_kind != "user", USER.c.account_enabled.is_(False)))
    return set(conn.execute(q).scalars())


def user_ids_by_email(conn: Connection, tenant_id: str, emails: Collection[str]) -> dict[str, str]:
    """Lower-cased email → user id, for the given addresses."""
    wanted = sorted({e.strip().lower() for e in emails})
    out: dict[str, str] = {}
    for chunk in _chunks(wanted):
        q = select(USER.c.user_id, USER.c.email).where(USER.c.tenant_id == tenant_id,
                                                         func.lower(USER.c.email).in_(chunk))
        for r in conn.execute(q):
            out[r.email.lower()] = r.user_id
    return out


def opted_out_users(conn: Connection, tenant_id: str) -> set[str]:
    """Users who opted out of who-knows-whom (or of everything)."""
    q = select(OPT_OUT.c.user_id).where(OPT_OUT.c.tenant_id == tenant_id,
                                        OPT_OUT.c.scope.in_(WHO_KNOWS_OPT_OUT_SCOPES))
    return set(conn.execute(q).scalars())


def _contact(r: Any) -> ContactRow:
    return ContactRow(r.contact_id, r.email, r.domain, r.display_name or r.email, r.account_id, r.sender_class)


_CONTACT_COLS = (CONTACT.c.contact_id, CONTACT.c.email, CONTACT.c.domain, CONTACT.c.display_name,
                 CONTACT.c.account_id, CONTACT.c.sender_class)


def contact_by_email(conn: Connection, tenant_id: str, email: str) -> ContactRow | None:
    q = select(*_CONTACT_COLS).where(CONTACT.c.tenant_id == tenant_id, CONTACT.c.email == email.strip().lower())
    r = conn.execute(q).first()
    return _contact(r) if r else None


def contacts_by_ids(conn: Connection, tenant_id: str, contact_ids: Collection[int]) -> dict[int, ContactRow]:
    out: dict[int, ContactRow] = {}
    for chunk in _chunks(sorted(contact_ids)):
        q = select(*_CONTACT_COLS).where(CONTACT.c.tenant_id == tenant_id, CONTACT.c.contact_id.in_(chunk))
        out.update((r.contact_id, _contact(r)) for r in conn.execute(q))
    return out


def contacts_by_emails(conn: Connection, tenant_id: str, emails: Collection[str]) -> list[ContactRow]:
    wanted = sorted({e.strip().lower() for e in emails})
    out: list[ContactRow] = []
    for chunk in _chunks(wanted):
        q = select(*_CONTACT_COLS).where(CONTACT.c.tenant_id == tenant_id, CONTACT.c.email.in_(chunk))
        out.extend(_contact(r) for r in conn.execute(q))
    return out


def contacts_of_domain(conn: Connection, tenant_id: str, domain: str) -> list[ContactRow]:
    q = select(*_CONTACT_COLS).where(CONTACT.c.tenant_id == tenant_id, CONTACT.c.domain == domain.lower())
    return [_contact(r) for r in conn.execute(q)]


def contacts_by_ids_fast(conn: Connection, tenant_id: str, contact_ids: Collection[int]) -> dict[int, ContactRow]:
    """:func:`contacts_by_ids` through the driver (refreshes look up a thousand at a time)."""
    mark = _mark(conn)
    out: dict[int, ContactRow] = {}
    for chunk in _chunks(sorted(contact_ids)):
        sql = (f"SELECT contact_id, email, domain, display_name, account_id, sender_class FROM contact "
               f"WHERE tenant_id = {mark} AND contact_id IN ({', '.join([mark] * len(chunk))})")
        out.update((r[0], ContactRow(r[0], r[1], r[2], r[3] or r[1], r[4], r[5]))
                   for r in _driver_rows(conn, sql, (tenant_id, *chunk)))
    return out


def account_domains_fast(conn: Connection, tenant_id: str) -> dict[str, str]:
    """:func:`account_domains` through the driver."""
    sql = f"SELECT domain, account_id FROM account_domain WHERE tenant_id = {_mark(conn)}"
    return {r[0]: r[1] for r in _driver_rows(conn, sql, (tenant_id,))}


def all_contacts_fast(conn: Connection, tenant_id: str) -> dict[int, ContactRow]:
    """Every contact of the tenant by id, read through the driver (a full refresh needs them all)."""
    sql = (f"SELECT contact_id, email, domain, display_name, account_id, sender_class FROM contact "
           f"WHERE tenant_id = {_mark(conn)}")
    return {r[0]: ContactRow(r[0], r[1], r[2], r[3] or r[1], r[4], r[5])
            for r in _driver_rows(conn, sql, (tenant_id,))}


def all_contacts(conn: Connection, tenant_id: str) -> list[ContactRow]:
    return [_contact(r) for r in conn.execute(select(*_CONTACT_COLS).where(CONTACT.c.tenant_id == tenant_id))]


def account_domains(conn: Connection, tenant_id: str) -> dict[str, str]:
    """Email domain → account id."""
    q = select(ACCOUNT_DOMAIN.c.domain, ACCOUNT_DOMAIN.c.account_id).where(ACCOUNT_DOMAIN.c.tenant_id == tenant_id)
    return {r.domain: r.account_id for r in conn.execute(q)}


def account_of_domain(conn: Connection, tenant_id: str, domain: str) -> str | None:
    """The account an email domain belongs to (one primary-key lookup; :func:`account_domains` reads them all)."""
    q = select(ACCOUNT_DOMAIN.c.account_id).where(ACCOUNT_DOMAIN.c.tenant_id == tenant_id,
                                                  ACCOUNT_DOMAIN.c.domain == domain)
    value = conn.execute(q).scalar_one_or_none()
    return value if isinstance(value, str) else None


def contacts_of_account(conn: Connection, tenant_id: str, account_id: str) -> list[ContactRow]:
    """The account's contacts: linked explicitly, or by a domain of the account when they have no explicit link."""
    domains = select(ACCOUNT_DOMAIN.c.domain).where(ACCOUNT_DOMAIN.c.tenant_id == tenant_id,
                                                     ACCOUNT_DOMAIN.c.account_id == account_id)
    q = select(*_CONTACT_COLS).where(
        CONTACT.c.tenant_id == tenant_id,
        or_(CONTACT.c.account_id == account_id,
            and_(CONTACT.c.account_id.is_(None), CONTACT.c.domain.in_(domains.scalar_subquery()))),
    )
    return [_contact(r) for r in conn.execute(q)]


def account(conn: Connection, tenant_id: str, account_id: str) -> AccountRow | None:
    q = select(ACCOUNT.c.account_id, ACCOUNT.c.name, ACCOUNT.c.owner_id).where(
        ACCOUNT.c.tenant_id == tenant_id, ACCOUNT.c.account_id == account_id)
    r = conn.execute(q).first()
    return AccountRow(r.account_id, r.name, r.owner_id) if r else None


def accounts(conn: Connection, tenant_id: str) -> list[AccountRow]:
    q = select(ACCOUNT.c.account_id, ACCOUNT.c.name, ACCOUNT.c.owner_id).where(ACCOUNT.c.tenant_id == tenant_id)
    return [AccountRow(r.account_id, r.name, r.owner_id) for r in conn.execute(q)]


def accounts_by_name(conn: Connection, tenant_id: str, text: str) -> list[AccountRow]:
    """Accounts whose name equals ``text`` (case-insensitively), else those whose name contains it."""
    needle = text.strip().lower()
    base = select(ACCOUNT.c.account_id, ACCOUNT.c.name, ACCOUNT.c.owner_id).where(ACCOUNT.c.tenant_id == tenant_id)
    exact = list(conn.execute(base.where(func.lower(ACCOUNT.c.name) == needle)))
    rows = exact or list(conn.execute(base.where(func.lower(ACCOUNT.c.name).contains(needle, autoescape=True))))
    return [AccountRow(r.account_id, r.name, r.owner_id) for r in rows]


# --- CRM records ------------------------------------------------------------------------------------------------


def _members(conn: Connection, tenant_id: str, record_type: str, record_id: str) -> tuple[list[str], list[str]]:
    q = select(MEMBER.c.address, MEMBER.c.side).where(
        MEMBER.c.tenant_id == tenant_id, MEMBER.c.record_type == record_type, MEMBER.c.record_id == record_id)
    internal: list[str] = []
    external: list[str] = []
    for r in conn.execute(q):
        (internal if r.side == "internal" else external).append(r.address.lower())
    return sorted(set(internal)), sorted(set(external))


def lead(conn: Connection, tenant_id: str, lead_id: str) -> CrmRecordRow | None:
    r = conn.execute(select(LEAD).where(LEAD.c.tenant_id == tenant_id, LEAD.c.lead_id == lead_id)).mappings().first()
    if r is None:
        return None
    internal, external = _members(conn, tenant_id, "lead", lead_id)
    return _crm_row("lead", lead_id, r, internal, external)


def opportunity(conn: Connection, tenant_id: str, opportunity_id: str) -> CrmRecordRow | None:
    r = conn.execute(select(OPP).where(OPP.c.tenant_id == tenant_id,
                                       OPP.c.opportunity_id == opportunity_id)).mappings().first()
    if r is None:
        return None
    internal, external = _members(conn, tenant_id, "opportunity", opportunity_id)
    return _crm_row("opportunity", opportunity_id, r, internal, external)


def crm_records_named(conn: Connection, tenant_id: str, record_type: str, needle: str,
                      lead_emails: Collection[str] = ()) -> list[CrmRecordRow]:
    """Leads or opportunities (without their people) whose own name (``record_name``) contains ``needle``
    (casefolded), and leads without a name whose contact address is in ``lead_emails``.

    The name is read from the ``fields`` document in Python: how a JSON column's text escapes non-ASCII names
    differs between the backends, so SQL cannot match a Chinese name in it alike on both. One pass over the
    type's records; asked only when a text is neither an id nor an account's name."""
    table, id_col = (LEAD, LEAD.c.lead_id) if record_type == "lead" else (OPP, OPP.c.opportunity_id)
    emails = {e.lower() for e in lead_emails}
    out: list[CrmRecordRow] = []
    for r in conn.execute(select(table).where(table.c.tenant_id == tenant_id).order_by(id_col)).mappings():
        name = record_name(r["fields"])
        email = (r.get("contact_email") or "").lower()
        if (needle in name.casefold()) if name else (record_type == "lead" and email in emails):
            out.append(_crm_row(record_type, r[id_col.name], r, (), ()))
    return out


def contact_emails_named(conn: Connection, tenant_id: str, needle: str) -> set[str]:
    """Addresses of the contacts whose display name contains ``needle`` (case-insensitively)."""
    q = select(CONTACT.c.email).where(CONTACT.c.tenant_id == tenant_id,
                                      func.lower(CONTACT.c.display_name).contains(needle.lower(), autoescape=True))
    return {r.email for r in conn.execute(q)}


def crm_records(conn: Connection, tenant_id: str, record_type: str,
                record_ids: Collection[str] | None = None) -> list[CrmRecordRow]:
    """Leads or opportunities with their people, in bulk (all of the tenant's when ``record_ids`` is None)."""
    table, id_col = (LEAD, LEAD.c.lead_id) if record_type == "lead" else (OPP, OPP.c.opportunity_id)
    base = select(table).where(table.c.tenant_id == tenant_id)
    mq = select(MEMBER.c.record_id, MEMBER.c.address, MEMBER.c.side).where(
        MEMBER.c.tenant_id == tenant_id, MEMBER.c.record_type == record_type)
    if record_ids is None:
        rows = list(conn.execute(base).mappings())
        members = list(conn.execute(mq))
    else:
        ids = sorted(set(record_ids))
        rows = [r for chunk in _chunks(ids) for r in conn.execute(base.where(id_col.in_(chunk))).mappings()]
        members = [m for chunk in _chunks(ids) for m in conn.execute(mq.where(MEMBER.c.record_id.in_(chunk)))]
    people: dict[str, tuple[set[str], set[str]]] = {}
    for m in members:
        internal, external = people.setdefault(m.record_id, (set(), set()))
        (internal if m.side == "internal" else external).add(m.address.lower())
    out: list[CrmRecordRow] = []
    for r in rows:
        rid = r["lead_id"] if record_type == "lead" else r["opportunity_id"]
        internal, external = people.get(rid, (set(), set()))
        out.append(_crm_row(record_type, rid, r, sorted(internal), sorted(external)))
    return out


def crm_records_for(conn: Connection, tenant_id: str, emails: Collection[str],
                    account_ids: Collection[str]) -> list[tuple[str, str]]:
    """(record type, id) of the leads and opportunities on which any of ``emails`` or ``account_ids`` appear.

    Plain SQL through the driver: an incremental refresh asks this for a thousand addresses at a time."""
    found: set[tuple[str, str]] = set()
    mark = _mark(conn)
    addresses = sorted({e.lower() for e in emails})
    for chunk in _chunks(addresses):
        marks = ", ".join([mark] * len(chunk))
        found.update((r[0], r[1]) for r in _driver_rows(
            conn, f"SELECT record_type, record_id FROM crm_member WHERE tenant_id = {mark} AND address IN ({marks})",
            (tenant_id, *chunk)))
        found.update(("lead", r[0]) for r in _driver_rows(
            conn, f"SELECT lead_id FROM lead WHERE tenant_id = {mark} AND lower(contact_email) IN ({marks})",
            (tenant_id, *chunk)))
    for chunk in _chunks(sorted(account_ids)):
        marks = ", ".join([mark] * len(chunk))
        found.update(("lead", r[0]) for r in _driver_rows(
            conn, f"SELECT lead_id FROM lead WHERE tenant_id = {mark} AND account_id IN ({marks})",
            (tenant_id, *chunk)))
        found.update(("opportunity", r[0]) for r in _driver_rows(
            conn, f"SELECT opportunity_id FROM opportunity WHERE tenant_id = {mark} AND account_id IN ({marks})",
            (tenant_id, *chunk)))
    return sorted(found)


def lead_ids(conn: Connection, tenant_id: str, *, owner_id: str | None = None,
             member_email: str | None = None) -> list[str]:
    """Lead ids, all or those a user owns or is a member of."""
    return _record_ids(conn, tenant_id, LEAD, LEAD.c.lead_id, "lead", owner_id, member_email)


def opportunity_ids(conn: Connection, tenant_id: str, *, owner_id: str | None = None,
                    member_email: str | None = None) -> list[str]:
    return _record_ids(conn, tenant_id, OPP, OPP.c.opportunity_id, "opportunity", owner_id, member_email)


def _record_ids(conn: Connection, tenant_id: str, table: Any, id_col: Any, record_type: str,
                owner_id: str | None, member_email: str | None) -> list[str]:
    q = select(id_col).where(table.c.tenant_id == tenant_id)
    if owner_id is None and member_email is None:
        return list(conn.execute(q).scalars())
    conds = []
    if owner_id is not None:
        conds.append(table.c.owner_id == owner_id)
    if member_email is not None:
        members = select(MEMBER.c.record_id).where(
            MEMBER.c.tenant_id == tenant_id, MEMBER.c.record_type == record_type,
            MEMBER.c.address == member_email.lower(), MEMBER.c.side == "internal")
        conds.append(id_col.in_(members.scalar_subquery()))
    return sorted(set(conn.execute(q.where(or_(*conds))).scalars()))


# --- Rollups and activities --------------------------------------------------------------------------------------


def rollups_for_contacts(
    conn: Connection,
    tenant_id: str,
    contact_ids: Collection[int],
    *,
    since: date | None = None,
    until: date | None = None,
) -> list[RollupRow]:
    """Every rollup row of the contacts (optionally between two days, inclusive)."""
    out: list[RollupRow] = []
    cols = (ROLLUP.c.day, ROLLUP.c.user_id, ROLLUP.c.contact_id, ROLLUP.c.kind, ROLLUP.c.from_us,
            ROLLUP.c.from_them, ROLLUP.c.last_at)
    for chunk in _chunks(sorted(contact_ids)):
        q = select(*cols).where(ROLLUP.c.tenant_id == tenant_id, ROLLUP.c.contact_id.in_(chunk))
        if since is not None:
            q = q.where(ROLLUP.c.day >= since)
        if until is not None:
            q = q.where(ROLLUP.c.day <= until)
        out.extend(RollupRow(r.day, r.user_id, r.contact_id, r.kind, r.from_us, r.from_them, r.last_at)
                   for r in conn.execute(q))
    return out


def user_rollups_for_contacts(conn: Connection, tenant_id: str, user_id: str, contact_ids: Collection[int], *,
                              until: date) -> list[RollupRow]:
    """One user's rollup rows with some contacts up to ``until`` (the asker's own connection, on every health
    ask): through the driver, and on SQLite through the contact index, which its planner passes over for the
    primary key's day range without statistics (2–5 ms per ask through the ORM layer and that plan; ≈1 ms so)."""
    mark = _mark(conn)
    hint = " INDEXED BY ix_interaction_rollup_contact" if conn.dialect.name == "sqlite" else ""
    day_type = ROLLUP.c.day.type.dialect_impl(conn.dialect)  # SQLite keeps dates as text
    day_in, day_out = day_type.bind_processor(conn.dialect), day_type.result_processor(conn.dialect, None)
    last_out = ROLLUP.c.last_at.type.result_processor(conn.dialect, None)
    out: list[RollupRow] = []
    for chunk in _chunks(sorted(set(contact_ids))):
        sql = (f"SELECT day, user_id, contact_id, kind, from_us, from_them, last_at FROM interaction_rollup{hint} "
               f"WHERE tenant_id = {mark} AND contact_id IN ({', '.join([mark] * len(chunk))}) "
               f"AND user_id = {mark} AND day <= {mark}")
        for day, user, contact, kind, us, them, last in _driver_rows(conn, sql, (tenant_id, *chunk, user_id,
                                                                                 day_in(until) if day_in else until)):
            at: Any = day_out(day) if day_out is not None else day  # a date on both drivers
            out.append(RollupRow(at, user, contact, kind, us, them,
                                 last_out(last) if last_out is not None and last is not None else last))
    return out


def rollups_for_users(conn: Connection, tenant_id: str, user_ids: Collection[str], *,
                      since: date | None = None) -> list[RollupRow]:
    """Every rollup row of the users since ``since`` (for "my accounts" and two-hop paths)."""
    out: list[RollupRow] = []
    cols = (ROLLUP.c.day, ROLLUP.c.user_id, ROLLUP.c.contact_id, ROLLUP.c.kind, ROLLUP.c.from_us,
            ROLLUP.c.from_them, ROLLUP.c.last_at)
    for chunk in _chunks(sorted(user_ids)):
        q = select(*cols).where(ROLLUP.c.tenant_id == tenant_id, ROLLUP.c.user_id.in_(chunk))
        if since is not None:
            q = q.where(ROLLUP.c.day >= since)
        out.extend(RollupRow(r.day, r.user_id, r.contact_id, r.kind, r.from_us, r.from_them, r.last_at)
                   for r in conn.execute(q))
    return out


def daily_per_contact(
    conn: Connection, tenant_id: str, *, since: date, contact_ids: Collection[int] | None = None
) -> list[tuple[int, date, str, int, int]]:
    """Rollups summed over users per (contact, day, kind) since ``since``: the input of a health refresh.

    Returns plain ``(contact_id, day, kind, from_us, from_them)`` tuples. The database does the group-by and the
    rows come straight from the driver: a full refresh reads one row per contact-day-kind, and per-row ORM
    processing would cost more than the scoring itself.
    """
    style = conn.dialect.paramstyle
    mark = "?" if style == "qmark" else "%s"
    sql = ("SELECT contact_id, day, kind, SUM(from_us), SUM(from_them) FROM interaction_rollup "
           f"WHERE tenant_id = {mark} AND day >= {mark}")
    group = " GROUP BY contact_id, day, kind"
    raw: list[Any] = []
    if contact_ids is None:
        raw = list(conn.exec_driver_sql(sql + group, (tenant_id, since)).fetchall())
    else:
        for chunk in _chunks(sorted(contact_ids)):
            marks = ", ".join([mark] * len(chunk))
            raw.extend(conn.exec_driver_sql(f"{sql} AND contact_id IN ({marks}){group}",
                                            (tenant_id, since, *chunk)).fetchall())
    parse = date.fromisoformat
    return [(r[0], r[1] if isinstance(r[1], date) else parse(r[1]), r[2], int(r[3]), int(r[4])) for r in raw]


def contacts_of_accounts(conn: Connection, tenant_id: str, account_ids: Collection[str]) -> list[ContactRow]:
    """The contacts of several accounts at once (see :func:`contacts_of_account`)."""
    out: dict[int, ContactRow] = {}
    for chunk in _chunks(sorted(account_ids)):
        domains = select(ACCOUNT_DOMAIN.c.domain).where(ACCOUNT_DOMAIN.c.tenant_id == tenant_id,
                                                         ACCOUNT_DOMAIN.c.account_id.in_(chunk))
        q = select(*_CONTACT_COLS).where(
            CONTACT.c.tenant_id == tenant_id,
            or_(CONTACT.c.account_id.in_(chunk),
                and_(CONTACT.c.account_id.is_(None), CONTACT.c.domain.in_(domains.scalar_subquery()))))
        out.update((r.contact_id, _contact(r)) for r in conn.execute(q))
    return list(out.values())


def activities_for_contacts(
    conn: Connection, tenant_id: str, contact_ids: Collection[int], *, start: datetime, end: datetime
) -> list[ActivityRow]:
    """Activities between ``start`` and ``end`` with any of the contacts, with all their participants.

    Bulk and cancelled activities are left out, as in the rollups.
    """
    # One statement per chunk of contacts: the window's activity ids come from the participant contact index,
    # each checked against its activity by primary key (start time, bulk, cancelled in SQL), then those
    # activities are read with their participants by primary key. ``CROSS JOIN`` fixes SQLite's join order:
    # left free, its planner prefers the start-time index and scans every activity in the window; driven from
    # the contact, the work stays proportional to the contact's own data. PostgreSQL plans this well as is.
    mark = _mark(conn)
    window = _bind(conn, ACT.c.start_at)
    cores: dict[int, tuple[Any, ...]] = {}
    parts: dict[int, list[PartRow]] = {}
    for chunk in _chunks(sorted(contact_ids)):
        seen = set(cores)
        sql = (f"{_activity_rows_sql(mark)} AND a.activity_id IN (SELECT w.activity_id FROM activity_participant w "
               f"CROSS JOIN activity x WHERE w.tenant_id = {mark} AND w.contact_id IN "
               f"({', '.join([mark] * len(chunk))}) AND x.tenant_id = w.tenant_id "
               f"AND x.activity_id = w.activity_id AND x.start_at >= {mark} AND x.start_at < {mark} "
               f"AND NOT x.is_bulk AND NOT x.is_cancelled)")
        rows = _driver_rows(conn, sql, (tenant_id, tenant_id, *chunk, window(start), window(end)))
        _collect(conn, rows, cores, parts, seen)
    return _activity_rows(cores, parts)


def activities_by_ids(conn: Connection, tenant_id: str, activity_ids: Collection[int]) -> list[ActivityRow]:
    """Some activities with all their participants, by start time."""
    mark = _mark(conn)
    cores: dict[int, tuple[Any, ...]] = {}
    parts: dict[int, list[PartRow]] = {}
    for chunk in _chunks(sorted(set(activity_ids))):
        sql = f"{_activity_rows_sql(mark)} AND a.activity_id IN ({', '.join([mark] * len(chunk))})"
        _collect(conn, _driver_rows(conn, sql, (tenant_id, *chunk)), cores, parts, set())
    return _activity_rows(cores, parts)


def _activity_rows_sql(mark: str) -> str:
    """An activity's core columns, then one participant's, per participant (both by primary key)."""
    return ("SELECT a.activity_id, a.kind, a.start_at, a.duration_minutes, a.conversation_id, a.initiator_side, "
            "a.is_reply, p.role, p.side, p.address, p.display_name, p.user_id, p.contact_id "
            f"FROM activity a CROSS JOIN activity_participant p WHERE a.tenant_id = {mark} "
            "AND p.tenant_id = a.tenant_id AND p.activity_id = a.activity_id")


def _bind(conn: Connection, column: Any) -> Callable[[Any], Any]:
    """A column type's conversion of a Python value to what the driver takes (for raw driver statements)."""
    process = column.type.bind_processor(conn.dialect)
    return process if process is not None else (lambda value: value)


def _collect(conn: Connection, rows: Sequence[tuple[Any, ...]], cores: dict[int, tuple[Any, ...]],
             parts: dict[int, list[PartRow]], seen: Collection[int]) -> None:
    """Joined activity-participant rows into cores and participant lists (``seen``: activities already read)."""
    start_at = ACT.c.start_at.type.result_processor(conn.dialect, None)
    for aid, kind, start, minutes, conversation, initiator, reply, role, side, address, name, user, contact in rows:
        if aid in seen:
            continue
        if aid not in cores:
            cores[aid] = (kind, start_at(start) if start_at is not None else start, minutes, conversation,
                          initiator, reply)
            parts[aid] = []
        parts[aid].append(PartRow(role, side, address, name or address, user, contact))


def _activity_rows(cores: dict[int, tuple[Any, ...]], parts: dict[int, list[PartRow]]) -> list[ActivityRow]:
    return sorted(
        (ActivityRow(aid, kind, start, float(minutes or 0.0), conversation, initiator, bool(reply),
                     tuple(sorted(parts[aid], key=_part_order)))
         for aid, (kind, start, minutes, conversation, initiator, reply) in cores.items()),
        key=lambda a: (a.start_at, a.activity_id),
    )


def _part_order(p: PartRow) -> tuple[str, str]:
    return (p.role, p.address)


def co_participants(conn: Connection, tenant_id: str, contact_ids: Collection[int], *,
                    limit_activities: int = 2000) -> dict[int, int]:
    """Other external people on the contacts' activities, with how many activities each shared with them."""
    ids: list[int] = []
    for chunk in _chunks(sorted(contact_ids)):
        q = (select(PART.c.activity_id).where(PART.c.tenant_id == tenant_id, PART.c.contact_id.in_(chunk))
             .limit(limit_activities))
        ids.extend(conn.execute(q).scalars())
    shared: dict[int, set[int]] = {}
    targets = set(contact_ids)
    for chunk in _chunks(sorted(set(ids))):
        # No "contact_id IS NOT NULL" here: SQLite's planner then ranged the contact index over every participant
        # with a contact (2.6–5 s per two-hop answer on the large benchmark store) instead of the primary key.
        q = select(PART.c.activity_id, PART.c.contact_id).where(
            PART.c.tenant_id == tenant_id, PART.c.activity_id.in_(chunk))
        for r in conn.execute(q):
            if r.contact_id is not None and r.contact_id not in targets:
                shared.setdefault(r.contact_id, set()).add(r.activity_id)
    return {cid: len(acts) for cid, acts in shared.items()}


# --- Health aggregates -------------------------------------------------------------------------------------------

IntArray = npt.NDArray[np.int64]
# Kind index as in analytics.relationships.health.KINDS (email, meeting, call, task; anything else 4).
_KIND_SQL = ("CASE kind WHEN 'email' THEN 0 WHEN 'meeting' THEN 1 WHEN 'call' THEN 2 WHEN 'task' THEN 3 "
             "ELSE 4 END")


def _ordinal_sql(conn: Connection) -> str:
    """SQL for ``day`` as a proleptic ordinal (``date.toordinal()``): integer arithmetic in the database."""
    if conn.dialect.name == "postgresql":
        return "(day - DATE '0001-01-01' + 1)"
    return "CAST(julianday(day) - 1721424.5 AS INTEGER)"


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _columns(rows: Sequence[Sequence[int]], width: int) -> list[IntArray]:
    data = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * width).reshape(-1, width)
    return [np.ascontiguousarray(data[:, i]) for i in range(width)]


def _driver_rows(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Plain tuples from the driver's cursor, in the connection's transaction (no result-row objects)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows
    finally:
        cursor.close()


def contact_day_counts(conn: Connection, tenant_id: str, *, since: date) -> list[IntArray]:
    """The rollups from ``since`` on as five integer columns: contact id, day ordinal, kind index, from us,
    from them (one row per user too: the caller sums with array operations). The rows go straight from the
    driver into arrays (no per-row objects). No ``GROUP BY`` here on purpose: nearly every contact-day-kind
    has a single user, so grouping barely shrinks the rows, and on SQLite its temporary B-tree doubled the
    read time on the large benchmark tenant (302,169 groups of 310,012 rows). On SQLite the table is scanned
    rather than the primary-key index ranged: the horizon holds most rows, and an index range pays a table
    look-up per row (25 % slower there)."""
    mark = _mark(conn)
    scan = " NOT INDEXED" if conn.dialect.name == "sqlite" else ""
    sql = (f"SELECT contact_id, {_ordinal_sql(conn)}, {_KIND_SQL}, from_us, from_them "
           f"FROM interaction_rollup{scan} WHERE tenant_id = {mark} AND day >= {mark}")
    return _columns(_driver_rows(conn, sql, (tenant_id, since)), 5)


def user_day_counts(conn: Connection, tenant_id: str, contact_ids: Collection[int], *,
                    since: date) -> tuple[list[IntArray], list[str]]:
    """The rollup rows of some contacts from ``since`` on, per user: columns contact id, user (an index into
    the returned list of user ids), day ordinal, kind index, from us, from them."""
    mark = _mark(conn)
    rows: list[Any] = []
    for chunk in _chunks(sorted(contact_ids)):
        sql = (f"SELECT contact_id, user_id, {_ordinal_sql(conn)}, {_KIND_SQL}, from_us, from_them "
               f"FROM interaction_rollup WHERE tenant_id = {mark} AND day >= {mark} "
               f"AND contact_id IN ({', '.join([mark] * len(chunk))})")
        rows.extend(_driver_rows(conn, sql, (tenant_id, since, *chunk)))
    users: dict[str, int] = {}
    coded = [(r[0], users.setdefault(r[1], len(users)), r[2], r[3], r[4], r[5]) for r in rows]
    return _columns(coded, 6), list(users)


def take_rollup_changes(conn: Connection, tenant_id: str) -> list[tuple[int, str, int, int, int, int]]:
    """Remove and return the tenant's pending rollup changes: (contact id, user id, day ordinal, kind index,
    from us, from them). ``DELETE … RETURNING`` consumes exactly what it returns, even with a sync writing."""
    mark = _mark(conn)
    sql = (f"DELETE FROM rollup_change WHERE tenant_id = {mark} RETURNING contact_id, user_id, "
           f"{_ordinal_sql(conn)}, {_KIND_SQL}, from_us, from_them")
    return _driver_rows(conn, sql, (tenant_id,))


def clear_rollup_changes(conn: Connection, tenant_id: str) -> None:
    conn.execute(delete(CHANGE).where(CHANGE.c.tenant_id == tenant_id))


def health_refresh_since(conn: Connection, tenant_id: str) -> tuple[date, datetime] | None:
    """The first day the tenant's stored health aggregates cover and when the full refresh that stored them ran
    (None: no full refresh stored them yet)."""
    row = conn.execute(select(REFRESH.c.since, REFRESH.c.full_at).where(REFRESH.c.tenant_id == tenant_id)).first()
    return None if row is None else (row.since, row.full_at)


def health_refresh_token(conn: Connection, tenant_id: str) -> tuple[Any, ...] | None:
    """The tenant's ``health_refresh`` row as the driver returns it (None: none yet): it changes with every
    full and incremental refresh, so a process that kept the aggregates of its own last refresh in memory can
    tell whether another one refreshed since (``refresh.HealthRefresher``). One primary-key read."""
    mark = _mark(conn)
    rows = _driver_rows(conn, f"SELECT since, full_at, increments FROM health_refresh WHERE tenant_id = {mark}",
                        (tenant_id,))
    return tuple(rows[0]) if rows else None


@dataclass(frozen=True, slots=True)
class StoredAggregate:
    """A record's stored aggregate: the series the last full refresh wrote (``health_state``) and what the
    incremental refreshes since added to it, summed (``health_score_change.series``). The aggregate is their
    sum."""

    base: bytes | None
    changed: bytes | None


def health_states(conn: Connection, tenant_id: str, record_type: str,
                  record_ids: Collection[str]) -> dict[str, StoredAggregate]:
    """The stored aggregates of some records (their ``health_state`` rows locked for this transaction on
    PostgreSQL); records with neither a state nor a change are absent."""
    mark = _mark(conn)
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    bases: dict[str, bytes] = {}
    changed: dict[str, bytes] = {}
    for chunk in _chunks(sorted(record_ids)):
        marks = ", ".join([mark] * len(chunk))
        where = f"tenant_id = {mark} AND record_type = {mark} AND record_id IN ({marks})"
        params = (tenant_id, record_type, *chunk)
        sql = f"SELECT record_id, series FROM health_state WHERE {where}{lock}"
        bases.update((r[0], bytes(r[1])) for r in _driver_rows(conn, sql, params))
        sql = f"SELECT record_id, series FROM health_score_change WHERE {where} AND series IS NOT NULL"
        changed.update((r[0], bytes(r[1])) for r in _driver_rows(conn, sql, params))
    return {i: StoredAggregate(bases.get(i), changed.get(i)) for i in bases.keys() | changed.keys()}


def all_health_states(conn: Connection, tenant_id: str) -> dict[str, dict[str, StoredAggregate]]:
    """Every stored aggregate of the tenant by record type and id (:func:`health_states` of all records; what a
    refresher that starts after the full refresh loads into memory)."""
    mark = _mark(conn)
    parts: dict[tuple[str, str], list[bytes | None]] = {}
    for at, table in ((0, "health_state"), (1, "health_score_change")):
        sql = f"SELECT record_type, record_id, series FROM {table} WHERE tenant_id = {mark} AND series IS NOT NULL"
        for record_type, record_id, series in _driver_rows(conn, sql, (tenant_id,)):
            parts.setdefault((record_type, record_id), [None, None])[at] = bytes(series)
    out: dict[str, dict[str, StoredAggregate]] = {"contact": {}, "account": {}}
    for (record_type, record_id), (base, changed) in parts.items():
        out.setdefault(record_type, {})[record_id] = StoredAggregate(base, changed)
    return out


def replace_health_states(conn: Connection, tenant_id: str, states: Sequence[tuple[str, str, bytes]], *,
                          since: date, now: datetime) -> None:
    """Replace all of the tenant's stored aggregates (a full refresh, which also empties
    ``health_score_change``: :func:`write_health_scores`); record what they cover."""
    conn.execute(delete(STATE).where(STATE.c.tenant_id == tenant_id))
    if states:
        mark = _mark(conn)
        # straight to the driver's executemany (both drivers take bytes for a binary column as is)
        conn.exec_driver_sql(f"INSERT INTO health_state (tenant_id, record_type, record_id, series) "
                             f"VALUES ({mark}, {mark}, {mark}, {mark})", [(tenant_id, t, i, b) for t, i, b in states])
    ins = dialect_insert(conn, REFRESH)
    done = {"since": since, "full_at": now, "incremental_at": None, "increments": 0}
    conn.execute(ins.values(tenant_id=tenant_id, **done).on_conflict_do_update(index_elements=["tenant_id"],
                                                                                 set_=done))


def mark_incremental_refresh(conn: Connection, tenant_id: str, *, now: datetime) -> int:
    """Record an incremental refresh at ``now`` on the tenant's ``health_refresh`` row; returns how many ran since
    the last full refresh. (On PostgreSQL two concurrent incremental refreshes of a tenant both update this row:
    the second fails to serialize and is retried, so neither adds its changes to a stale aggregate.)"""
    mark = _mark(conn)
    return int(_driver_rows(conn, f"UPDATE health_refresh SET increments = increments + 1, incremental_at = "
                                  f"{mark} WHERE tenant_id = {mark} RETURNING increments",
                            (_timestamp_param(conn, now), tenant_id))[0][0])


# --- Scores -----------------------------------------------------------------------------------------------------


def _timestamp_param(conn: Connection, at: datetime) -> Any:
    """``at`` as the driver takes it for a UTC timestamp column (naive UTC; SQLite: SQLAlchemy's text format)."""
    naive = at.astimezone(UTC).replace(tzinfo=None)
    return naive if conn.dialect.name == "postgresql" else naive.isoformat(sep=" ", timespec="microseconds")


def _history_copy(conn: Connection, records: str) -> str:
    """``INSERT … SELECT`` of the current health scores of an earlier day than a bound day into the history: the
    tenant's changed scores (``health_score_change``) and the ``score`` rows no change replaces. ``records``
    narrows both to some records (SQL on the columns ``record_type`` and ``record_id``). Parameters: tenant,
    day start, (``records``'s), tenant, day start, (``records``'s)."""
    mark = _mark(conn)
    head = ("INSERT INTO score_history (tenant_id, score_kind, record_type, record_id, computed_at, value, label, "
            "model_id) ")
    changed = (f"SELECT tenant_id, 'health', record_type, record_id, computed_at, value, label, NULL "
               f"FROM health_score_change WHERE tenant_id = {mark} AND computed_at < {mark}{records}")
    kept = (f"SELECT s.tenant_id, s.score_kind, s.record_type, s.record_id, s.computed_at, s.value, s.label, "
            f"s.model_id FROM score s WHERE s.tenant_id = {mark} AND s.score_kind = 'health' AND s.computed_at < "
            f"{mark}{records.replace('record_', 's.record_')} AND NOT EXISTS (SELECT 1 FROM health_score_change c "
            "WHERE c.tenant_id = s.tenant_id AND c.record_type = s.record_type AND c.record_id = s.record_id)")
    return (head + changed + " UNION ALL " + kept + " ON CONFLICT (tenant_id, score_kind, record_type, record_id, "
            "computed_at) DO UPDATE SET value = excluded.value, label = excluded.label")


def _day_start(conn: Connection, now: datetime) -> Any:
    return _timestamp_param(conn, datetime.combine(now.astimezone(UTC).date(), time.min, UTC))


def write_health_scores(conn: Connection, tenant_id: str,
                        scores: Sequence[tuple[str, str, float | None, str | None, str | None, str]], *,
                        now: datetime) -> int:
    """A full refresh: rewrite every current health score, rows ``(record type, id, value, label, trend,
    details as JSON text)``, straight through the driver's ``executemany`` (a tenant's refresh writes tens of
    thousands of rows), and empty the tenant's ``health_score_change`` (scores of incremental refreshes, see
    :func:`write_health_score_changes`: these rows replace them).

    History (one point per record and UTC day, the day's last score): the current score is its own day's point,
    so a refresh writes no history row for it; current scores of an earlier UTC day are copied into
    ``score_history`` first (each was its day's last), in one ``INSERT … SELECT``. Readers add the current score
    (:func:`health_history`). Returns how many score rows were written."""
    mark = _mark(conn)
    conn.exec_driver_sql(_history_copy(conn, ""), (tenant_id, _day_start(conn, now)) * 2)
    conn.execute(delete(SCORE_CHANGE).where(SCORE_CHANGE.c.tenant_id == tenant_id))
    if not scores:
        return 0
    details = f"CAST({mark} AS jsonb)" if conn.dialect.name == "postgresql" else mark
    conn.exec_driver_sql(
        "INSERT INTO score (tenant_id, score_kind, record_type, record_id, value, label, trend, model_id, "
        f"computed_at, details) VALUES ({mark}, 'health', {mark}, {mark}, {mark}, {mark}, {mark}, NULL, {mark}, "
        f"{details}) ON CONFLICT (tenant_id, score_kind, record_type, record_id) DO UPDATE SET "
        "value = excluded.value, label = excluded.label, trend = excluded.trend, "
        "computed_at = excluded.computed_at, details = excluded.details",
        [(tenant_id, t, i, v, label, trend, _timestamp_param(conn, now), d) for t, i, v, label, trend, d in scores])
    return len(scores)


_SCORE_ROWS_PER_STATEMENT = 200  # 1,800 parameters: within SQLite's and PostgreSQL's limits


def write_health_score_changes(conn: Connection, tenant_id: str,
                               scores: Sequence[tuple[str, str, float | None, str | None, str | None, bytes | None,
                                                      bytes | None]],
                               *, now: datetime, earlier_days: bool = True) -> int:
    """An incremental refresh: store the scores it computed, rows ``(record type, id, value, label, trend,
    packed factors, aggregate change)`` (factors: ``health_factors.pack``, None for a closed record; aggregate
    change: what the incremental refreshes since the last full refresh added to a contact's or account's
    aggregate, packed as ``health_state.series``, None for a lead or opportunity), as the records' current scores
    in ``health_score_change`` — one small row per record, replacing the record's earlier change — instead of
    rewriting their ``score`` rows: those are ≈ 7 to a page (the ``details`` document), so a refresh touching a
    tenth of the records dirtied half the table's pages; the changes of a day share a few pages of a small table,
    which the day's first full refresh empties. Readers merge both tables (:func:`stored_health`,
    :func:`health_histories`, :func:`stored_health_details`).

    History as in :func:`write_health_scores`: a current score of an earlier UTC day that one of these replaces is
    copied into ``score_history`` first. ``earlier_days=False`` (after a full refresh of ``now``'s UTC day, which
    copied every score of an earlier day): no stored score can be of an earlier day, none is looked up. Returns
    how many scores were written."""
    if not scores:
        return 0
    mark = _mark(conn)
    if earlier_days:
        day_start = _day_start(conn, now)
        by_type: dict[str, list[str]] = {}
        for t, i, *_rest in scores:
            by_type.setdefault(t, []).append(i)
        for t, ids in sorted(by_type.items()):
            for chunk in _chunks(sorted(ids)):
                records = f" AND record_type = {mark} AND record_id IN ({', '.join([mark] * len(chunk))})"
                conn.exec_driver_sql(_history_copy(conn, records), (tenant_id, day_start, t, *chunk) * 2)
    at = _timestamp_param(conn, now)
    # Many rows per statement (one VALUES tuple each): a quarter cheaper than one executemany step per row on
    # SQLite, where these ~10 µs per row were a fifth of an incremental refresh. A record appears once (the
    # refresh scores each once), as PostgreSQL's ON CONFLICT within one statement requires.
    rows = [(tenant_id, t, i, v, label, trend, at, f, b) for t, i, v, label, trend, f, b in scores]
    one = f"({', '.join([mark] * 9)})"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for chunk in _chunks(rows, _SCORE_ROWS_PER_STATEMENT):
            cursor.execute(
                "INSERT INTO health_score_change (tenant_id, record_type, record_id, value, label, trend, computed_at, "
                f"factors, series) VALUES {', '.join([one] * len(chunk))} "
                "ON CONFLICT (tenant_id, record_type, record_id) DO UPDATE SET value = excluded.value, "
                "label = excluded.label, trend = excluded.trend, computed_at = excluded.computed_at, "
                "factors = excluded.factors, series = excluded.series",
                tuple(chain.from_iterable(chunk)))
    finally:
        cursor.close()
    return len(scores)


def _with_current(points: list[StoredScore], current: StoredScore | None, limit: int) -> list[StoredScore]:
    """A record's history points (oldest first) with its current score as the point of its UTC day (see
    :func:`write_health_scores`; rows of that day in ``score_history`` are earlier scores of the day)."""
    if current is None:
        return points[-limit:]
    day = current.computed_at.date()
    kept = [p for p in points if p.computed_at.date() != day]
    kept.append(StoredScore(current.record_type, current.record_id, current.value, current.label, None,
                            current.computed_at))
    kept.sort(key=lambda p: p.computed_at)
    return kept[-limit:]


def _current_scores(conn: Connection, tenant_id: str, records: Collection[tuple[str, str]] | None,
                    *columns: str) -> dict[tuple[str, str], Any]:
    """The current health score rows (columns ``record_type``, ``record_id`` and ``columns``) of some records,
    or of every record: a record's ``health_score_change`` row, else its ``score`` row."""
    out: dict[tuple[str, str], Any] = {}
    for table in (SCORE, SCORE_CHANGE):  # a change replaces the score of the last full refresh
        cols = (table.c.record_type, table.c.record_id,
                *(table.c[c] if c in table.c else null().label(c) for c in columns))
        base = select(*cols).where(table.c.tenant_id == tenant_id)
        if table is SCORE:
            base = base.where(SCORE.c.score_kind == "health")
        if records is None:
            out.update(((r.record_type, r.record_id), r) for r in conn.execute(base))
            continue
        by_type: dict[str, list[str]] = {}
        for t, i in records:
            by_type.setdefault(t, []).append(i)
        for t, ids in sorted(by_type.items()):
            for chunk in _chunks(sorted(set(ids))):
                rows = conn.execute(base.where(table.c.record_type == t, table.c.record_id.in_(chunk)))
                out.update(((r.record_type, r.record_id), r) for r in rows)
    return out


def stored_health(conn: Connection, tenant_id: str, record_type: str,
                  record_ids: Collection[str]) -> dict[str, StoredScore]:
    """The current health scores of some records (see :func:`write_health_score_changes`)."""
    rows = _current_scores(conn, tenant_id, [(record_type, i) for i in record_ids],
                           "value", "label", "trend", "computed_at")
    return {i: StoredScore(t, i, r.value, r.label, r.trend, r.computed_at) for (t, i), r in rows.items()}


def stored_health_details(conn: Connection, tenant_id: str,
                          records: Collection[tuple[str, str]] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """The ``details`` documents of the current health scores of some records, or of every record: stored by a
    full refresh, or built from the numbers an incremental refresh stored (:mod:`analytics.store.health_factors`)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key, r in _current_scores(conn, tenant_id, records, "value", "details", "factors").items():
        if r.details is None:  # a change: the numbers of its document
            out[key] = health_factors.document(None if r.factors is None else bytes(r.factors), r.value)
        else:
            out[key] = r.details if isinstance(r.details, dict) else json.loads(r.details)
    return out


def health_history(conn: Connection, tenant_id: str, record_type: str, record_id: str, *,
                   limit: int = 120) -> list[StoredScore]:
    """The record's health scores, one per UTC day (its last), oldest first (the latest ``limit``): the rows of
    ``score_history`` and the current score."""
    q = (select(HISTORY.c.computed_at, HISTORY.c.value, HISTORY.c.label)
         .where(HISTORY.c.tenant_id == tenant_id, HISTORY.c.score_kind == "health",
                HISTORY.c.record_type == record_type, HISTORY.c.record_id == record_id)
         .order_by(HISTORY.c.computed_at.desc()).limit(limit + 1))  # one may share the current score's day
    rows = [StoredScore(record_type, record_id, r.value, r.label, None, r.computed_at) for r in conn.execute(q)]
    current = stored_health(conn, tenant_id, record_type, [record_id]).get(record_id)
    return _with_current(rows[::-1], current, limit)


def latest_health_score_at(conn: Connection, tenant_id: str) -> datetime | None:
    """When the tenant's latest stored health score was computed (None: none yet), changes included."""
    latest = [conn.execute(select(func.max(SCORE.c.computed_at)).where(
                  SCORE.c.tenant_id == tenant_id, SCORE.c.score_kind == "health")).scalar(),
              conn.execute(select(func.max(SCORE_CHANGE.c.computed_at)).where(
                  SCORE_CHANGE.c.tenant_id == tenant_id)).scalar()]
    found = [t for t in latest if t is not None]
    return max(found) if found else None


def tenant_ids(conn: Connection) -> list[str]:
    """Every tenant in the store (the CLI's default when there is exactly one)."""
    return sorted(conn.execute(select(TENANT.c.tenant_id)).scalars())


# --- Materialised health views (analytics.health_views) ----------------------------------------------------------

VIEW = models.table_of(models.HealthView)
VIEW_MARK = models.table_of(models.HealthViewMark)
# A mark that no refresh instant equals: written before the first views, so the row exists to be locked.
_NO_MARK = datetime(1970, 1, 1, tzinfo=UTC)


def window_activities(conn: Connection, tenant_id: str, *, start: datetime, end: datetime) -> list[ActivityRow]:
    """Every activity of the tenant with ``start <= start_at < end``, with all its participants, by start time
    (bulk and cancelled ones left out, as in :func:`activities_for_contacts`): one pass over the start-time
    index for a full materialisation of the health views."""
    mark = _mark(conn)
    window = _bind(conn, ACT.c.start_at)
    sql = (f"{_activity_rows_sql(mark)} AND a.start_at >= {mark} AND a.start_at < {mark} "
           "AND NOT a.is_bulk AND NOT a.is_cancelled")
    cores: dict[int, tuple[Any, ...]] = {}
    parts: dict[int, list[PartRow]] = {}
    _collect(conn, _driver_rows(conn, sql, (tenant_id, window(start), window(end))), cores, parts, ())
    return _activity_rows(cores, parts)


def rollup_user_day_counts(conn: Connection, tenant_id: str, *, since: date, until: date,
                           contact_ids: Collection[int] | None = None) -> tuple[list[IntArray], list[str]]:
    """The rollup rows from ``since`` to ``until`` (inclusive) of every contact, or of some: columns contact id,
    user (an index into the returned list of user ids), day ordinal, kind index, from us, from them."""
    mark = _mark(conn)
    base = (f"SELECT contact_id, user_id, {_ordinal_sql(conn)}, {_KIND_SQL}, from_us, from_them "
            f"FROM interaction_rollup WHERE tenant_id = {mark} AND day >= {mark} AND day <= {mark}")
    rows: list[Any] = []
    if contact_ids is None:
        rows = _driver_rows(conn, base, (tenant_id, since, until))
    else:
        for chunk in _chunks(sorted(contact_ids)):
            sql = f"{base} AND contact_id IN ({', '.join([mark] * len(chunk))})"
            rows.extend(_driver_rows(conn, sql, (tenant_id, since, until, *chunk)))
    users: dict[str, int] = {}
    coded = [(r[0], users.setdefault(r[1], len(users)), r[2], r[3], r[4], r[5]) for r in rows]
    return _columns(coded, 6), list(users)


def health_histories(conn: Connection, tenant_id: str, records: Collection[tuple[str, str]] | None = None, *,
                     limit: int = 120) -> dict[tuple[str, str], list[StoredScore]]:
    """:func:`health_history` of many records at once (every record's when ``records`` is None), keyed by
    (record type, record id)."""
    out: dict[tuple[str, str], list[StoredScore]] = {}
    cols = (HISTORY.c.record_type, HISTORY.c.record_id, HISTORY.c.computed_at, HISTORY.c.value, HISTORY.c.label)
    base = select(*cols).where(HISTORY.c.tenant_id == tenant_id, HISTORY.c.score_kind == "health")
    rows: list[Any] = []
    if records is None:
        rows = list(conn.execute(base))
    else:
        by_type: dict[str, list[str]] = {}
        for t, i in records:
            by_type.setdefault(t, []).append(i)
        for t, ids in sorted(by_type.items()):
            for chunk in _chunks(sorted(set(ids))):
                rows.extend(conn.execute(base.where(HISTORY.c.record_type == t, HISTORY.c.record_id.in_(chunk))))
    for r in rows:
        out.setdefault((r.record_type, r.record_id), []).append(
            StoredScore(r.record_type, r.record_id, r.value, r.label, None, r.computed_at))
    # the current scores are their days' points (see write_health_scores)
    current = {key: StoredScore(key[0], key[1], r.value, r.label, None, r.computed_at) for key, r in
               _current_scores(conn, tenant_id, records, "value", "label", "computed_at").items()}
    for key in out.keys() | current.keys():
        points = sorted(out.get(key, []), key=lambda s: s.computed_at)
        out[key] = _with_current(points, current.get(key), limit)
    return out


def latest_health_refresh(conn: Connection, tenant_id: str) -> datetime | None:
    """The instant of the tenant's latest health refresh (incremental or full), None before the first."""
    row = conn.execute(select(REFRESH.c.full_at, REFRESH.c.incremental_at)
                       .where(REFRESH.c.tenant_id == tenant_id)).first()
    if row is None:
        return None
    latest: datetime = row.incremental_at if row.incremental_at is not None else row.full_at
    return latest


def health_view_mark(conn: Connection, tenant_id: str, *, lock: bool = False) -> datetime | None:
    """The refresh instant whose views are all written (None: none yet). ``lock``: in a write transaction,
    create the row if missing and lock it, so materialisations of one tenant take turns."""
    if lock:
        conn.execute(dialect_insert(conn, VIEW_MARK).values(tenant_id=tenant_id, refreshed_at=_NO_MARK)
                     .on_conflict_do_nothing(index_elements=["tenant_id"]))
    q = select(VIEW_MARK.c.refreshed_at).where(VIEW_MARK.c.tenant_id == tenant_id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    value = conn.execute(q).scalar_one_or_none()
    return None if value is None or value == _NO_MARK else value


def write_health_views(conn: Connection, tenant_id: str, views: Sequence[tuple[str, str, bytes]], *,
                       computed_at: datetime, every_record: bool,
                       dropped: Collection[tuple[str, str]] = ()) -> None:
    """Store views ``(record type, record id, body)`` computed at ``computed_at`` and mark that instant as
    materialised. ``every_record``: they replace all of the tenant's views; else they are upserted, and the
    views of ``dropped`` (record type, record id) are deleted."""
    _write_view_bodies(conn, VIEW, tenant_id, views, computed_at=computed_at, every_record=every_record,
                       dropped=dropped)
    conn.execute(update(VIEW_MARK).where(VIEW_MARK.c.tenant_id == tenant_id).values(refreshed_at=computed_at))


def _write_view_bodies(conn: Connection, table: Table, tenant_id: str, views: Sequence[tuple[str, str, bytes]], *,
                       computed_at: datetime, every_record: bool, dropped: Collection[tuple[str, str]]) -> None:
    """The rows of a per-record view table (``health_view``, ``who_knows_view``: the same columns)."""
    if every_record:
        conn.execute(delete(table).where(table.c.tenant_id == tenant_id))
    for record_type, record_id in dropped:
        conn.execute(delete(table).where(table.c.tenant_id == tenant_id, table.c.record_type == record_type,
                                         table.c.record_id == record_id))
    if views:
        mark = _mark(conn)
        sql = (f"INSERT INTO {table.name} (tenant_id, record_type, record_id, computed_at, body) "
               f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})")
        if not every_record:
            sql += (" ON CONFLICT (tenant_id, record_type, record_id) DO UPDATE SET "
                    "computed_at = excluded.computed_at, body = excluded.body")
        at = _timestamp_param(conn, computed_at)
        conn.exec_driver_sql(sql, [(tenant_id, t, i, at, b) for t, i, b in views])


def _any_view_body(conn: Connection, table: Table, tenant_id: str) -> bytes | None:
    value = conn.execute(select(table.c.body).where(table.c.tenant_id == tenant_id).limit(1)).scalar_one_or_none()
    return None if value is None else bytes(value)


def any_health_view_body(conn: Connection, tenant_id: str) -> bytes | None:
    """One stored view body of the tenant (to check the format the views were written in)."""
    return _any_view_body(conn, VIEW, tenant_id)


@dataclass(frozen=True, slots=True)
class StoredViewRow:
    """A record's stored view with what decides whether it is current."""

    computed_at: datetime
    body: bytes
    marked_at: datetime  # the refresh instant whose views are all written
    refreshed_at: datetime  # the tenant's latest refresh instant


def health_view(conn: Connection, tenant_id: str, record_type: str, record_id: str) -> StoredViewRow | None:
    """A record's stored view (one statement through the driver, on every health ask: the view, the tenant's
    view mark and refresh marker)."""
    return _stored_view(conn, VIEW, tenant_id, record_type, record_id)


def _stored_view(conn: Connection, table: Table, tenant_id: str, record_type: str,
                 record_id: str) -> StoredViewRow | None:
    """A row of a per-record view table with the tenant's view mark and latest refresh instant."""
    mark = _mark(conn)
    sql = (f"SELECT v.computed_at, v.body, m.refreshed_at, r.full_at, r.incremental_at FROM {table.name} v "
           "JOIN health_view_mark m ON m.tenant_id = v.tenant_id JOIN health_refresh r ON r.tenant_id = v.tenant_id "
           f"WHERE v.tenant_id = {mark} AND v.record_type = {mark} AND v.record_id = {mark}")
    rows = _driver_rows(conn, sql, (tenant_id, record_type, record_id))
    if not rows:
        return None
    computed, body, marked, full, incremental = rows[0]
    process = table.c.computed_at.type.result_processor(conn.dialect, None)  # UTC-aware on both drivers

    def instant(value: Any) -> datetime:
        out = process(value) if process is not None else value
        assert isinstance(out, datetime)
        return out

    return StoredViewRow(instant(computed), bytes(body), instant(marked),
                         instant(incremental if incremental is not None else full))


def window_activities_of_contacts(conn: Connection, tenant_id: str, contact_ids: Collection[int], *,
                                  start: datetime, end: datetime) -> list[ActivityRow]:
    """What :func:`activities_for_contacts` returns (same rows, same order), read for many contacts at once (an
    incremental materialisation of the health views: thousands of contacts, a large share of the window).

    :func:`activities_for_contacts` checks every activity the contacts were ever on against its start time, one
    primary-key look-up each (482,800 for 4,021 contacts on the large benchmark store, to keep 140,255). Here
    the contacts' activity ids come from the participant contact index alone; the window's activities are then
    either scanned once over the start-time index (when the candidates are at least half as many as the
    window's activities) or looked up by id; and their participants are read by activity id, each activity
    once."""
    mark = _mark(conn)
    window = _bind(conn, ACT.c.start_at)
    candidates: set[int] = set()
    for chunk in _chunks(sorted(set(contact_ids))):
        sql = (f"SELECT activity_id FROM activity_participant WHERE tenant_id = {mark} "
               f"AND contact_id IN ({', '.join([mark] * len(chunk))})")
        candidates.update(r[0] for r in _driver_rows(conn, sql, (tenant_id, *chunk)))
    if not candidates:
        return []
    def core_sql(start_at: str) -> str:
        return ("SELECT activity_id, kind, start_at, duration_minutes, conversation_id, initiator_side, is_reply "
                f"FROM activity WHERE tenant_id = {mark} AND {start_at} >= {mark} AND {start_at} < {mark} "
                "AND NOT is_bulk AND NOT is_cancelled")

    bounds = (window(start), window(end))
    # Counted over the start-time index only as far as the choice needs (a few candidates: a few rows).
    limit = 2 * len(candidates)
    in_window = _driver_rows(conn, f"SELECT COUNT(*) FROM (SELECT 1 FROM activity WHERE tenant_id = {mark} "
                                   f"AND start_at >= {mark} AND start_at < {mark} LIMIT {limit + 1}) w",
                             (tenant_id, *bounds))[0][0]
    cores_rows: list[tuple[Any, ...]] = []
    if in_window <= limit:
        cores_rows = [r for r in _driver_rows(conn, core_sql("start_at"), (tenant_id, *bounds)) if r[0] in candidates]
    else:
        # By primary key: left free, SQLite's planner ranges the start-time index over the whole window for
        # every chunk (7 s instead of 0.1 s for 630 contacts); a unary plus keeps it off that index.
        by_key = core_sql("+start_at" if conn.dialect.name == "sqlite" else "start_at")
        for chunk in _chunks(sorted(candidates)):
            sql = f"{by_key} AND activity_id IN ({', '.join([mark] * len(chunk))})"
            cores_rows.extend(_driver_rows(conn, sql, (tenant_id, *bounds, *chunk)))
    start_at = ACT.c.start_at.type.result_processor(conn.dialect, None)
    cores = {r[0]: (r[1], start_at(r[2]) if start_at is not None else r[2], *r[3:]) for r in cores_rows}
    rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(sorted(cores)):
        sql = (f"SELECT activity_id, role, side, address, display_name, user_id, contact_id "
               f"FROM activity_participant WHERE tenant_id = {mark} "
               f"AND activity_id IN ({', '.join([mark] * len(chunk))})")
        rows.extend(_driver_rows(conn, sql, (tenant_id, *chunk)))
    rows.sort(key=itemgetter(0, 1, 3))  # by activity, then each activity's participants in _part_order
    parts: dict[int, list[PartRow]] = {aid: [] for aid in cores}
    # The same person in the same role recurs on many activities: one PartRow each (they are immutable).
    known: dict[tuple[Any, ...], PartRow] = {}
    for aid, *fields in rows:
        key = tuple(fields)
        part = known.get(key)
        if part is None:
            role, side, address, name, user, contact = fields
            part = known[key] = PartRow(role, side, address, name or address, user, contact)
        parts[aid].append(part)
    out = [ActivityRow(aid, kind, start, float(minutes or 0.0), conversation, initiator, bool(reply),
                       tuple(parts[aid]))
           for aid, (kind, start, minutes, conversation, initiator, reply) in cores.items()]
    out.sort(key=attrgetter("start_at", "activity_id"))  # as _activity_rows
    return out


# --- Stored who-knows answers (analytics.who_knows_views) ----------------------------------------------------------

WHO_VIEW = models.table_of(models.WhoKnowsView)


def rollup_edge_rows(conn: Connection, tenant_id: str, *, until: date, contact_ids: Collection[int] | None = None
                     ) -> tuple[list[IntArray], list[str], list[str]]:
    """Every rollup row up to ``until`` (inclusive) of every contact, or of some, for who-knows edges: columns
    contact id, user (an index into the returned user ids), day ordinal, kind (an index into the returned kinds),
    from us, from them."""
    mark = _mark(conn)
    base = (f"SELECT contact_id, user_id, {_ordinal_sql(conn)}, kind, from_us, from_them "
            f"FROM interaction_rollup WHERE tenant_id = {mark} AND day <= {mark}")
    rows: list[Any] = []
    if contact_ids is None:
        rows = _driver_rows(conn, base, (tenant_id, until))
    else:
        for chunk in _chunks(sorted(set(contact_ids))):
            sql = f"{base} AND contact_id IN ({', '.join([mark] * len(chunk))})"
            rows.extend(_driver_rows(conn, sql, (tenant_id, until, *chunk)))
    users: dict[str, int] = {}
    kinds: dict[str, int] = {}
    coded = [(r[0], users.setdefault(r[1], len(users)), r[2], kinds.setdefault(r[3], len(kinds)), r[4], r[5])
             for r in rows]
    return _columns(coded, 6), list(users), list(kinds)


def rollup_last_at(conn: Connection, tenant_id: str, *, until: date, contact_ids: Collection[int] | None = None
                   ) -> list[tuple[int, str, str, datetime]]:
    """The latest ``last_at`` of each contact, user and kind up to ``until`` (pairs without one are left out)."""
    base = (select(ROLLUP.c.contact_id, ROLLUP.c.user_id, ROLLUP.c.kind, func.max(ROLLUP.c.last_at).label("last"))
            .where(ROLLUP.c.tenant_id == tenant_id, ROLLUP.c.day <= until, ROLLUP.c.last_at.is_not(None))
            .group_by(ROLLUP.c.contact_id, ROLLUP.c.user_id, ROLLUP.c.kind))
    process = ROLLUP.c.last_at.type.result_processor(conn.dialect, None)
    chunks: Iterable[Sequence[int] | None] = [None] if contact_ids is None else _chunks(sorted(set(contact_ids)))
    out: list[tuple[int, str, str, datetime]] = []
    for chunk in chunks:
        q = base if chunk is None else base.where(ROLLUP.c.contact_id.in_(chunk))
        for r in conn.execute(q):
            # MAX() of a column is typed as the column on both backends, so the UTC type has processed it; a raw
            # SQLite text is processed here.
            last = r.last if isinstance(r.last, datetime) or process is None else process(r.last)
            assert isinstance(last, datetime)
            out.append((r.contact_id, r.user_id, r.kind, last))
    return out


def write_who_knows_views(conn: Connection, tenant_id: str, views: Sequence[tuple[str, str, bytes]], *,
                          computed_at: datetime, every_record: bool,
                          dropped: Collection[tuple[str, str]] = ()) -> None:
    """Store who-knows answers ``(record type, record id, body)`` computed at ``computed_at``, in the transaction
    that writes the health views and their mark (:func:`write_health_views`). ``every_record``: they replace all
    of the tenant's; else they are upserted and those of ``dropped`` (record type, record id) are deleted."""
    _write_view_bodies(conn, WHO_VIEW, tenant_id, views, computed_at=computed_at, every_record=every_record,
                       dropped=dropped)


def any_who_knows_view_body(conn: Connection, tenant_id: str) -> bytes | None:
    """One stored who-knows body of the tenant (to check the format they were written in)."""
    return _any_view_body(conn, WHO_VIEW, tenant_id)


def who_knows_view(conn: Connection, tenant_id: str, record_type: str, record_id: str) -> StoredViewRow | None:
    """A record's stored who-knows answer with the tenant's view mark and latest refresh (one statement)."""
    return _stored_view(conn, WHO_VIEW, tenant_id, record_type, record_id)


def who_knows_left_out(conn: Connection, tenant_id: str) -> tuple[set[str], set[str]]:
    """:func:`opted_out_users` and :func:`unavailable_users` in one statement through the driver (on every
    stored who-knows answer served: the two through the ORM layer cost ≈2 ms of the ask's CPU)."""
    mark = _mark(conn)
    scopes = ", ".join(f"'{s}'" for s in WHO_KNOWS_OPT_OUT_SCOPES)
    sql = (f"SELECT user_id, 1 FROM user_opt_out WHERE tenant_id = {mark} AND scope IN ({scopes}) UNION ALL "
           f"SELECT user_id, 0 FROM internal_user WHERE tenant_id = {mark} "
           "AND (mailbox_kind <> 'user' OR NOT account_enabled)")
    opted_out: set[str] = set()
    unavailable: set[str] = set()
    for user_id, is_opt_out in _driver_rows(conn, sql, (tenant_id, tenant_id)):
        (opted_out if is_opt_out else unavailable).add(user_id)
    return opted_out, unavailable


def users_by_id(conn: Connection, tenant_id: str, user_ids: Collection[str]) -> dict[str, UserRow]:
    """:func:`users` of a few ids, through the driver."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    mark = _mark(conn)
    sql = (f"SELECT user_id, email, display_name FROM internal_user WHERE tenant_id = {mark} "
           f"AND user_id IN ({', '.join([mark] * len(ids))})")
    return {r[0]: UserRow(r[0], r[1], r[2] or r[1]) for r in _driver_rows(conn, sql, (tenant_id, *ids))}

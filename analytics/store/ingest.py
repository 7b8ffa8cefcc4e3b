"""Bulk, idempotent ingest of activities: the sync's hot path.

Guarantees, for a batch ingested inside the caller's transaction:

* **Idempotent.** An activity is keyed by its cross-mailbox identity (``internetMessageId``, iCalUId, …), each
  sighting by (mailbox, Graph id). Ingesting the same input again changes nothing.
* **Merging.** The same activity seen from several mailboxes is one row with the union of the participants
  and one source row per mailbox.
* **All or nothing.** Nothing is committed here; if the caller's transaction fails half-way, no partial rows
  remain. The sync stores its delta link in that same transaction.
* **Rollups exact.** ``interaction_rollup`` moves by the difference between each activity's contribution
  before and after the batch (:mod:`analytics.store.rollups`).
* **Concurrent workers.** New activities are inserted with ``ON CONFLICT DO NOTHING … RETURNING`` first; the
  ones another transaction inserted are then locked (``FOR UPDATE`` on PostgreSQL; SQLite has one writer)
  before their participants are read, so two workers merging the same mail cannot both count it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from analytics.errors import IngestError
from analytics.store import models, rollups
from analytics.store.bulk import bulk_insert, driver_form, insert_values
from analytics.store.ids import contact_key, domain_of, key64, normalise_address, subject_digest
from analytics.store.records import ActivityIn, IngestResult, ParticipantIn, RemoveResult
from analytics.store.rollups import Contribution, PairParticipant, RollupKey, contribution, diff

ACT = models.table_of(models.Activity)
PART = models.table_of(models.ActivityParticipant)
SRC = models.table_of(models.ActivitySource)
CONTACT = models.table_of(models.Contact)
ROLLUP = models.table_of(models.InteractionRollup)
_NO_MINUTES = 1e-9  # minutes are float sums: a removal can leave a rounding residue of zero

_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits

# Every bulk INSERT below carries a RETURNING clause even where the result is not needed: that is what makes
# SQLAlchemy send multi-row VALUES statements ("insertmanyvalues") instead of one statement per row, which is
# several times faster on PostgreSQL.


def dialect_insert(conn: Connection, table: Any) -> Any:
    """``INSERT`` with the backend's ``ON CONFLICT`` support (for small upserts; bulk ones use ``bulk_insert``)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise IngestError(f"unsupported database backend {conn.dialect.name!r}")


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class _Person:
    """What the ingest derives from one :class:`ParticipantIn`, once per batch: the normaliser hands out one shared
    object per distinct participant, and they recur on most items of a batch."""

    __slots__ = ("address", "contact_id", "display_name", "pair", "response_status", "role", "side", "user_id")

    def __init__(self, p: ParticipantIn) -> None:
        self.address = normalise_address(p.address)
        self.role = p.role
        self.side = p.side
        self.display_name = p.display_name[:512]
        self.user_id = p.user_id if p.side == "internal" else None
        self.contact_id = contact_key(self.address) if p.side == "external" else None
        self.response_status = p.response_status
        self.pair = PairParticipant(p.role, p.side, self.user_id, self.contact_id)

    def row(self, tenant_id: str, activity_id: int) -> tuple[Any, ...]:
        return (tenant_id, activity_id, self.role, self.address, self.display_name, self.side, self.user_id,
                self.contact_id, self.response_status)


class _Pending:
    """One activity of the batch, merged over all its sightings in the batch."""

    __slots__ = ("dedup_key", "first", "participants", "sources")

    def __init__(self, first: ActivityIn, dedup_key: str) -> None:
        self.first = first
        self.dedup_key = dedup_key
        self.participants: dict[tuple[str, str], _Person] = {}
        self.sources: dict[int, ActivityIn] = {}

    def add(self, a: ActivityIn, source_key: int, people: dict[int, _Person]) -> None:
        """Merge sighting ``a``; ``people`` caches the batch's participant facts by object id (the normaliser
        hands out one shared object per distinct participant; hashing one by value cost more than it saved)."""
        parts = self.participants
        for p in a.participants:
            info = people.get(id(p))
            if info is None:
                info = people[id(p)] = _Person(p)
            key = (info.role, info.address)
            if key not in parts:
                parts[key] = info
        self.sources[source_key] = a


_PART_COLUMNS = ("tenant_id", "activity_id", "role", "address", "display_name", "side", "user_id", "contact_id",
                 "response_status")
_ACT_COLUMNS = ("tenant_id", "activity_id", "dedup_key", "kind", "internet_message_id", "ical_uid", "conversation_id",
                "start_at", "end_at", "duration_minutes", "direction", "initiator_side", "is_reply", "is_bulk",
                "is_cancelled", "subject", "subject_hash", "attributes", "updated_at")
_SRC_COLUMNS = ("tenant_id", "source_key", "activity_id", "mailbox_id", "resource", "source_id", "folder_id")
_CONTACT_COLUMNS = ("tenant_id", "contact_id", "email", "domain", "display_name", "sender_class", "fields")


def _pair(row: dict[str, Any]) -> PairParticipant:
    return PairParticipant(row["role"], row["side"], row["user_id"], row["contact_id"])


def _contribution(core: dict[str, Any], parts: Iterable[dict[str, Any]]) -> dict[RollupKey, Contribution]:
    return contribution(
        core["kind"], core["start_at"], core["duration_minutes"],
        is_bulk=core["is_bulk"], is_cancelled=core["is_cancelled"],
        initiator_side=core["initiator_side"], participants=[_pair(r) for r in parts],
    )


def _part_dict(tenant_id: str, activity_id: int, info: _Person) -> dict[str, Any]:
    return dict(zip(_PART_COLUMNS, info.row(tenant_id, activity_id), strict=True))


# Fields of an existing activity that a later sighting may change (a moved meeting, a cancellation).
_MUTABLE = ("start_at", "end_at", "duration_minutes", "is_cancelled", "subject", "subject_hash", "conversation_id")


def ingest_activities(
    conn: Connection,
    tenant_id: str,
    batch: Sequence[ActivityIn],
    *,
    now: datetime,
    subject_policy: str = "hash",
    subject_key: str = "",
) -> IngestResult:
    """Ingest ``batch`` for ``tenant_id`` inside the caller's transaction. See the module docstring.

    A sighting already stored moves to the ``folder_id`` of its last sighting in ``batch`` (a mail moved between
    folders keeps its immutable id; the folder that reported it last owns it).
    """
    if not batch:
        return IngestResult()
    if subject_policy not in ("drop", "hash", "keep"):
        raise IngestError(f"unknown subject policy {subject_policy!r}")
    if subject_policy == "hash" and not subject_key:
        raise IngestError("subject policy 'hash' needs a secret key (RAPPORT_SECRET_KEY)")

    pending: dict[int, _Pending] = {}
    people: dict[int, _Person] = {}  # by id(): the batch keeps every participant object alive meanwhile
    for a in batch:
        if a.start_at.tzinfo is None:
            raise IngestError(f"activity {a.source_id!r} has a naive start time")
        dedup_key = a.dedup_key
        aid = key64(dedup_key)
        p = pending.get(aid)
        if p is None:
            p = pending[aid] = _Pending(a, dedup_key)
        p.add(a, key64(a.mailbox_id, a.source_id), people)
    ids = sorted(pending)  # one lock order for every worker avoids deadlocks

    # Rows are built as driver-ready tuples: one conversion per value, none per column afterwards.
    form = driver_form(conn)
    ts, as_json = form.timestamp, form.json
    stamp = ts(now)
    keep, hashed = subject_policy == "keep", subject_policy == "hash"
    act_rows: list[tuple[Any, ...]] = []
    for aid in ids:
        p = pending[aid]
        a = p.first
        subject = a.subject
        act_rows.append((
            tenant_id, aid, p.dedup_key, a.kind, a.internet_message_id, a.ical_uid, a.conversation_id,
            ts(a.start_at), None if a.end_at is None else ts(a.end_at), float(a.duration_minutes), a.direction,
            a.initiator_side, a.is_reply, a.is_bulk, a.is_cancelled, subject if keep else None,
            subject_digest(subject, subject_key) if hashed and subject else None,
            as_json(dict(a.attributes)) if a.attributes else "{}", stamp,
        ))
    inserted = set(insert_values(conn, ACT, _ACT_COLUMNS, act_rows, conflict=("tenant_id", "activity_id"),
                                 returning="activity_id"))

    delta: dict[RollupKey, Contribution] = {}

    def accumulate(d: dict[RollupKey, Contribution]) -> None:
        for key, c in d.items():
            acc = delta.get(key)
            if acc is None:
                delta[key] = c
            else:
                acc.add(c)

    new_parts: list[tuple[Any, ...]] = []
    existing_ids: list[int] = []
    for aid in ids:
        if aid not in inserted:
            existing_ids.append(aid)
            continue
        p = pending[aid]
        a = p.first
        infos = p.participants.values()
        new_parts.extend(info.row(tenant_id, aid) for info in infos)
        if not (a.is_bulk or a.is_cancelled):
            accumulate(contribution(a.kind, a.start_at, float(a.duration_minutes), is_bulk=False,
                                    is_cancelled=False, initiator_side=a.initiator_side,
                                    participants=[info.pair for info in infos]))
    merged, updates = _merge_existing(conn, tenant_id, existing_ids, pending, subject_policy, subject_key,
                                      new_parts, accumulate)

    _insert_contacts(conn, tenant_id, pending.values())
    if new_parts:
        insert_values(conn, PART, _PART_COLUMNS, new_parts, conflict=("tenant_id", "activity_id", "role", "address"))
    for aid, upd in updates:
        conn.execute(update(ACT).where(ACT.c.tenant_id == tenant_id, ACT.c.activity_id == aid).values(
            **upd, updated_at=now))
    src_rows = [(tenant_id, sk, aid, a.mailbox_id, a.resource, a.source_id, a.folder_id)
                for aid in ids for sk, a in pending[aid].sources.items()]
    added = insert_values(conn, SRC, _SRC_COLUMNS, src_rows, conflict=("tenant_id", "source_key"),
                          returning="source_key")
    if len(added) < len(src_rows):
        _move_sightings(conn, tenant_id, src_rows, set(added))
    _apply_rollup_delta(conn, tenant_id, delta)
    return IngestResult(
        activities_new=len(inserted),
        activities_merged=merged,
        participants_added=len(new_parts),
        sources_added=len(added),
        rollup_rows_touched=len(delta),
    )


def _merge_existing(
    conn: Connection,
    tenant_id: str,
    existing_ids: list[int],
    pending: dict[int, _Pending],
    subject_policy: str,
    subject_key: str,
    new_parts: list[tuple[Any, ...]],
    accumulate: Callable[[dict[RollupKey, Contribution]], None],
) -> tuple[int, list[tuple[int, dict[str, Any]]]]:
    """Activities already stored: lock them, read their state and participants, and collect the participants
    they gain, the fields that changed and the exact rollup difference. Returns (merged, updates)."""
    old_core: dict[int, dict[str, Any]] = {}
    old_parts: dict[int, dict[tuple[str, str], dict[str, Any]]] = {aid: {} for aid in existing_ids}
    # Only the columns the comparison and the rollups read (the whole rows cost a JSON parse and a dict each).
    core_columns = [ACT.c[c] for c in ("activity_id", "kind", "initiator_side", "is_bulk", *_MUTABLE)]
    part_columns = [PART.c[c] for c in ("activity_id", "role", "address", "side", "user_id", "contact_id")]
    for chunk in _chunks(existing_ids):
        q = select(*core_columns).where(ACT.c.tenant_id == tenant_id, ACT.c.activity_id.in_(chunk))
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        for r in conn.execute(q).mappings():
            old_core[r["activity_id"]] = dict(r)
        pq = select(*part_columns).where(PART.c.tenant_id == tenant_id, PART.c.activity_id.in_(chunk))
        for r in conn.execute(pq).mappings():
            old_parts[r["activity_id"]][(r["role"], r["address"])] = dict(r)
    updates: list[tuple[int, dict[str, Any]]] = []
    for aid in existing_ids:
        p = pending[aid]
        a = p.first
        incoming = {
            "start_at": a.start_at, "end_at": a.end_at, "duration_minutes": float(a.duration_minutes),
            "is_cancelled": a.is_cancelled, "subject": a.subject if subject_policy == "keep" else None,
            "subject_hash": (subject_digest(a.subject, subject_key) if subject_policy == "hash" and a.subject
                             else None),
            "conversation_id": a.conversation_id,
        }
        before_core = old_core[aid]
        before_parts = old_parts[aid]
        added = [info for k, info in p.participants.items() if k not in before_parts]
        new_parts.extend(info.row(tenant_id, aid) for info in added)
        after_core = dict(before_core)
        changes = {m: incoming[m] for m in _MUTABLE if incoming[m] is not None and incoming[m] != before_core[m]}
        if changes:
            after_core.update(changes)
            updates.append((aid, changes))
        if added or changes:
            after_parts = list(before_parts.values()) + [_part_dict(tenant_id, aid, info) for info in added]
            accumulate(diff(_contribution(before_core, before_parts.values()), _contribution(after_core, after_parts)))
    return len(existing_ids), updates


def _move_sightings(conn: Connection, tenant_id: str, src_rows: list[tuple[Any, ...]], added: set[int]) -> None:
    """Sightings already stored belong to the folder that reported them last (a no-op where they already do)."""
    by_folder: dict[str, list[int]] = {}
    for row in src_rows:
        if row[1] not in added and row[6] is not None:
            by_folder.setdefault(row[6], []).append(row[1])
    p = "%s" if conn.dialect.name == "postgresql" else "?"
    for folder, keys in by_folder.items():
        for chunk in _chunks(keys):
            conn.exec_driver_sql(
                f"UPDATE activity_source SET folder_id = {p} WHERE tenant_id = {p} AND folder_id != {p} "
                f"AND source_key IN ({', '.join([p] * len(chunk))})", (folder, tenant_id, folder, *chunk))


def _insert_contacts(conn: Connection, tenant_id: str, pending: Iterable[_Pending]) -> None:
    contacts: dict[int, tuple[Any, ...]] = {}
    for p in pending:
        bulk_sender = p.first.is_bulk
        for info in p.participants.values():
            cid = info.contact_id
            if cid is None or cid in contacts:
                continue
            sender_class = "bulk" if bulk_sender and info.role == "from" else "person"
            contacts[cid] = (tenant_id, cid, info.address, domain_of(info.address), info.display_name,
                             sender_class, "{}")
    if contacts:
        insert_values(conn, CONTACT, _CONTACT_COLUMNS, [contacts[c] for c in sorted(contacts)],
                      conflict=("tenant_id", "contact_id"))


def _apply_rollup_delta(conn: Connection, tenant_id: str, delta: dict[RollupKey, Contribution]) -> None:
    if not delta:
        return
    r = "interaction_rollup"
    # last_at only moves forward: after a deletion it stays an upper bound until a full rebuild.
    greatest = (f"greatest({r}.last_at, excluded.last_at)" if conn.dialect.name == "postgresql" else
                f"max(coalesce({r}.last_at, excluded.last_at), coalesce(excluded.last_at, {r}.last_at))")
    update = {c: f"{r}.{c} + excluded.{c}" for c in ("from_us", "from_them", "minutes_us", "minutes_them")}
    update["last_at"] = greatest
    rows = [
        {"tenant_id": tenant_id, "day": k[0], "user_id": k[1], "contact_id": k[2], "kind": k[3],
         "from_us": c.from_us, "from_them": c.from_them, "minutes_us": c.minutes_us,
         "minutes_them": c.minutes_them, "last_at": c.last_at}
        for k in sorted(delta) for c in (delta[k],)
    ]
    bulk_insert(conn, ROLLUP, rows, conflict=("tenant_id", "day", "user_id", "contact_id", "kind"), update=update)
    rollups.record_changes(conn, tenant_id, rows)  # what the stored health aggregates have not seen yet
    _drop_empty_rollups(conn, tenant_id, [k for k, c in delta.items()
                                          if min(c.from_us, c.from_them, c.minutes_us, c.minutes_them) < 0])


def _drop_empty_rollups(conn: Connection, tenant_id: str, keys: Sequence[RollupKey]) -> None:
    """Delete the rollup rows of ``keys`` (those a removal subtracted from) that now count nothing: a day on which
    a contact's only mail was removed is a day without contact, and a contact left with only such rows would still
    be scored ("Not enough info") and carried by every refresh."""
    c = ROLLUP.c
    for chunk in _chunks(sorted(keys)):
        conn.execute(delete(ROLLUP).where(
            c.tenant_id == tenant_id, tuple_(c.day, c.user_id, c.contact_id, c.kind).in_(chunk),
            c.from_us == 0, c.from_them == 0, func.abs(c.minutes_us) < _NO_MINUTES,
            func.abs(c.minutes_them) < _NO_MINUTES))


def remove_sources(
    conn: Connection, tenant_id: str, mailbox_id: str, source_ids: Sequence[str]
) -> RemoveResult:
    """Forget sightings (Graph ``@removed``); an activity seen nowhere any more is deleted with its rollups."""
    keys = sorted({key64(mailbox_id, s) for s in source_ids})
    return _remove_source_keys(conn, tenant_id, keys)


def _remove_source_keys(conn: Connection, tenant_id: str, keys: Sequence[int]) -> RemoveResult:
    affected: set[int] = set()
    removed = 0
    for chunk in _chunks(keys):
        cond = (SRC.c.tenant_id == tenant_id) & SRC.c.source_key.in_(chunk)
        affected.update(conn.execute(select(SRC.c.activity_id).where(cond)).scalars())
        removed += conn.execute(delete(SRC).where(cond)).rowcount or 0
    if not affected:
        return RemoveResult()
    still_seen: set[int] = set()
    ids = sorted(affected)
    for chunk in _chunks(ids):
        still_seen.update(conn.execute(
            select(SRC.c.activity_id).where(SRC.c.tenant_id == tenant_id, SRC.c.activity_id.in_(chunk))
        ).scalars())
    orphans = [aid for aid in ids if aid not in still_seen]
    deleted = delete_activities(conn, tenant_id, orphans)
    return RemoveResult(sources_removed=removed, activities_deleted=deleted)


def remove_unseen_sources(
    conn: Connection, tenant_id: str, mailbox_id: str, resource: str, seen_source_ids: Iterable[str]
) -> RemoveResult:
    """After a full resync of one resource: drop every sighting of it that the resync did not see again."""
    seen = {key64(mailbox_id, s) for s in seen_source_ids}
    known = conn.execute(select(SRC.c.source_key).where(
        SRC.c.tenant_id == tenant_id, SRC.c.mailbox_id == mailbox_id, SRC.c.resource == resource)).scalars()
    gone = sorted(k for k in known if k not in seen)
    return _remove_source_keys(conn, tenant_id, gone)


def delete_activities(conn: Connection, tenant_id: str, activity_ids: Sequence[int]) -> int:
    """Delete activities with their participants and sources, subtracting their rollup contribution."""
    if not activity_ids:
        return 0
    delta: dict[RollupKey, Contribution] = {}
    deleted = 0
    for chunk in _chunks(sorted(activity_ids)):
        cores = {r["activity_id"]: dict(r) for r in conn.execute(
            select(ACT).where(ACT.c.tenant_id == tenant_id, ACT.c.activity_id.in_(chunk))).mappings()}
        parts: dict[int, list[dict[str, Any]]] = {aid: [] for aid in cores}
        for r in conn.execute(select(PART).where(PART.c.tenant_id == tenant_id, PART.c.activity_id.in_(chunk))
                              ).mappings():
            parts[r["activity_id"]].append(dict(r))
        for aid, core in cores.items():
            for key, c in _contribution(core, parts[aid]).items():
                neg = Contribution()
                neg.add(c, sign=-1)
                acc = delta.setdefault(key, Contribution())
                acc.add(neg)
        for table in (PART, SRC):
            conn.execute(delete(table).where(table.c.tenant_id == tenant_id, table.c.activity_id.in_(chunk)))
        deleted += conn.execute(delete(ACT).where(ACT.c.tenant_id == tenant_id,
                                                  ACT.c.activity_id.in_(chunk))).rowcount or 0
    _apply_rollup_delta(conn, tenant_id, {k: c for k, c in delta.items() if not c.is_zero()})
    return deleted


__all__ = ["delete_activities", "ingest_activities", "remove_sources", "remove_unseen_sources"]

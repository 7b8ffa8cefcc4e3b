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

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from analytics.errors import IngestError
from analytics.store import models, rollups
from analytics.store.bulk import bulk_insert
from analytics.store.ids import contact_key, domain_of, key64, normalise_address, subject_digest
from analytics.store.records import ActivityIn, IngestResult, ParticipantIn, RemoveResult
from analytics.store.rollups import Contribution, PairParticipant, RollupKey, contribution, diff

ACT = models.table_of(models.Activity)
PART = models.table_of(models.ActivityParticipant)
SRC = models.table_of(models.ActivitySource)
CONTACT = models.table_of(models.Contact)
ROLLUP = models.table_of(models.InteractionRollup)

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


@dataclass
class _Pending:
    """One activity of the batch, merged over all its sightings in the batch."""

    activity_id: int
    first: ActivityIn
    participants: dict[tuple[str, str], ParticipantIn] = field(default_factory=dict)
    sources: dict[int, ActivityIn] = field(default_factory=dict)

    def add(self, a: ActivityIn) -> None:
        for p in a.participants:
            self.participants.setdefault((p.role, normalise_address(p.address)), p)
        self.sources[key64(a.mailbox_id, a.source_id)] = a


def _participant_row(tenant_id: str, activity_id: int, p: ParticipantIn) -> dict[str, Any]:
    address = normalise_address(p.address)
    return {
        "tenant_id": tenant_id,
        "activity_id": activity_id,
        "role": p.role,
        "address": address,
        "display_name": p.display_name[:512],
        "side": p.side,
        "user_id": p.user_id if p.side == "internal" else None,
        "contact_id": contact_key(address) if p.side == "external" else None,
        "response_status": p.response_status,
    }


def _pair(row: dict[str, Any]) -> PairParticipant:
    return PairParticipant(row["role"], row["side"], row["user_id"], row["contact_id"])


def _contribution(core: dict[str, Any], parts: Iterable[dict[str, Any]]) -> dict[RollupKey, Contribution]:
    return contribution(
        core["kind"], core["start_at"], core["duration_minutes"],
        is_bulk=core["is_bulk"], is_cancelled=core["is_cancelled"],
        initiator_side=core["initiator_side"], participants=[_pair(r) for r in parts],
    )


def _activity_row(
    tenant_id: str, activity_id: int, a: ActivityIn, subject_policy: str, subject_key: str, now: datetime
) -> dict[str, Any]:
    subject = a.subject if subject_policy == "keep" else None
    digest = subject_digest(a.subject, subject_key) if subject_policy == "hash" and a.subject else None
    return {
        "tenant_id": tenant_id,
        "activity_id": activity_id,
        "dedup_key": a.dedup_key,
        "kind": a.kind,
        "internet_message_id": a.internet_message_id,
        "ical_uid": a.ical_uid,
        "conversation_id": a.conversation_id,
        "start_at": a.start_at,
        "end_at": a.end_at,
        "duration_minutes": float(a.duration_minutes),
        "direction": a.direction,
        "initiator_side": a.initiator_side,
        "is_reply": a.is_reply,
        "is_bulk": a.is_bulk,
        "is_cancelled": a.is_cancelled,
        "subject": subject,
        "subject_hash": digest,
        "attributes": dict(a.attributes),
        "updated_at": now,
    }


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
    """Ingest ``batch`` for ``tenant_id`` inside the caller's transaction. See the module docstring."""
    if not batch:
        return IngestResult()
    if subject_policy not in ("drop", "hash", "keep"):
        raise IngestError(f"unknown subject policy {subject_policy!r}")
    if subject_policy == "hash" and not subject_key:
        raise IngestError("subject policy 'hash' needs a secret key (RAPPORT_SECRET_KEY)")

    pending: dict[int, _Pending] = {}
    for a in batch:
        if a.start_at.tzinfo is None:
            raise IngestError(f"activity {a.source_id!r} has a naive start time")
        aid = key64(a.dedup_key)
        p = pending.get(aid)
        if p is None:
            p = pending[aid] = _Pending(aid, a)
        p.add(a)
    ids = sorted(pending)  # one lock order for every worker avoids deadlocks

    rows = {aid: _activity_row(tenant_id, aid, pending[aid].first, subject_policy, subject_key, now) for aid in ids}
    inserted = set(bulk_insert(conn, ACT, [rows[aid] for aid in ids], conflict=("tenant_id", "activity_id"),
                               returning="activity_id"))
    existing_ids = [aid for aid in ids if aid not in inserted]

    # Existing activities: lock, read their state and participants, so the rollup delta is exact.
    old_core: dict[int, dict[str, Any]] = {}
    old_parts: dict[int, dict[tuple[str, str], dict[str, Any]]] = {aid: {} for aid in existing_ids}
    for chunk in _chunks(existing_ids):
        q = select(ACT).where(ACT.c.tenant_id == tenant_id, ACT.c.activity_id.in_(chunk))
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        for r in conn.execute(q).mappings():
            old_core[r["activity_id"]] = dict(r)
        pq = select(PART).where(PART.c.tenant_id == tenant_id, PART.c.activity_id.in_(chunk))
        for r in conn.execute(pq).mappings():
            old_parts[r["activity_id"]][(r["role"], r["address"])] = dict(r)

    delta: dict[RollupKey, Contribution] = {}

    def accumulate(d: dict[RollupKey, Contribution]) -> None:
        for key, c in d.items():
            acc = delta.get(key)
            if acc is None:
                delta[key] = c
            else:
                acc.add(c)

    new_parts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    merged = 0
    for aid in ids:
        p = pending[aid]
        incoming = {k: _participant_row(tenant_id, aid, v) for k, v in p.participants.items()}
        if aid in inserted:
            new_parts.extend(incoming.values())
            accumulate(_contribution(rows[aid], incoming.values()))
            continue
        merged += 1
        before_core = old_core[aid]
        before_parts = old_parts[aid]
        added = [row for k, row in incoming.items() if k not in before_parts]
        new_parts.extend(added)
        after_core = dict(before_core)
        changes = {m: rows[aid][m] for m in _MUTABLE if rows[aid][m] is not None and rows[aid][m] != before_core[m]}
        if changes:
            after_core.update(changes)
            updates.append({"b_activity_id": aid, **changes})
        if added or changes:
            after_parts = list(before_parts.values()) + added
            accumulate(diff(_contribution(before_core, before_parts.values()), _contribution(after_core, after_parts)))

    _insert_contacts(conn, tenant_id, pending.values())
    if new_parts:
        bulk_insert(conn, PART, new_parts, conflict=("tenant_id", "activity_id", "role", "address"))
    for upd in updates:
        aid = upd.pop("b_activity_id")
        conn.execute(update(ACT).where(ACT.c.tenant_id == tenant_id, ACT.c.activity_id == aid).values(
            **upd, updated_at=now))
    src_rows = [
        {"tenant_id": tenant_id, "source_key": sk, "activity_id": aid, "mailbox_id": a.mailbox_id,
         "resource": a.resource, "source_id": a.source_id, "folder_id": a.folder_id}
        for aid in ids for sk, a in pending[aid].sources.items()
    ]
    sources_added = len(bulk_insert(conn, SRC, src_rows, conflict=("tenant_id", "source_key"),
                                    returning="source_key"))
    _apply_rollup_delta(conn, tenant_id, delta)
    return IngestResult(
        activities_new=len(inserted),
        activities_merged=merged,
        participants_added=len(new_parts),
        sources_added=sources_added,
        rollup_rows_touched=len(delta),
    )


def _insert_contacts(conn: Connection, tenant_id: str, pending: Iterable[_Pending]) -> None:
    contacts: dict[int, dict[str, Any]] = {}
    for p in pending:
        bulk_sender = p.first.is_bulk
        for (role, address), part in p.participants.items():
            if part.side != "external":
                continue
            cid = contact_key(address)
            sender_class = "bulk" if bulk_sender and role == "from" else "person"
            if cid not in contacts:
                contacts[cid] = {"tenant_id": tenant_id, "contact_id": cid, "email": address,
                                 "domain": domain_of(address), "display_name": part.display_name[:512],
                                 "sender_class": sender_class, "fields": {}}
    if contacts:
        bulk_insert(conn, CONTACT, sorted(contacts.values(), key=lambda r: r["contact_id"]),
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

"""Daily interaction rollups: what one activity contributes, as a pure function.

The ingest keeps ``interaction_rollup`` exact by applying *differences* of contributions: a new activity adds
its contribution, a merge (more participants seen from another mailbox) adds ``after - before``, a deletion
subtracts. Because the contribution is a pure function of the activity and its participants, replaying the
same input never changes the totals.

Counting rules (SPEC.md): a pair is an internal user and an external contact on the same activity.

* Email: only sender-recipient pairs count. The sender's side "reached out" (``from_us`` or ``from_them``);
  writing costs the sender 5 minutes, reading costs each recipient 2.5 minutes.
* Meeting / call: every internal-external pair among organiser and attendees counts once, attributed to the
  organiser's side; both sides spend the duration (the per-attendee multiplication for our side happens when
  pairs are summed per user).
* Bulk, cancelled and participant-less activities contribute nothing.

:func:`record_changes` is the one store write here: the ingest calls it with the same rollup differences it
applies, so that ``rollup_change`` holds, summed per rollup key, every change the stored health aggregates have
not yet seen (an incremental refresh consumes it; see :mod:`analytics.refresh`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from analytics.store import models
from analytics.store.bulk import bulk_insert
from analytics.store.records import SENDER_ROLES

EMAIL_WRITE_MINUTES = 5.0
EMAIL_READ_MINUTES = 2.5

RollupKey = tuple[date, str, int, str]  # day, user_id, contact_id, kind


@dataclass(frozen=True, slots=True)
class PairParticipant:
    """The part of a participant that rollups need."""

    role: str
    side: str
    user_id: str | None
    contact_id: int | None


@dataclass(slots=True)
class Contribution:
    from_us: int = 0
    from_them: int = 0
    minutes_us: float = 0.0
    minutes_them: float = 0.0
    last_at: datetime | None = None

    def add(self, other: Contribution, sign: int = 1) -> None:
        self.from_us += sign * other.from_us
        self.from_them += sign * other.from_them
        self.minutes_us += sign * other.minutes_us
        self.minutes_them += sign * other.minutes_them
        if sign > 0 and other.last_at is not None and (self.last_at is None or other.last_at > self.last_at):
            self.last_at = other.last_at

    def is_zero(self) -> bool:
        return (self.from_us == 0 and self.from_them == 0 and abs(self.minutes_us) < 1e-9
                and abs(self.minutes_them) < 1e-9)


def contribution(
    kind: str,
    start_at: datetime,
    duration_minutes: float,
    *,
    is_bulk: bool,
    is_cancelled: bool,
    initiator_side: str | None,
    participants: Iterable[PairParticipant],
) -> dict[RollupKey, Contribution]:
    """The rollup rows one activity adds, keyed by (day, user, contact, kind)."""
    if is_bulk or is_cancelled:
        return {}
    people = list(participants)
    day = start_at.date()
    out: dict[RollupKey, Contribution] = {}

    def bump(user_id: str, contact_id: int, ours: bool, minutes_us: float, minutes_them: float) -> None:
        key = (day, user_id, contact_id, kind)
        c = out.get(key)
        if c is None:
            c = out[key] = Contribution(last_at=start_at)
        if ours:
            c.from_us += 1
        else:
            c.from_them += 1
        c.minutes_us += minutes_us
        c.minutes_them += minutes_them

    if kind == "email":
        # Only sender-recipient pairs count, so the other side is looked for among the recipients alone (an email
        # without an internal and an external participant finds no pair either way).
        sender = next((p for p in people if p.role in SENDER_ROLES), None)
        if sender is None:
            return {}
        if sender.side == "internal" and sender.user_id:
            for c in sorted({p.contact_id for p in people if p.role not in SENDER_ROLES and p.side == "external"
                             and p.contact_id is not None}):
                bump(sender.user_id, c, True, EMAIL_WRITE_MINUTES, EMAIL_READ_MINUTES)
        elif sender.side == "external" and sender.contact_id is not None:
            for u in sorted({p.user_id for p in people if p.role not in SENDER_ROLES and p.side == "internal"
                             and p.user_id}):
                bump(u, sender.contact_id, False, EMAIL_READ_MINUTES, EMAIL_WRITE_MINUTES)
        return out

    internal = sorted({p.user_id for p in people if p.side == "internal" and p.user_id})
    external = sorted({p.contact_id for p in people if p.side == "external" and p.contact_id is not None})
    if not internal or not external:
        return {}
    senders = [p for p in people if p.role in SENDER_ROLES]
    ours = senders[0].side == "internal" if senders else initiator_side != "them"
    for u in internal:
        for c in external:
            bump(u, c, ours, duration_minutes, duration_minutes)
    return out


def diff(
    before: dict[RollupKey, Contribution], after: dict[RollupKey, Contribution]
) -> dict[RollupKey, Contribution]:
    """``after - before``, dropping keys whose difference is zero."""
    out: dict[RollupKey, Contribution] = {}
    for key in before.keys() | after.keys():
        d = Contribution()
        if key in after:
            d.add(after[key])
        if key in before:
            d.add(before[key], sign=-1)
        if not d.is_zero():
            out[key] = d
    return out


ROLLUP_CHANGE = models.table_of(models.RollupChange)
_CHANGE_KEY = ("tenant_id", "day", "user_id", "contact_id", "kind")
_CHANGE_UPDATE = {c: f"rollup_change.{c} + excluded.{c}" for c in ("from_us", "from_them")}


def record_changes(conn: Connection, tenant_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add rollup differences (the ingest's ``interaction_rollup`` delta rows) to ``rollup_change``.

    Only the interaction counts matter to health; rows that change minutes or ``last_at`` only are skipped.
    """
    changes = [{"tenant_id": tenant_id, "day": r["day"], "user_id": r["user_id"], "contact_id": r["contact_id"],
                "kind": r["kind"], "from_us": r["from_us"], "from_them": r["from_them"]}
               for r in rows if r["from_us"] or r["from_them"]]
    if changes:
        bulk_insert(conn, ROLLUP_CHANGE, changes, conflict=_CHANGE_KEY, update=_CHANGE_UPDATE)

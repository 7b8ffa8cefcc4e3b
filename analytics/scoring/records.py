"""The typed record every scoring step works on, whatever the store or file it came from."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from analytics.scoring.parsing import FieldValue
from analytics.store.records import POST_OUTCOME_KEY, TEXT_KEY

# The keys of a record's ``fields`` JSON that are not features (the store defines the document).
RESERVED_KEYS = frozenset({POST_OUTCOME_KEY, TEXT_KEY})

WORDS: dict[str, tuple[str, str]] = {
    "lead": ("leads", "qualified"),
    "opportunity": ("opportunities", "were won"),
}


@dataclass(frozen=True)
class ScoringRecord:
    """A lead or opportunity with everything the features may use. ``label``: 1 positive, 0 negative, None open."""

    record_id: str
    created_at: datetime
    label: int | None
    closed_at: datetime | None = None
    owner: str | None = None
    amount: float | None = None
    stage: str | None = None
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    contact_email: str | None = None
    contact_name: str | None = None
    contact_fields: Mapping[str, FieldValue] = field(default_factory=dict)
    account_fields: Mapping[str, FieldValue] = field(default_factory=dict)
    stage_history: tuple[tuple[str, datetime], ...] = ()
    relationship: Mapping[str, float | None] = field(default_factory=dict)

    def as_of(self, now: datetime) -> datetime:
        """The moment the record's features describe: its closing for closed records, ``now`` for open ones."""
        return self.closed_at if self.closed_at is not None and self.label is not None else now


def fingerprint(record: ScoringRecord) -> str:
    """A digest of the CRM content a score depends on (provider features excluded: they change by the hour)."""
    doc = [record.owner, record.amount, record.stage, record.created_at, dict(record.fields), record.contact_email,
           record.contact_name, dict(record.contact_fields), dict(record.account_fields),
           [list(s) for s in record.stage_history]]
    text = json.dumps(doc, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:24]

"""Model filters: which records a model is for (pure). Up to 10 models per record type, one per filter set.

A filter is a flat mapping: ``{"stage": "Proposal"}`` (opportunities that reached / are in that stage),
``{"owner": "ann@contoso.com"}``, or ``{"fields.industry": "Finance"}`` / ``{"account.region": "EMEA"}`` /
``{"contact.title": "CFO"}`` for a field value. Values compare as text, case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analytics.scoring.errors import ScoringError
from analytics.scoring.records import ScoringRecord

FILTER_KEYS = ("stage", "owner")
FILTER_PREFIXES = ("fields.", "account.", "contact.")


def validate_filters(filters: Mapping[str, Any]) -> dict[str, str]:
    """The filters as text, or an error naming the unknown key."""
    out = {}
    for key, value in filters.items():
        if key not in FILTER_KEYS and not key.startswith(FILTER_PREFIXES):
            raise ScoringError(f"unknown model filter {key!r}: use stage, owner, fields.NAME, account.NAME "
                               "or contact.NAME")
        out[key] = str(value)
    return out


def _value(record: ScoringRecord, key: str) -> str | None:
    if key == "owner":
        return record.owner
    if key.startswith("fields."):
        raw = record.fields.get(key[7:])
    elif key.startswith("account."):
        raw = record.account_fields.get(key[8:])
    elif key.startswith("contact."):
        raw = record.contact_fields.get(key[8:])
    else:
        return None
    return None if raw is None else str(raw)


def matches(record: ScoringRecord, filters: Mapping[str, str], *, for_training: bool) -> bool:
    """Whether ``record`` belongs to the model with ``filters``.

    For training, a stage filter keeps every record that passed through the stage (the deals a stage model
    learns from); for scoring, only open records currently in it.
    """
    for key, wanted in filters.items():
        want = wanted.casefold()
        if key == "stage":
            stages = {s.casefold() for s, _ in record.stage_history}
            current = (record.stage or "").casefold()
            if for_training and want not in stages and current != want:
                return False
            if not for_training and current != want:
                return False
            continue
        value = _value(record, key)
        if value is None or value.casefold() != want:
            return False
    return True

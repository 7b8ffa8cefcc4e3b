"""Records → a numeric feature matrix, and back from columns to words (pure, fitted on training records).

:class:`FeatureBuilder` decides the feature schema from the training records (which fields exist and whether
each is a category, a number or a date), encodes categories as integer codes (rare values pooled as "other",
missing as ``NaN``) and turns dates into durations (days from the record's creation), so the estimators of
:mod:`analytics.scoring.estimators` only ever see numbers. It also keeps, per feature, the outcome rate of each
category or numeric band seen in training: the supporting statistic every reason quotes.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np

from analytics.scoring.encoding import Matrix
from analytics.scoring.intelligent import email_domain_kind, name_plausibility
from analytics.scoring.parsing import FieldValue, parse_datetime
from analytics.scoring.records import RESERVED_KEYS, ScoringRecord

Kind = Literal["category", "number"]
OTHER = "(other)"
MAX_CATEGORIES = 30


@dataclass(frozen=True)
class Feature:
    """One input column: its key, how people should read it, where it comes from and its kind."""

    key: str  # e.g. "industry", "contact.title", "account.size", "intelligent.email_domain", "rel.emails_them"
    label: str  # e.g. "Industry", "Contact's title", "Email domain"
    kind: Kind
    source: Literal["record", "contact", "account", "standard", "intelligent", "relationship"]
    is_date: bool = False
    categories: tuple[str, ...] = ()


@dataclass
class Band:
    """Training outcome statistics of one category value or numeric band."""

    text: str
    positives: int
    total: int

    @property
    def rate(self) -> float:
        return self.positives / self.total if self.total else 0.0


@dataclass
class FeatureStats:
    """Per feature: bands (categories, or numeric quantile bands with edges) and the missing-value band."""

    bands: list[Band] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)
    missing: Band | None = None


def _humanise(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _is_number(value: FieldValue) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _raw_values(record: ScoringRecord) -> dict[str, FieldValue]:
    """Every candidate feature value of ``record``, keyed like :attr:`Feature.key`."""
    out: dict[str, FieldValue] = {}
    for key, value in record.fields.items():
        if key not in RESERVED_KEYS:
            out[key] = value
    for key, value in record.contact_fields.items():
        out[f"contact.{key}"] = value
    for key, value in record.account_fields.items():
        out[f"account.{key}"] = value
    out["owner"] = record.owner
    out["amount"] = record.amount
    out["intelligent.email_domain"] = email_domain_kind(record.contact_email)
    out["intelligent.name"] = name_plausibility(record.contact_name)
    for key, num in record.relationship.items():
        out[f"rel.{key}"] = num
    return out


_LABELS = {
    "owner": "Owner",
    "amount": "Amount",
    "intelligent.email_domain": "Email domain",
    "intelligent.name": "Contact name",
    # relationship KPIs (providers.kpi_features) read as a rep would say them, with the unit in the label so the
    # number itself stays language-neutral (Chinese cards put their own label around it)
    "rel.our_response_hours": "Our first response (hours)",
    "rel.their_response_hours": "Their first response (hours)",
    "rel.their_response_rate": "Their response rate",
    "rel.days_since_last_interaction": "Days since the last interaction",
}
# How values of a key are written: rates as percentages; durations to a tenth (a reason quoting "22.03 hours"
# claims a precision nobody reads). Keyed by feature key, so models trained before read the same way.
_PERCENT_KEYS = frozenset({"rel.their_response_rate"})
_TENTHS_KEYS = frozenset({"rel.our_response_hours", "rel.their_response_hours", "rel.days_since_last_interaction"})


def _label(key: str) -> str:
    if key in _LABELS:
        return _LABELS[key]
    if key.startswith("contact."):
        return "Contact's " + key[8:].replace("_", " ")
    if key.startswith("account."):
        return "Account's " + key[8:].replace("_", " ")
    if key.startswith("rel."):
        return _humanise(key[4:])
    return _humanise(key)


def _source(key: str) -> Literal["record", "contact", "account", "standard", "intelligent", "relationship"]:
    if key.startswith("contact."):
        return "contact"
    if key.startswith("account."):
        return "account"
    if key.startswith("intelligent."):
        return "intelligent"
    if key.startswith("rel."):
        return "relationship"
    if key in ("owner", "amount"):
        return "standard"
    return "record"


def _as_date(value: FieldValue) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) and len(value) >= 10 and value[4] == "-" else None


class FeatureBuilder:
    """Feature schema, encoding and supporting statistics learned from training records."""

    def __init__(self, min_count: int = 5) -> None:
        self.min_count = min_count
        self.features: list[Feature] = []
        self.stats: list[FeatureStats] = []
        self.base_rate = 0.0
        self.n_train = 0

    # --- schema --------------------------------------------------------------------------------------------

    def fit(self, records: Sequence[ScoringRecord]) -> FeatureBuilder:
        """Decide the columns from ``records`` (labelled, for the statistics) and compute their statistics."""
        raws = [_raw_values(r) for r in records]
        keys: dict[str, None] = {}
        for raw in raws:
            keys.update(dict.fromkeys(raw))
        features: list[Feature] = []
        for key in keys:
            values = [raw.get(key) for raw in raws]
            present = [v for v in values if v is not None and v != ""]
            if not present:
                continue
            if all(_is_number(v) for v in present):
                features.append(Feature(key, _label(key), "number", _source(key)))
            elif all(isinstance(v, str) and _as_date(v) for v in present):
                features.append(Feature(key, _label(key) + " (days after creation)", "number", _source(key),
                                        is_date=True))
            else:
                counts = Counter(str(v) for v in present)
                kept = [c for c, n in counts.most_common(MAX_CATEGORIES) if n >= self.min_count]
                if len(kept) < len(counts):
                    kept.append(OTHER)
                if len(kept) < 2 and len(present) == len(values):
                    continue  # a constant carries no information
                features.append(Feature(key, _label(key), "category", _source(key), categories=tuple(kept)))
        self.features = features
        X = self.transform(records)
        y = np.array([r.label for r in records], dtype=np.float64)
        self.base_rate = float(np.nanmean(y)) if len(y) else 0.0
        self.n_train = len(records)
        self.stats = [self._stats(f, X[:, j], y) for j, f in enumerate(features)]
        return self

    @property
    def categorical_indices(self) -> list[int]:
        """Columns of :meth:`transform` that hold category codes."""
        return [j for j, f in enumerate(self.features) if f.kind == "category"]

    def schema_hash(self) -> str:
        """A short digest of the columns (keys, kinds, categories): models with equal hashes read the same input."""
        doc = [[f.key, f.kind, f.is_date, list(f.categories)] for f in self.features]
        return hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:32]

    # --- encoding ------------------------------------------------------------------------------------------

    def _encode(self, feature: Feature, value: FieldValue, created_at: datetime) -> float:
        if value is None or value == "":
            return np.nan
        if feature.kind == "category":
            text = str(value)
            if text in feature.categories:
                return float(feature.categories.index(text))
            return float(feature.categories.index(OTHER)) if OTHER in feature.categories else np.nan
        if feature.is_date:
            when = _as_date(value)
            return np.nan if when is None else (when - created_at).total_seconds() / 86400.0
        return float(value) if _is_number(value) else np.nan

    def transform(self, records: Sequence[ScoringRecord]) -> Matrix:
        """The numeric matrix of ``records``: one row per record, one column per :attr:`features` entry."""
        out = np.full((len(records), len(self.features)), np.nan)
        # Category codes through one dict per feature (``tuple.index`` per cell was most of the time here).
        codes: list[dict[str, float] | None] = []
        for feature in self.features:
            if feature.kind != "category":
                codes.append(None)
                continue
            codes.append({name: float(i) for i, name in enumerate(feature.categories)})
        for i, record in enumerate(records):
            raw = _raw_values(record)
            row = out[i]
            for j, feature in enumerate(self.features):
                value = raw.get(feature.key)
                if value is None or value == "":
                    continue
                table = codes[j]
                if table is not None:
                    code = table.get(str(value))
                    row[j] = code if code is not None else table.get(OTHER, np.nan)
                elif feature.is_date or not _is_number(value):
                    row[j] = self._encode(feature, value, record.created_at)
                else:
                    row[j] = float(value)
        return out

    # --- statistics for reasons ----------------------------------------------------------------------------

    @staticmethod
    def _stats(feature: Feature, column: np.ndarray, y: np.ndarray) -> FeatureStats:
        missing = np.isnan(column)
        stats = FeatureStats()
        if missing.any():
            stats.missing = Band("not filled in", int(y[missing].sum()), int(missing.sum()))
        if feature.kind == "category":
            for code, name in enumerate(feature.categories):
                sel = column == code
                stats.bands.append(Band(name, int(y[sel].sum()), int(sel.sum())))
            return stats
        present = column[~missing]
        if present.size == 0:
            return stats
        edges = sorted(set(np.quantile(present, [0.2, 0.4, 0.6, 0.8]).tolist()))
        stats.edges = edges
        idx = np.searchsorted(edges, present, side="right")
        yp = y[~missing]
        bounds = [float(present.min()), *edges, float(present.max())]
        for b in range(len(edges) + 1):
            sel = idx == b
            # Named by the lowest and highest training value in the band, both included, as a reader takes
            # "2–6": the edges themselves would make neighbours overlap ("2–7", "7–12": 7 is in the second
            # only) and name a band holding one value "30–30".
            lo, hi = (float(present[sel].min()), float(present[sel].max())) if sel.any() else (bounds[b], bounds[b])
            low, high = _fmt_of(feature, lo), _fmt_of(feature, hi)
            text = low if low == high else f"{low}–{high}"
            stats.bands.append(Band(text, int(yp[sel].sum()), int(sel.sum())))
        return stats

    def band_of(self, j: int, value: float) -> Band | None:
        """The training band ``value`` of feature ``j`` falls into."""
        stats = self.stats[j]
        if np.isnan(value):
            return stats.missing
        if self.features[j].kind == "category":
            code = int(value)
            return stats.bands[code] if 0 <= code < len(stats.bands) else None
        if not stats.bands:
            return None
        return stats.bands[bisect.bisect_right(stats.edges, value)]  # = searchsorted(side="right"), per value

    def value_text(self, j: int, value: float) -> str:
        """How a value reads in a reason: the category name, or a rounded number."""
        feature = self.features[j]
        if np.isnan(value):
            return "not filled in"
        if feature.kind == "category":
            code = int(value)
            return feature.categories[code] if 0 <= code < len(feature.categories) else "unknown"
        return _fmt_of(feature, value)


def _fmt_of(feature: Feature, value: float) -> str:
    """A number of ``feature`` as reasons write it (see ``_PERCENT_KEYS``)."""
    if feature.key in _PERCENT_KEYS:
        return f"{value:.0%}"
    if (feature.key in _TENTHS_KEYS or feature.is_date) and abs(value) < 100:
        return f"{value:,.1f}".removesuffix(".0")
    return _fmt(value)


def _fmt(value: float) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def raw_preview(record: ScoringRecord) -> Mapping[str, FieldValue]:
    """The candidate feature values of one record (for debugging and the CLI's details)."""
    return _raw_values(record)

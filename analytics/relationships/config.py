"""Per-tenant analytics configuration: health weights, expected contact frequency, state bands.

Tenants tune these in ``tenant.options["health"]``; every value is validated here so a bad option fails loudly
with the option's path in the message (``ConfigError``) instead of silently skewing scores::

    {"health": {
        "type_weights": {"email": 1.0, "meeting": 3.0, "call": 2.0},   # each within ±50 % of the default
        "factor_weights": {"activity": 0.35, "recency": 0.30},         # each within ±50 %, renormalised
        "expected_per_30_days": {"contact": 4, "account": 8},          # interactions a healthy record has
        "bands": {"good": 60, "fair": 40},                             # lower bounds of Good and Fair
        "min_interactions": 3, "activity_days": 30,
        "trend_days": 90, "baseline_days": 180, "improving_ratio": 1.4, "declining_ratio": 0.7
    }}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from analytics.errors import ConfigError

DEFAULT_TYPE_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"email": 1.0, "meeting": 3.0, "call": 2.0, "task": 0.5})
DEFAULT_FACTOR_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"activity": 0.35, "recency": 0.30, "reciprocity": 0.20, "responsiveness": 0.15})
DEFAULT_EXPECTED: Mapping[str, float] = MappingProxyType(
    {"contact": 4.0, "domain": 8.0, "account": 8.0, "lead": 4.0, "opportunity": 6.0})
WEIGHT_LATITUDE = 0.5  # a tenant may move each weight by ±50 % of its default


def _frozen(values: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True)
class HealthConfig:
    """Validated health parameters. Factor weights are normalised to sum to 1."""

    type_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_TYPE_WEIGHTS)
    factor_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_FACTOR_WEIGHTS)
    expected_per_30_days: Mapping[str, float] = field(default_factory=lambda: DEFAULT_EXPECTED)
    good_from: float = 60.0
    fair_from: float = 40.0
    min_interactions: int = 3  # in the window, both sides together; fewer means "Not enough info"
    window_days: int = 90  # reciprocity and responsiveness look this far back
    recent_days: int = 30  # activity counts this far back
    trend_days: int = 90  # the trend compares the interaction rate of these last days ...
    baseline_days: int = 180  # ... with the rate over these days before them (from the first interaction on)
    improving_ratio: float = 1.4  # recent rate ≥ this × baseline rate: Improving
    declining_ratio: float = 0.7  # recent rate ≤ this × baseline rate: Declining
    reply_days: int = 3  # an outreach answered within this many days counts as answered

    def expected(self, record_type: str) -> float:
        return self.expected_per_30_days.get(record_type, DEFAULT_EXPECTED["contact"])

    def state_of(self, score: float) -> str:
        if score >= self.good_from:
            return "Good"
        if score >= self.fair_from:
            return "Fair"
        return "Poor"


def _weights(raw: Any, defaults: Mapping[str, float], path: str) -> Mapping[str, float]:
    if raw is None:
        return defaults
    if not isinstance(raw, Mapping):
        raise ConfigError(path, "a table of weights", repr(raw))
    out = dict(defaults)
    for name, value in raw.items():
        if name not in defaults:
            raise ConfigError(f"{path}.{name}", "one of " + ", ".join(defaults), repr(value))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}.{name}", "a number", repr(value))
        low, high = defaults[name] * (1 - WEIGHT_LATITUDE), defaults[name] * (1 + WEIGHT_LATITUDE)
        if not low - 1e-9 <= float(value) <= high + 1e-9:
            raise ConfigError(f"{path}.{name}", f"a weight from {low:g} to {high:g} (default ±50 %)", repr(value))
        out[name] = float(value)
    return _frozen(out)


def _number(raw: Mapping[str, Any], key: str, default: float, path: str, low: float, high: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= float(value) <= high:
        raise ConfigError(f"{path}.{key}", f"a number from {low:g} to {high:g}", repr(value))
    return float(value)


def health_config(options: Mapping[str, Any], *, window_days: int = 90) -> HealthConfig:
    """The tenant's health configuration from its ``options`` document (defaults for what it leaves out)."""
    raw = options.get("health") or {}
    path = "tenant.options.health"
    if not isinstance(raw, Mapping):
        raise ConfigError(path, "a table", repr(raw))
    factors = _weights(raw.get("factor_weights"), DEFAULT_FACTOR_WEIGHTS, path + ".factor_weights")
    total = sum(factors.values())
    expected_raw = raw.get("expected_per_30_days") or {}
    if not isinstance(expected_raw, Mapping):
        raise ConfigError(path + ".expected_per_30_days", "a table of numbers per record type", repr(expected_raw))
    expected = dict(DEFAULT_EXPECTED)
    for name in expected_raw:
        if name not in DEFAULT_EXPECTED:
            raise ConfigError(f"{path}.expected_per_30_days.{name}", "one of " + ", ".join(DEFAULT_EXPECTED),
                              repr(expected_raw[name]))
        expected[name] = _number(expected_raw, name, 0, path + ".expected_per_30_days", 0.25, 500)
    bands = raw.get("bands") or {}
    if not isinstance(bands, Mapping):
        raise ConfigError(path + ".bands", "a table with good and fair", repr(bands))
    good = _number(bands, "good", 60, path + ".bands", 1, 100)
    fair = _number(bands, "fair", 40, path + ".bands", 0, 100)
    if fair >= good:
        raise ConfigError(path + ".bands", "fair below good", f"fair={fair:g}, good={good:g}")
    return HealthConfig(
        type_weights=_weights(raw.get("type_weights"), DEFAULT_TYPE_WEIGHTS, path + ".type_weights"),
        factor_weights=_frozen({k: v / total for k, v in factors.items()}),
        expected_per_30_days=_frozen(expected),
        good_from=good,
        fair_from=fair,
        min_interactions=int(_number(raw, "min_interactions", 3, path, 1, 1000)),
        window_days=window_days,
        recent_days=int(_number(raw, "activity_days", 30, path, 7, 180)),
        trend_days=int(_number(raw, "trend_days", 90, path, 14, 180)),
        baseline_days=int(_number(raw, "baseline_days", 180, path, 30, 365)),
        improving_ratio=_number(raw, "improving_ratio", 1.4, path, 1.05, 10),
        declining_ratio=_number(raw, "declining_ratio", 0.7, path, 0.05, 0.95),
    )

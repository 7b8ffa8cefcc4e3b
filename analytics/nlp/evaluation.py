"""Scoring notes analysis against an annotated set (pure functions; used by the benchmark and the tests).

An item is one JSON line: ``id``, ``lang``, ``text``, ``now`` (ISO, wall time), ``tz`` (IANA), ``kinds``
(gold suggestion kinds) and ``start`` (gold start of the sentence's main time expression, ``YYYY-MM-DD`` or
``YYYY-MM-DDTHH:MM`` wall time in ``tz``, or null).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from analytics.nlp.suggestions import NoteAnalysis, SuggestionKind


@dataclass(frozen=True)
class EvalItem:
    """One annotated sentence."""

    id: str
    lang: str
    text: str
    now: datetime
    tz: str
    kinds: frozenset[str]
    start: str | None


def load_items(path: Path) -> list[EvalItem]:
    """Read a JSON-lines evaluation file."""
    items = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        items.append(EvalItem(raw["id"], raw["lang"], raw["text"], datetime.fromisoformat(raw["now"]),
                              raw["tz"], frozenset(raw["kinds"]), raw.get("start")))
    return items


@dataclass
class KindScore:
    """True positives, false positives and false negatives of one suggestion kind."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


@dataclass
class KindReport:
    """Per-kind scores over a set."""

    scores: dict[str, KindScore] = field(default_factory=dict)

    def add(self, gold: Iterable[str], predicted: Iterable[str]) -> None:
        g, p = set(gold), set(predicted)
        for kind in g | p:
            s = self.scores.setdefault(kind, KindScore())
            s.tp += kind in g and kind in p
            s.fp += kind in p and kind not in g
            s.fn += kind in g and kind not in p

    def micro(self) -> KindScore:
        total = KindScore()
        for s in self.scores.values():
            total.tp, total.fp, total.fn = total.tp + s.tp, total.fp + s.fp, total.fn + s.fn
        return total


def predicted_kinds(analysis: NoteAnalysis) -> set[str]:
    """The distinct suggestion kinds of an analysis."""
    return {s.kind.value for s in analysis.suggestions}


def main_start(analysis: NoteAnalysis) -> tuple[datetime, bool] | None:
    """The start of the longest resolved time expression (wall time, whether a clock time is known)."""
    points = [t for t in analysis.times if t.start is not None]
    if not points:
        return None
    best = max(points, key=lambda t: (t.span.end - t.span.start, -t.span.start))
    assert best.start is not None
    return best.start.replace(tzinfo=None), best.grain != "day"


def start_matches(gold: str, predicted: tuple[datetime, bool] | None) -> bool:
    """Exact match at the gold's precision: the date for a date, date and minute for a date-time."""
    if predicted is None:
        return False
    when, has_time = predicted
    if "T" not in gold and " " not in gold:
        return when.strftime("%Y-%m-%d") == gold
    return has_time and when.strftime("%Y-%m-%dT%H:%M") == gold.replace(" ", "T")[:16]


KINDS = tuple(k.value for k in SuggestionKind)

"""Shared machinery of the date/time extractors: find atoms with regexes, keep the longest, join neighbours.

An *atom* is one regex match that says something about time ("May 4", "4:00 PM", "tomorrow", "for 30
minutes"). Atoms separated only by connector words ("at", "on", ",") are one expression; a range connector
("to", "-", "到") between two atoms that both name a date or both a time starts the expression's end.
Every step is a single left-to-right pass, so the cost is linear in the text's length.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analytics.nlp.timespec import RawTime, TimeSpec

Handler = Callable[[re.Match[str]], TimeSpec | None]


@dataclass(frozen=True)
class AtomRule:
    """A regex and the function that reads one of its matches into a partial spec (None rejects it)."""

    name: str
    pattern: re.Pattern[str]
    handler: Handler


@dataclass(frozen=True)
class Atom:
    start: int
    end: int
    spec: TimeSpec


def find_atoms(text: str, rules: Sequence[AtomRule]) -> list[Atom]:
    """All accepted matches of every rule, overlaps resolved leftmost-longest."""
    found: list[Atom] = []
    for rule in rules:
        for m in rule.pattern.finditer(text):
            if m.end() == m.start():
                continue
            spec = rule.handler(m)
            if spec is not None and not spec.is_empty():
                found.append(Atom(m.start(), m.end(), spec))
    found.sort(key=lambda a: (a.start, a.start - a.end))
    kept: list[Atom] = []
    last_end = -1
    for atom in found:
        if atom.start >= last_end:
            kept.append(atom)
            last_end = atom.end
    return kept


def _dates_clash(a: TimeSpec, b: TimeSpec) -> bool:
    day_a = a.day is not None or a.weekday is not None or a.day_offset is not None
    day_b = b.day is not None or b.weekday is not None or b.day_offset is not None
    return (day_a and day_b) or (a.hour is not None and b.hour is not None) or (
        a.period is not None and b.period is not None and a.weekday is None and b.weekday is None)


def group_atoms(text: str, atoms: Sequence[Atom], joiner: re.Pattern[str], ranger: re.Pattern[str],
                max_gap: int = 16) -> list[RawTime]:
    """Join atoms whose gap matches ``joiner`` into expressions; ``ranger`` gaps open the expression's end."""
    out: list[RawTime] = []
    i = 0
    while i < len(atoms):
        first = atoms[i]
        spec = TimeSpec()
        spec.absorb(first.spec)
        target = spec
        end = first.end
        j = i + 1
        while j < len(atoms):
            nxt = atoms[j]
            gap = text[end:nxt.start]
            if len(gap) > max_gap or not joiner.fullmatch(gap):
                break
            if ranger.search(gap) and target is spec and _dates_clash(spec, nxt.spec):
                target = TimeSpec()
                target.absorb(nxt.spec)
                spec.end = target
            elif _dates_clash(target, nxt.spec):
                break
            else:
                target.absorb(nxt.spec)
            end = nxt.end
            j += 1
        out.append(RawTime(first.start, end, text[first.start:end], spec))
        i = j
    return out

"""Who a meeting or call is with when its clause names nobody: the people named elsewhere in the note (pure).

Reps write "Met Kwame Baker (kwame.baker@…) today. Call him next Tuesday at 3pm": the call's clause has only a
pronoun. When the note names exactly one person (a name, an address, or a name with its address), a meeting or
call without attendees is with that person; a plural pronoun ("them", 他们) takes every person named (up to
:data:`MAX_PEOPLE`). The suggestion says so (``attendees_inferred``) and gains confidence only when a pronoun
points back. A clause that says who in other words and has no pronoun ("Lunch with the team", "demo with their
CTO") is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from analytics.nlp.suggestions import CharSpan, Entity, Suggestion, SuggestionKind

MAX_PEOPLE = 5
EVENTS = frozenset({SuggestionKind.MEETING, SuggestionKind.CALL})
_PRONOUN = re.compile(r"\b(?:him|her|he|she|them|they)\b|他们|她们|他|她", re.IGNORECASE)
_PLURAL = re.compile(r"\b(?:them|they)\b|他们|她们", re.IGNORECASE)
# "Lunch with the team", "demo with their CTO", 和团队开会: the clause says who in other words (not a pronoun).
_WITH_OTHERS = re.compile(r"\b(?:with|w/)\s|(?<!跟)[和与]|跟(?!进)", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")
# "Kwame Baker (kwame@…)", "Kwame Baker <kwame@…>", "Kwame Baker - kwame@…", "Kwame Baker: kwame@…".
_JOINER = re.compile(r"\s*[(<:,\-–—]?\s*")


@dataclass(frozen=True)
class NotePerson:
    """One person the note names: a name, an address, or both; ``spans`` are where."""

    name: str | None
    email: str | None
    spans: tuple[CharSpan, ...]


def _same_person(person: Entity, email: Entity, text: str) -> bool:
    """An address written right after a name, or whose local part holds the name's words (kwame.baker ↔ Kwame
    Baker), is that person's."""
    local = email.span.text.split("@", 1)[0].lower()
    words = _WORD.findall(person.span.text.lower())
    if words and all(w in local for w in words):
        return True
    gap = text[person.span.end:email.span.start]
    return 0 <= email.span.start - person.span.end <= 3 and _JOINER.fullmatch(gap) is not None


def note_people(entities: Sequence[Entity], text: str) -> list[NotePerson]:
    """The distinct people of a note, in order: a name and an address of one person count once, and a name
    (case-insensitively) or an address written twice counts once."""
    people: list[NotePerson] = []
    emails = [e for e in entities if e.label == "EMAIL"]
    used: set[int] = set()
    for person in (e for e in entities if e.label == "PERSON"):
        email = next((e for i, e in enumerate(emails) if i not in used and _same_person(person, e, text)), None)
        if email is not None:
            used.add(emails.index(email))
        people.append(NotePerson(person.span.text, email.span.text if email else None,
                                 (person.span, *((email.span,) if email else ()))))
    people += [NotePerson(None, e.span.text, (e.span,)) for i, e in enumerate(emails) if i not in used]
    merged: list[NotePerson] = []
    for p in people:
        twin = next((i for i, m in enumerate(merged) if (p.name and m.name and p.name.lower() == m.name.lower())
                     or (p.email and m.email and p.email.lower() == m.email.lower())), None)
        if twin is None:
            merged.append(p)
        else:
            m = merged[twin]
            merged[twin] = NotePerson(m.name or p.name, m.email or p.email, m.spans + p.spans)
    return merged


def _emails_in(clause: CharSpan, entities: Sequence[Entity]) -> bool:
    return any(e.label == "EMAIL" and clause.start <= e.span.start < clause.end for e in entities)


def with_referred_attendees(suggestions: Sequence[Suggestion], entities: Sequence[Entity],
                            text: str) -> list[Suggestion]:
    """Meetings and calls whose clause names no person and no address get the note's person (see the module)."""
    people = note_people(entities, text)
    if not people:
        return list(suggestions)
    out: list[Suggestion] = []
    for s in suggestions:
        clause = s.spans[0] if s.spans else None
        if s.kind not in EVENTS or s.attendees or clause is None or _emails_in(clause, entities):
            out.append(s)
            continue
        pronoun = _PRONOUN.search(clause.text)
        if not pronoun and _WITH_OTHERS.search(clause.text):
            out.append(s)
            continue
        chosen = people if (len(people) == 1 or (_PLURAL.search(clause.text) and len(people) <= MAX_PEOPLE)) \
            else []
        if not chosen:
            out.append(s)
            continue
        out.append(replace(
            s, attendees=tuple(p.name or p.email or "" for p in chosen),
            attendee_emails=tuple(p.email for p in chosen if p.email), attendees_inferred=True,
            spans=(*s.spans, *(sp for p in chosen for sp in p.spans)),
            confidence=round(min(s.confidence + (0.1 if pronoun else 0.0), 0.95), 2)))
    return out

"""What notes analysis hands out: typed, immutable suggestions, entities and time mentions.

These dataclasses are the boundary with the Teams bot (which renders create-forms from them) and the CLI
(which prints them or their JSON via :func:`analysis_to_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class SuggestionKind(StrEnum):
    """The things a note can suggest creating."""

    MEETING = "meeting"
    CALL = "call"
    TASK = "task"
    CONTACT = "contact"
    CONTENT_REQUEST = "content_request"
    ISSUE = "issue"


@dataclass(frozen=True)
class CharSpan:
    """A half-open ``[start, end)`` range of character offsets into the note, with the text it covers."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Entity:
    """A person, company, email address or phone number found in the note."""

    label: str  # PERSON | ORG | EMAIL | PHONE
    span: CharSpan


@dataclass(frozen=True)
class TimeMention:
    """A date/time expression and where it resolves (``start`` None for a bare duration)."""

    span: CharSpan
    start: datetime | None
    end: datetime | None
    duration: timedelta | None
    grain: str
    # False for a time of day written without a day ("lunch", "at 3pm", "下午三点"), which resolves to today: a
    # day named elsewhere in the clause ("lunch with Anna on Friday") gives it its date.
    dated: bool = True
    part: str | None = None  # the part of the day named (morning, noon, afternoon, evening, night, eod)
    period: str | None = None  # a period named ("this week" → week): ``start`` is its first day


@dataclass(frozen=True)
class ContactDetails:
    """The new-contact form's fields; any may be unknown."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    company: str | None = None


@dataclass(frozen=True)
class Suggestion:
    """One thing to create, with the spans to highlight and the fields its create-form needs.

    ``spans[0]`` is the sentence or clause the suggestion came from; further spans are its cue words, times
    and entities. ``start``/``end``/``duration`` fill meetings and calls, ``due``/``owner`` tasks,
    ``contact`` new contacts, ``subject`` the content asked for or the problem reported.

    ``attendees_inferred``: a meeting or call whose clause names nobody ("Call him next Tuesday") is given the
    one person the rest of the note names (:mod:`analytics.nlp.references`); ``attendee_emails`` then holds
    that person's address when the note gives it.
    """

    kind: SuggestionKind
    title: str
    confidence: float
    spans: tuple[CharSpan, ...]
    start: datetime | None = None
    end: datetime | None = None
    duration: timedelta | None = None
    attendees: tuple[str, ...] = ()
    attendee_emails: tuple[str, ...] = ()
    attendees_inferred: bool = False
    due: datetime | None = None
    owner: str | None = None
    contact: ContactDetails | None = None
    subject: str | None = None


@dataclass(frozen=True)
class NoteAnalysis:
    """Everything found in one note: suggestions (in text order), entities and time mentions."""

    text: str
    lang: str  # "en", "zh" or "mixed"
    suggestions: tuple[Suggestion, ...] = ()
    entities: tuple[Entity, ...] = ()
    times: tuple[TimeMention, ...] = field(default=())


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds() // 60)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def analysis_to_dict(analysis: NoteAnalysis) -> dict[str, Any]:
    """A JSON-ready dict: datetimes as ISO 8601 strings, durations as whole minutes."""
    out = _jsonable(analysis)
    assert isinstance(out, dict)
    return out

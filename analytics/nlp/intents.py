"""From clauses, cues, times and entities to suggestions (pure functions, no spaCy, no clock).

Per clause: a meeting or a phone call (the earlier cue wins when both appear), otherwise a task; independently
a content request (content words with a request or send verb), an issue (problem words, unless negated) and a
new contact (an email or phone, or a contact cue next to a named person). Confidence grows with the evidence
found: a resolved time, a named attendee or owner, a due date, contact details.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from itertools import pairwise

from analytics.nlp.resolve import POD_HOURS
from analytics.nlp.spanfilters import inside
from analytics.nlp.suggestions import (
    CharSpan,
    ContactDetails,
    Entity,
    Suggestion,
    SuggestionKind,
    TimeMention,
)

SELF = "me"


@dataclass(frozen=True)
class Cue:
    """A matched cue phrase: label (a key of ``patterns/cues_<lang>.json``) and character offsets."""

    label: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Clause:
    """One clause of the note with the cues, times and entities inside it."""

    span: CharSpan
    cues: tuple[Cue, ...]
    times: tuple[TimeMention, ...]
    entities: tuple[Entity, ...]
    lang: str

    def labelled(self, label: str) -> list[Cue]:
        return [c for c in self.cues if c.label == label]


# Cue labels that start an action of their own (a meeting, a call, a task); two of them joined by a comma or
# "and"/"then" ("call Raj, send the deck by Friday and meet again on Tuesday") are two clauses.
ACTIONS = frozenset({"meeting", "call", "task"})
# Cues that start a clause of their own after a coordinator without being an action: a request ("…，周五前发报价":
# Chinese says "send" with 发, a request cue only, and the call before it took the quote's clause and due date).
CLAUSE_STARTS = ACTIONS | {"request"}
EVENTS = frozenset({"meeting", "call"})
_COORDINATORS = {
    "en": re.compile(r",|\band then\b|\bthen\b|\band\b", re.IGNORECASE),
    "zh": re.compile(r"[，,]|然后|并且"),
}


def split_coordinated(clause_spans: Sequence[CharSpan], cues: Sequence[Cue], times: Sequence[TimeMention],
                      lang: str) -> list[CharSpan]:
    """Split clauses where a coordinator joins two actions (see :data:`ACTIONS`).

    A note is often one sentence of several actions. Left whole, the first action's kind won and took the times
    and cues of the others (the demo's "call with …, send the proposal by Friday and meet again next Tuesday at
    10:00" gave one call on Tuesday and no task or meeting). The cut is at the last coordinator between an action
    cue and the next action or request cue (or between a request and a meeting or call), outside every time expression ("between 2 and 3 pm"), and in English only when the first action has
    words of its own before it ("call and email Raj on Monday" stays one action on one object). The coordinator
    belongs to neither part."""
    pattern = _COORDINATORS.get(lang)
    if pattern is None:
        return list(clause_spans)
    actions = [c for c in cues if c.label in CLAUSE_STARTS]
    out: list[CharSpan] = []
    for span in clause_spans:
        mine = [c for c in actions if span.start <= c.start and c.end <= span.end]
        start = span.start
        for first, second in pairwise(mine):
            if first.label not in ACTIONS and second.label not in EVENTS:
                continue  # "客户想要一份报价，下周一前发给他": sending what was asked for is one action
            between = span.text[first.end - span.start:second.start - span.start]
            cut = None
            for m in pattern.finditer(between):
                at, after = first.end + m.start(), first.end + m.end()
                # Chinese puts the object before the verb ("和王总开会，…"): its comma ends a clause as it is.
                own_words = lang == "zh" or between[:m.start()].strip(" \t,")
                in_time = any(t.span.start < after and at < t.span.end for t in times)
                if own_words and not in_time:
                    cut = (at, after)
            if cut is None:
                continue
            out.append(CharSpan(start, cut[0], span.text[start - span.start:cut[0] - span.start]))
            start = cut[1]
        out.append(CharSpan(start, span.end, span.text[start - span.start:]))
    return [c for c in out if c.text.strip()]


def gather_clauses(clause_spans: Sequence[CharSpan], cues: Sequence[Cue], times: Sequence[TimeMention],
                   entities: Sequence[Entity], lang: str) -> list[Clause]:
    """Distribute cues, times and entities over the clauses that contain them (all inputs sorted by start)."""
    out: list[Clause] = []
    ci = ti = ei = 0
    for span in clause_spans:
        bounds = (span.start, span.end)
        while ci < len(cues) and cues[ci].start < span.start:
            ci += 1
        while ti < len(times) and times[ti].span.start < span.start:
            ti += 1
        while ei < len(entities) and entities[ei].span.start < span.start:
            ei += 1
        c0, t0, e0 = ci, ti, ei
        while ci < len(cues) and cues[ci].start < span.end:
            ci += 1
        while ti < len(times) and times[ti].span.start < span.end:
            ti += 1
        while ei < len(entities) and entities[ei].span.start < span.end:
            ei += 1
        out.append(Clause(
            span,
            tuple(c for c in cues[c0:ci] if inside((c.start, c.end), bounds)),
            tuple(times[t0:ti]),
            tuple(entities[e0:ei]),
            lang,
        ))
    return out


def _title(clause: Clause, limit: int = 80) -> str:
    text = " ".join(clause.span.text.split()).strip(" .;。；!?！？,，-*•")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cue_span(c: Cue) -> CharSpan:
    return CharSpan(c.start, c.end, c.text)


def _first_point(clause: Clause) -> TimeMention | None:
    """The clause's most specific resolved time: the longest expression, the earlier on ties."""
    points = [t for t in clause.times if t.start is not None]
    return max(points, key=lambda t: (t.span.end - t.span.start, -t.span.start)) if points else None


def _duration(clause: Clause) -> TimeMention | None:
    return next((t for t in clause.times if t.duration is not None), None)


def _people(clause: Clause) -> list[Entity]:
    return [e for e in clause.entities if e.label == "PERSON"]


def _owner(clause: Clause) -> str | None:
    """The task's owner: "me" for first-person cues, else a person right before an owner verb."""
    if clause.labelled("owner_self"):
        return SELF
    links = clause.labelled("owner_link")
    for person in _people(clause):
        for link in links:
            gap = clause.span.text[person.span.end - clause.span.start:link.start - clause.span.start]
            if 0 <= link.start - person.span.end <= 2 and not gap.strip():
                return person.span.text
    if clause.lang == "zh" and clause.span.text.lstrip().startswith("我"):
        return SELF
    return None


def _with_day(day: TimeMention, clock: TimeMention) -> TimeMention:
    """An undated time of day ("lunch", "at 3pm") on the day named beside it ("on Friday", 周五)."""
    assert day.start is not None and clock.start is not None
    shift = day.start.date() - clock.start.date()

    def moved(at: datetime | None) -> datetime | None:
        # Wall time kept on the new day (a DST change in between does not move "12:00").
        return None if at is None else datetime.combine(at.date() + shift, at.time(), at.tzinfo)
    first, last = sorted((day.span, clock.span), key=lambda s: s.start)
    return replace(clock, span=CharSpan(first.start, last.end, ""), start=moved(clock.start), end=moved(clock.end),
                   dated=True)


def _period_end(first: date, period: str) -> date:
    """The day after a period that starts on ``first``."""
    if period in ("week", "weekend"):
        return first + timedelta(days=7 if period == "week" else 2)
    months = {"month": 1, "quarter": 3, "year": 12}.get(period, 1)
    y, m = divmod(first.month - 1 + months, 12)
    return date(first.year + y, m + 1, 1)


def under_way(t: TimeMention, now: datetime) -> bool:
    """A period or part of the day that has begun and not ended ("this week" on Thursday, "this afternoon" at 2pm):
    its ``start`` is past, but the event can still happen in it."""
    if t.start is None:
        return False
    if t.grain == "day" and t.period is not None:
        return t.start.date() <= now.date() < _period_end(t.start.date(), t.period)
    if t.grain == "part" and t.part in POD_HOURS:
        ends = datetime.combine(t.start.date(), time(POD_HOURS[t.part][1]), t.start.tzinfo)
        return t.start <= now < ends
    return False


def is_past(t: TimeMention, now: datetime) -> bool:
    """Whether the time has gone by: a day before today, a part of the day that has ended, a clock time before now."""
    if t.start is None or under_way(t, now):
        return False
    if t.grain == "day":
        return t.start.date() < now.date()
    return t.start < now


def _event_point(clause: Clause, now: datetime | None) -> tuple[TimeMention | None, bool]:
    """The time of a meeting or call, and whether the clause's times are all past.

    An undated time of day takes the one day named beside it ("lunch with Anna on Friday" is Friday 12:00, not
    Friday 00:00 nor today 12:00). With ``now``, times already gone by are not candidates: a note's "lunch with X"
    written after lunch is the lunch that happened. A period or part of the day under way ("this week", "this
    afternoon") is kept without its (past) start: the day is the user's to pick."""
    points = [t for t in clause.times if t.start is not None]
    days = [t for t in points if t.dated and t.grain == "day"]
    clocks = [t for t in points if not t.dated and t.grain in ("minute", "part")]
    if len(days) == 1 and len(clocks) == 1:
        points = [_with_day(days[0], clocks[0])]
    if now is None or not points:
        return _longest(points), False
    future = [t for t in points if not is_past(t, now)]
    if not future:
        return None, True
    best = _longest(future)
    if best is not None and under_way(best, now) and best.start is not None and best.start < now:
        return None, False
    return best, False


_BREAK = re.compile(r"[,，;；]")


def _told_in_past(clause: Clause, cue: Cue) -> bool:
    """Whether a past-tense cue ("had", "met", "went well", 吃了, 开完) belongs to the event cue: no comma between
    them ("Spoke with Raj, he wants a call" asks for a call)."""
    text, base = clause.span.text, clause.span.start
    for p in clause.labelled("past"):
        lo, hi = sorted((min(p.end, cue.end), max(p.start, cue.start)))
        if not _BREAK.search(text[lo - base:hi - base]):
            return True
    return False


def _longest(points: Sequence[TimeMention]) -> TimeMention | None:
    return max(points, key=lambda t: (t.span.end - t.span.start, -t.span.start)) if points else None


def _event(clause: Clause, kind: SuggestionKind, cue: Cue, now: datetime | None = None) -> Suggestion | None:
    """A meeting or call; None when it lies in the past (the note logs it: "lunch with X", "had a call with Y")."""
    point, past = _event_point(clause, now)
    if past:
        return None
    if _told_in_past(clause, cue):
        # "Had a call with Raj", "Meeting with Kwame went well", "今天和王总吃了午饭": without a time to come
        # (today is the day it happened, not one to book) the clause logs the event.
        if point is None or point.start is None:
            return None
        if now is not None and point.grain == "day" and point.start.date() <= now.date():
            return None
    dur = _duration(clause)
    people = _people(clause)
    spans = [clause.span, _cue_span(cue)] + [t.span for t in clause.times] + [p.span for p in people]
    start = point.start if point else None
    end = point.end if point else None
    duration = (point.duration if point else None) or (dur.duration if dur else None)
    if start is not None and end is None and duration is not None:
        end = start + duration
    confidence = 0.55 + (0.25 if start is not None else 0.0) + (0.1 if people else 0.0)
    return Suggestion(kind=kind, title=_title(clause), confidence=round(min(confidence, 0.95), 2),
                      spans=tuple(spans), start=start, end=end, duration=duration,
                      attendees=tuple(p.span.text for p in people))


def _task(clause: Clause, cue: Cue) -> Suggestion:
    point = _first_point(clause)
    owner = _owner(clause)
    spans = [clause.span, _cue_span(cue)] + [t.span for t in clause.times]
    confidence = 0.5 + (0.2 if point else 0.0) + (0.15 if owner else 0.0)
    return Suggestion(kind=SuggestionKind.TASK, title=_title(clause), confidence=round(confidence, 2),
                      spans=tuple(spans), due=point.start if point else None, owner=owner)


def _contact(clause: Clause) -> Suggestion | None:
    ents = clause.entities
    email = next((e for e in ents if e.label == "EMAIL"), None)
    phone = next((e for e in ents if e.label == "PHONE"), None)
    person = next((e for e in ents if e.label == "PERSON"), None)
    org = next((e for e in ents if e.label == "ORG"), None)
    cue = next(iter(clause.labelled("contact")), None)
    if not (email or phone or (cue and person)):
        return None
    title_cue = next(iter(clause.labelled("title")), None)
    title = _title_phrase(clause, title_cue) if title_cue else None
    details = ContactDetails(
        name=person.span.text if person else None, email=email.span.text if email else None,
        phone=phone.span.text if phone else None, title=title, company=org.span.text if org else None)
    found = [e.span for e in (person, email, phone, org) if e is not None]
    evidence = sum(x is not None for x in (details.name, details.email, details.phone, details.title,
                                            details.company))
    return Suggestion(kind=SuggestionKind.CONTACT, title=details.name or details.email or _title(clause),
                      confidence=round(min(0.45 + 0.1 * evidence + (0.1 if cue else 0.0), 0.95), 2),
                      spans=(clause.span, *found), contact=details)


_TITLE_TAIL = re.compile(r"^(?:\s+(?:of|for)\s+[A-Z&][\w&]*(?:\s+[A-Z&][\w&]*){0,3})?")


def _title_phrase(clause: Clause, cue: Cue) -> str:
    """The job title around a title cue: "VP of Sales", "procurement manager", "采购经理"."""
    text = clause.span.text
    rel_end = cue.end - clause.span.start
    tail = _TITLE_TAIL.match(text[rel_end:])
    end = rel_end + (tail.end() if tail else 0)
    start = cue.start - clause.span.start
    # Take capitalised or department words just before the cue ("Head of IT", "Sales Director").
    before = re.search(r"((?:[A-Z][\w&]*|[a-z]+ (?=manager|director|lead|engineer))\s+)$", text[:start])
    if before and clause.lang == "en" and before.group(1).strip() not in ("I", "The", "A", "Our", "Their"):
        start -= len(before.group(1))
    if clause.lang == "zh":
        pre = re.search(r"[\u4e00-\u9fff]{0,2}$", text[:start])
        if pre and pre.group(0) and pre.group(0)[-1] in "采购技术销售市场财务运营产品项目研发人事法务":
            start -= len(pre.group(0))
    return " ".join(text[start:end].split())


def suggest(clause: Clause, now: datetime | None = None) -> list[Suggestion]:
    """Every suggestion one clause supports, in a fixed order of kinds.

    With ``now`` (the note's reference time), a meeting or call that lies in the past is not suggested: a clause
    in the past tense ("met", "had a call", 吃了, 开完) without a time to come, or whose times have all gone by
    ("lunch with X" written at 5pm), logs what happened (see docs/notes.md, "Past events")."""
    out: list[Suggestion] = []
    meeting = clause.labelled("meeting")
    # "电话 021-6234…", "phone: +44 …": a phone cue right before a number introduces it, it is not a call.
    phones = [e.span.start for e in clause.entities if e.label == "PHONE"]
    call = [c for c in clause.labelled("call") if not any(0 <= p - c.end <= 3 for p in phones)]
    if meeting or call:
        first_meeting = meeting[0].start if meeting else 1 << 62
        first_call = call[0].start if call else 1 << 62
        event = (_event(clause, SuggestionKind.CALL, call[0], now) if first_call < first_meeting
                 else _event(clause, SuggestionKind.MEETING, meeting[0], now))
        if event is not None:
            out.append(event)
    elif clause.labelled("task"):
        out.append(_task(clause, clause.labelled("task")[0]))
    content = clause.labelled("content")
    if content and clause.labelled("request"):
        spans = (clause.span, *(_cue_span(c) for c in content))
        point = _first_point(clause)  # "send pricing by Friday": the content is due then (the To Do task's date)
        out.append(Suggestion(kind=SuggestionKind.CONTENT_REQUEST, title=_title(clause),
                              confidence=0.7 if len(content) > 1 or clause.labelled("request") else 0.6,
                              spans=(*spans, *(t.span for t in clause.times)),
                              subject=" ".join(dict.fromkeys(c.text for c in content)),
                              due=point.start if point else None))
    issue = clause.labelled("issue")
    if issue and not clause.labelled("negation"):
        out.append(Suggestion(kind=SuggestionKind.ISSUE, title=_title(clause),
                              confidence=round(min(0.6 + 0.1 * len(issue), 0.9), 2),
                              spans=(clause.span, *(_cue_span(c) for c in issue)), subject=_title(clause, 200)))
    contact = _contact(clause)
    if contact is not None:
        out.append(contact)
    return out

"""The entry point of notes analysis: :class:`NoteAnalyzer` and :func:`analyze_note`.

``NoteAnalyzer`` builds the English and Chinese spaCy pipelines once and can be shared for the life of a
process (the bot creates one at start-up). ``analyze_note`` is the stable convenience function around a
lazily built, cached analyzer. Neither raises on any note text; a bad time zone raises ``InvalidTimeZone``.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from spacy.language import Language

from analytics.nlp.components import LANGS, build_pipeline
from analytics.nlp.errors import InvalidLanguage, InvalidTimeZone
from analytics.nlp.intents import Clause, Cue, gather_clauses, split_coordinated, suggest
from analytics.nlp.langsplit import split_chunks
from analytics.nlp.references import with_referred_attendees
from analytics.nlp.resolve import resolve
from analytics.nlp.suggestions import CharSpan, Entity, NoteAnalysis, Suggestion, TimeMention
from analytics.nlp.timespec import RawTime

_SURROGATE = re.compile("[\ud800-\udfff]")


def zone_of(tz: str) -> ZoneInfo:
    """The IANA zone named ``tz``, or :class:`InvalidTimeZone`."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as err:
        raise InvalidTimeZone(tz) from err


class NoteAnalyzer:
    """Holds one spaCy pipeline per language; ``analyze`` is safe to call repeatedly."""

    def __init__(self) -> None:
        self.pipelines: dict[str, Language] = {lang: build_pipeline(lang) for lang in LANGS}

    def analyze(self, text: str, *, now: datetime, tz: str, lang: str = "auto") -> NoteAnalysis:
        """Suggestions, entities and resolved times for ``text`` as of ``now`` in zone ``tz``.

        ``now`` may be naive (read as wall time in ``tz``) or aware. ``lang`` is "en", "zh" or "auto"
        (per sentence, so mixed notes work).
        """
        if lang not in ("auto", *LANGS):
            raise InvalidLanguage(lang)
        zone = zone_of(tz)
        ref = now.replace(tzinfo=zone) if now.tzinfo is None else now.astimezone(zone)
        # Lone surrogates cannot be encoded; replacing them one for one keeps every offset valid.
        clean = _SURROGATE.sub("\ufffd", text)
        suggestions: list[Suggestion] = []
        entities: list[Entity] = []
        times: list[TimeMention] = []
        langs: set[str] = set()
        for chunk in split_chunks(clean, lang):
            langs.add(chunk.lang)
            clauses = self._clauses(clean, chunk.start, chunk.end, chunk.lang, ref, zone)
            for clause in clauses:
                suggestions.extend(suggest(clause, ref))
                entities.extend(clause.entities)
                times.extend(clause.times)
        suggestions = with_referred_attendees(suggestions, entities, clean)
        return NoteAnalysis(text=text, lang="mixed" if len(langs) > 1 else (langs.pop() if langs else (
            "en" if lang == "auto" else lang)), suggestions=tuple(suggestions), entities=tuple(entities),
            times=tuple(times))

    def _clauses(self, text: str, offset: int, stop: int, lang: str, ref: datetime,
                 zone: ZoneInfo) -> list[Clause]:
        doc = self.pipelines[lang](text[offset:stop])
        clause_spans = []
        for sent in doc.sents:
            s, e = sent.start_char, sent.end_char
            if text[offset + s:offset + e].strip():
                clause_spans.append(CharSpan(offset + s, offset + e, text[offset + s:offset + e]))
        raws: list[RawTime] = doc._.rapport_times or []
        times = [_mention(r, offset, ref, zone) for r in raws]
        ents = [Entity(sp.label_, CharSpan(offset + sp.start_char, offset + sp.end_char, sp.text))
                for sp in doc.spans["entities"]]
        cues = sorted((Cue(sp.label_, offset + sp.start_char, offset + sp.end_char, sp.text)
                       for sp in doc.spans["cues"]), key=lambda c: c.start)
        return gather_clauses(split_coordinated(clause_spans, cues, times, lang), cues, times, ents, lang)


def _mention(raw: RawTime, offset: int, ref: datetime, zone: ZoneInfo) -> TimeMention:
    res = resolve(raw.spec, ref, zone)
    return TimeMention(CharSpan(offset + raw.start, offset + raw.end, raw.text), res.start, res.end,
                       res.duration, res.grain, dated=raw.spec.has_date(), part=raw.spec.part_of_day,
                       period=raw.spec.period if raw.spec.period_edge is None else None)


@lru_cache(maxsize=1)
def default_analyzer() -> NoteAnalyzer:
    """The process-wide analyzer used by :func:`analyze_note`, built on first use."""
    return NoteAnalyzer()


def analyze_note(text: str, *, now: datetime, tz: str, lang: str = "auto") -> NoteAnalysis:
    """Analyse one note: see ``docs/notes.md``. Stable API for the Teams bot and the CLI."""
    return default_analyzer().analyze(text, now=now, tz=tz, lang=lang)

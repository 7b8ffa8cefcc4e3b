"""The spaCy components of notes analysis, registered here with their declared config.

``build_pipeline("en")`` gives ``spacy.blank("en")`` plus, in order:

* ``rapport_clauses`` — sentence/clause boundaries at . ! ? ; 。！？； and line breaks (sets ``is_sent_start``);
* ``rapport_times`` — date/time expressions into ``doc.spans["times"]``, their specs in ``doc._.rapport_times``;
* ``rapport_entities`` — PERSON / ORG / EMAIL / PHONE into ``doc.spans["entities"]``;
* ``rapport_cues`` — intent cue phrases from ``patterns/cues_<lang>.json`` into ``doc.spans["cues"]``.

Nothing here reads a clock: resolution against a reference time happens after the pipeline has run.
"""

from __future__ import annotations

import json
from importlib.resources import files

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token

from analytics.nlp.datetime_en import extract_en
from analytics.nlp.datetime_zh import extract_zh
from analytics.nlp.entities import find_entities
from analytics.nlp.spanfilters import drop_contained
from analytics.nlp.timespec import RawTime

LANGS = ("en", "zh")
# Labels of cue lists that compete for the same words; owner cues are read separately and never compete.
COMPETING = frozenset({"meeting", "call", "task", "content", "issue", "negation", "contact", "title"})

if not Doc.has_extension("rapport_times"):
    Doc.set_extension("rapport_times", default=None)


class ClauseSplitter:
    """Mark a clause start after every boundary token (sentence punctuation, semicolons, line breaks)."""

    def __init__(self, boundaries: str) -> None:
        self.boundaries = frozenset(boundaries)

    def __call__(self, doc: Doc) -> Doc:
        prev_boundary = True
        for token in doc:
            token.is_sent_start = prev_boundary
            text = token.text
            prev_boundary = (text in self.boundaries and not _inner_dot(doc, token)) or "\n" in text or (
                len(text) > 1 and all(c in self.boundaries for c in text))
        return doc


def _inner_dot(doc: Doc, token: Token) -> bool:
    """A "." right before a Latin letter or digit is inside an address, a domain or "3.30", not a sentence end.

    The Chinese pipeline tokenises by character, so "kwame.king@x.de" reaches the splitter as separate "." tokens.
    """
    if token.text != "." or token.whitespace_ or token.i + 1 >= len(doc):
        return False
    following = doc[token.i + 1].text[:1]
    return following.isascii() and following.isalnum()


class TimeTagger:
    """Find date/time expressions for one language and keep their unresolved specs on the doc."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGS:
            raise ValueError(f"rapport_times: lang must be one of {LANGS}, got {lang!r}")
        self.extract = extract_zh if lang == "zh" else extract_en

    def __call__(self, doc: Doc) -> Doc:
        raws: list[RawTime] = self.extract(doc.text)
        spans: list[Span] = []
        kept: list[RawTime] = []
        for raw in raws:
            span = doc.char_span(raw.start, raw.end, label="TIME", alignment_mode="expand")
            if span is not None:
                spans.append(span)
                kept.append(raw)
        doc.spans["times"] = spans
        doc._.rapport_times = kept
        return doc


class EntityTagger:
    """People, companies, emails and phones (see :mod:`analytics.nlp.entities`)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        for found in find_entities(doc.text, self.lang):
            span = doc.char_span(found.start, found.end, label=found.label, alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.spans["entities"] = spans
        return doc


class CueMatcher:
    """Phrase lists per label (from a JSON data file) matched on lower-cased tokens."""

    def __init__(self, nlp: Language, patterns: str) -> None:
        raw = json.loads(files("analytics.nlp.patterns").joinpath(patterns).read_text("utf-8"))
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for label, phrases in raw.items():
            if label.startswith("_"):
                continue
            self.matcher.add(label, [nlp.make_doc(p) for p in phrases])

    def __call__(self, doc: Doc) -> Doc:
        spans = [Span(doc, s, e, label=mid) for mid, s, e in self.matcher(doc)]
        competing = [s for s in spans if s.label_ in COMPETING]
        others = [s for s in spans if s.label_ not in COMPETING]
        keep = drop_contained([(s.start, s.end) for s in competing])
        doc.spans["cues"] = [s for s, k in zip(competing, keep, strict=True) if k] + others
        return doc


@Language.factory("rapport_clauses", default_config={"boundaries": ".!?;。！？；…"})
def make_clause_splitter(nlp: Language, name: str, boundaries: str) -> ClauseSplitter:
    """Factory for :class:`ClauseSplitter`."""
    return ClauseSplitter(boundaries)


@Language.factory("rapport_times", default_config={"lang": "en"})
def make_time_tagger(nlp: Language, name: str, lang: str) -> TimeTagger:
    """Factory for :class:`TimeTagger`."""
    return TimeTagger(lang)


@Language.factory("rapport_entities", default_config={"lang": "en"})
def make_entity_tagger(nlp: Language, name: str, lang: str) -> EntityTagger:
    """Factory for :class:`EntityTagger`."""
    return EntityTagger(lang)


@Language.factory("rapport_cues", default_config={"patterns": "cues_en.json"})
def make_cue_matcher(nlp: Language, name: str, patterns: str) -> CueMatcher:
    """Factory for :class:`CueMatcher`."""
    return CueMatcher(nlp, patterns)


def build_pipeline(lang: str) -> Language:
    """A blank spaCy pipeline for ``lang`` ("en" or "zh") with the Rapport components added."""
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}; expected one of {LANGS}")
    nlp = spacy.blank(lang)
    nlp.add_pipe("rapport_clauses")
    nlp.add_pipe("rapport_times", config={"lang": lang})
    nlp.add_pipe("rapport_entities", config={"lang": lang})
    nlp.add_pipe("rapport_cues", config={"patterns": f"cues_{lang}.json"})
    return nlp

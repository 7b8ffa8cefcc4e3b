"""Find people, companies, email addresses and phone numbers with regexes and word lists (pure functions).

No statistical model ships with Rapport, so people are capitalised words that are not on a stop list (English)
or a surname followed by an honorific such as 王总 / 李经理 (Chinese); companies are capitalised phrases
ending in a company suffix or following "at"/"from", and Chinese names ending in 公司/集团/科技/银行.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,5}(?![A-Za-z0-9-])")
# Separators inside a phone number are single spaces, dots or dashes; 7-15 digits in all (checked after).
PHONE_RE = re.compile(
    r"(?<![A-Za-z0-9+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}(?![A-Za-z0-9])")
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_CAP_WORD = re.compile(r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?|[A-Z][a-z]*[A-Z][a-z]+|[A-Z]{2,5}")


@dataclass(frozen=True)
class FoundEntity:
    """A raw entity: label and character offsets."""

    label: str
    start: int
    end: int


@dataclass(frozen=True)
class EntityLexicon:
    """Word lists for one language, loaded from ``patterns/entities_<lang>.json``."""

    honorifics: frozenset[str]
    org_suffixes: tuple[str, ...]
    not_names: frozenset[str]
    surnames: str
    org_stop_chars: str


@cache
def load_lexicon(lang: str) -> EntityLexicon:
    """Read the word lists shipped in ``analytics/nlp/patterns``."""
    raw = json.loads(files("analytics.nlp.patterns").joinpath(f"entities_{lang}.json").read_text("utf-8"))
    return EntityLexicon(
        honorifics=frozenset(raw.get("honorifics", [])),
        org_suffixes=tuple(sorted(raw.get("org_suffixes", []), key=len, reverse=True)),
        not_names=frozenset(raw.get("not_names", [])),
        surnames=raw.get("surnames", ""),
        org_stop_chars=raw.get("org_stop_chars", ""),
    )


def find_contacts_details(text: str) -> list[FoundEntity]:
    """Email addresses and phone numbers (language independent)."""
    out = [FoundEntity("EMAIL", m.start(), m.end()) for m in EMAIL_RE.finditer(text)]
    taken = [(e.start, e.end) for e in out]
    for m in PHONE_RE.finditer(text):
        digits = sum(c.isdigit() for c in m.group(0))
        if not 7 <= digits <= 15 or _ISO_DATE.fullmatch(m.group(0)):
            continue
        if any(s <= m.start() < e for s, e in taken):
            continue
        out.append(FoundEntity("PHONE", m.start(), m.end()))
    return out


def _sentence_initial(text: str, pos: int) -> bool:
    i = pos - 1
    while i >= 0 and text[i] in " \t\"'(":
        i -= 1
    return i < 0 or text[i] in ".!?;:\n。！？；-•*"


_PERSON_NEXT = re.compile(r"\s*(?:says|said|wants|asked|will|is|was|mentioned|from|needs|'s|’s)\b")


def _looks_like_person(text: str, start: int, end: int, n_words: int) -> bool:
    """A capitalised run is a person unless it merely opens a sentence (then a verb must follow)."""
    return not _sentence_initial(text, start) or n_words > 1 or bool(_PERSON_NEXT.match(text, end))


def find_names_en(text: str, lex: EntityLexicon) -> list[FoundEntity]:
    """People and companies in English text."""
    out: list[FoundEntity] = []
    words = list(_CAP_WORD.finditer(text))
    i = 0
    while i < len(words):
        first = words[i]
        if first.group(0) in lex.honorifics and text[first.end():first.end() + 1] in (".", " "):
            # "Mr. Johnson", "Dr Patel": the next capitalised run is a person whatever it looks like.
            k = i + 1
            if k < len(words) and words[k].start() - first.end() <= 2:
                e = k
                while e + 1 < len(words) and text[words[e].end():words[e + 1].start()] == " " \
                        and words[e + 1].group(0) not in lex.not_names:
                    e += 1
                out.append(FoundEntity("PERSON", words[k].start(), words[e].end()))
                i = e + 1
                continue
        if first.group(0) in lex.not_names:
            i += 1
            continue
        j = i
        # Runs of capitalised words separated by one space (or "&") are one name.
        while j + 1 < len(words) and text[words[j].end():words[j + 1].start()] in (" ", " & ") \
                and words[j + 1].group(0) not in lex.not_names:
            j += 1
        start, end = first.start(), words[j].end()
        phrase_words = [w.group(0) for w in words[i:j + 1]]
        nxt = text[end:end + 6]
        suffix_next = next((s for s in lex.org_suffixes if nxt.startswith(" " + s)), None)
        if phrase_words[-1] in lex.org_suffixes and len(phrase_words) > 1:
            out.append(FoundEntity("ORG", start, end))
        elif suffix_next is not None:
            out.append(FoundEntity("ORG", start, end + 1 + len(suffix_next)))
        else:
            before = text[max(0, start - 6):start].lower().rstrip()
            lead = phrase_words[0]
            if before.endswith((" at", " from")) and lead not in lex.not_names:
                out.append(FoundEntity("ORG", start, end))
            elif lead in lex.honorifics or lead.rstrip(".") in lex.honorifics:
                if len(phrase_words) > 1:
                    out.append(FoundEntity("PERSON", words[i + 1].start(), end))
            elif lead not in lex.not_names and not lead.isupper() and _looks_like_person(text, start, end,
                                                                                        len(phrase_words)):
                out.append(FoundEntity("PERSON", start, end))
        i = j + 1
    return out


def find_names_zh(text: str, lex: EntityLexicon) -> list[FoundEntity]:
    """People (surname + honorific, 小/老 + surname) and companies (… 公司/集团) in Chinese text."""
    out: list[FoundEntity] = []
    hon = "|".join(sorted(map(re.escape, lex.honorifics), key=len, reverse=True))
    person = re.compile(rf"(?:[{lex.surnames}][\u4e00-\u9fff]{{0,2}}?(?:{hon})|[小老][{lex.surnames}](?![\u4e00-\u9fff]{{2}}))")
    for m in person.finditer(text):
        out.append(FoundEntity("PERSON", m.start(), m.end()))
    # A full name right after a title or an introducing word: 采购经理李明, 联系人是张伟.
    given = "(?:(?![的了和是在给跟与说把被也都就还要会将，。])[\u4e00-\u9fff])"
    named = re.compile(rf"(?:经理|总监|总裁|主管|工程师|负责人|主任|部长|处长|叫|名叫|联系人是?|对接人是?)[:：]?"
                       rf"(?P<name>[{lex.surnames}]{given}{{1,2}})")
    for m in named.finditer(text):
        out.append(FoundEntity("PERSON", m.start("name"), m.end("name")))
    # A bare full name as the object of a follow-up verb ("跟进王伟，", "拜访李明。") or between 给/和/跟 and the
    # action ("给王伟打电话", "和张小明开会"); the context on both sides keeps words such as 方式 out.
    bare = re.compile(rf"(?:(?:跟进|拜访|约见|回访|打给|致电|通知|提醒)(?P<a>[{lex.surnames}]{given}{{1,2}}?)"
                      rf"(?=[，,。.；;！!？?、\s]|$)|[给和跟与约](?P<b>[{lex.surnames}]{given}{{1,2}}?)"
                      rf"(?=打电话|打个电话|开会|开个会|见面|见个面|吃饭|通话|通电话|沟通))")
    for m in bare.finditer(text):
        group = "a" if m.group("a") else "b"
        out.append(FoundEntity("PERSON", m.start(group), m.end(group)))
    suffixes = "|".join(map(re.escape, lex.org_suffixes))
    org = re.compile(rf"[\u4e00-\u9fffA-Za-z0-9&]{{1,8}}?(?:{suffixes})")
    for m in org.finditer(text):
        s = m.start()
        body = m.group(0)
        cut = max((body.rfind(c) for c in lex.org_stop_chars), default=-1)
        s += cut + 1
        if m.end() - s >= 3:
            out.append(FoundEntity("ORG", s, m.end()))
    return out


def find_entities(text: str, lang: str) -> list[FoundEntity]:
    """All entities in ``text`` for ``lang`` ("en" or "zh"), sorted and without overlaps."""
    lex = load_lexicon(lang)
    found = find_contacts_details(text)
    found += find_names_zh(text, lex) if lang == "zh" else find_names_en(text, lex)
    if lang == "en" and _HAN.search(text):
        # A Chinese name in an English sentence ("Met 李经理 at the expo"): the Chinese rules find it.
        found += [e for e in find_names_zh(text, load_lexicon("zh")) if e.label == "PERSON"]
    found.sort(key=lambda e: (e.start, e.start - e.end))
    kept: list[FoundEntity] = []
    last = -1
    for e in found:
        if e.start >= last:
            kept.append(e)
            last = e.end
    return kept

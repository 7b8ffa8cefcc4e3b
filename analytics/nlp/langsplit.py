"""Split a note into runs of one language, and long runs into bounded chunks (pure, linear)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A "." followed by a Latin letter or digit is inside an address, a domain or "3.30", not a sentence end
# (splitting there cut "周二和 kwame.king@x.de 开会" into Chinese, English and Chinese runs analysed apart).
_SEGMENT = re.compile(r"(?:[^\n.!?。！？；;]|\.(?=[A-Za-z0-9]))*[\n.!?。！？；;]*")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
MAX_CHUNK = 5000


@dataclass(frozen=True)
class Chunk:
    """``text[start:end]`` is processed by the ``lang`` pipeline."""

    start: int
    end: int
    lang: str


def detect(text: str) -> str:
    """"zh" when Chinese makes up at least 30% of the words, else "en".

    Words are estimated from letters: a Chinese word is about two characters, an English one about five letters.
    Counting each character as a word read "Met 李经理 at the expo, call her next week" as Chinese (3 characters
    against 26 letters) and found nothing in it."""
    cjk = len(_CJK.findall(text)) / 2
    latin = len(_LATIN.findall(text))
    return "zh" if cjk and cjk >= 0.3 * (cjk + latin / 5) else "en"


def split_chunks(text: str, lang: str = "auto", max_chunk: int = MAX_CHUNK) -> list[Chunk]:
    """Runs of sentences in one language (``lang`` fixes it), each at most about ``max_chunk`` characters.

    A single sentence longer than ``max_chunk`` is cut at whitespace (or hard) so no chunk grows unbounded.
    """
    chunks: list[Chunk] = []
    for m in _SEGMENT.finditer(text):
        s, e = m.start(), m.end()
        if s == e:
            continue
        seg_lang = detect(m.group(0)) if lang == "auto" else lang
        while e - s > max_chunk:
            cut = text.rfind(" ", s + max_chunk // 2, s + max_chunk)
            cut = cut + 1 if cut > s else s + max_chunk
            _append(chunks, Chunk(s, cut, seg_lang), max_chunk)
            s = cut
        _append(chunks, Chunk(s, e, seg_lang), max_chunk)
    return chunks


def _append(chunks: list[Chunk], chunk: Chunk, max_chunk: int) -> None:
    if chunks and chunks[-1].lang == chunk.lang and chunks[-1].end == chunk.start \
            and chunk.end - chunks[-1].start <= max_chunk:
        chunks[-1] = Chunk(chunks[-1].start, chunk.end, chunk.lang)
    else:
        chunks.append(chunk)

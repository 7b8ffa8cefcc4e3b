"""Number words in English and Chinese numerals, read into ints (pure functions, never raising)."""

from __future__ import annotations

EN_NUMBERS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
    "a couple of": 2, "couple of": 2, "a couple": 2, "a few": 3, "few": 3, "several": 3,
}

# Regex alternation of the English number words, longest first so "a couple of" wins over "a".
EN_NUMBER_RE = "|".join(sorted((w.replace(" ", r"\s+") for w in EN_NUMBERS), key=len, reverse=True))

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
ZH_NUMERAL_CHARS = "0-9零〇一二两兩三四五六七八九十百千"


def en_number(word: str) -> float | None:
    """``"two"`` → 2, ``"1.5"`` → 1.5, ``"a couple of"`` → 2; None for anything else."""
    w = " ".join(word.lower().split())
    if w in EN_NUMBERS:
        return float(EN_NUMBERS[w])
    try:
        return float(w)
    except ValueError:
        return None


def zh_number(text: str) -> int | None:
    """Read Arabic or Chinese numerals: ``"十五"`` → 15, ``"二十"`` → 20, ``"两"`` → 2, ``"05"`` → 5."""
    t = text.strip()
    if not t:
        return None
    if t.isascii() and t.isdigit():
        return int(t)
    if all(c in _ZH_DIGITS for c in t) and len(t) > 1:
        # Digit-by-digit years such as 二〇二七.
        return int("".join(str(_ZH_DIGITS[c]) for c in t))
    total, current = 0, 0
    for c in t:
        if c in _ZH_DIGITS:
            current = _ZH_DIGITS[c]
        elif c in _ZH_UNITS:
            total += (current or 1) * _ZH_UNITS[c]
            current = 0
        elif c.isdigit() and c.isascii():
            current = current * 10 + int(c)
        else:
            return None
    return total + current

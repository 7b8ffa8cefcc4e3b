"""What a health factor's explanation says, as data and as an English sentence (no array code: the bot's
translations read it).

:mod:`analytics.relationships.health` explains each factor with a :class:`FactorExplanation`; a reader that
words it in another language (``bot.conversation.i18n``) formats its ``args`` by its ``key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# What each factor's explanation can say (its key) and the numbers it quotes (its arguments):
# activity — ``recent`` weighted interactions in the last ``days`` days against ``expected``;
# recency — the last interaction ``gap`` days ago against the ``expected_gap`` (days, unrounded);
# reciprocity — the ``share`` of the weighted exchanges they initiated (a percentage, unrounded);
# responsiveness — they ``answered`` of the ``asked`` days we reached out within ``days`` days.
# The ``.none`` / ``.unprompted`` variants quote nothing: no interaction in the window, no exchanges, no
# outreach to answer, they reached out without being asked.
EXPLANATION_ARGS: dict[str, tuple[str, ...]] = {
    "activity": ("recent", "days", "expected"),
    "recency": ("gap", "expected_gap"),
    "recency.none": (),
    "reciprocity": ("share",),
    "reciprocity.none": (),
    "responsiveness": ("answered", "asked", "days"),
    "responsiveness.unprompted": (),
    "responsiveness.none": (),
}


_FIXED_ENGLISH = {
    "recency.none": "no interaction in the window",
    "reciprocity.none": "no exchanges",
    "responsiveness.unprompted": "they reached out without being asked",
    "responsiveness.none": "no outreach to answer",
}


def english_explanation(key: str, args: Mapping[str, float]) -> str:
    """The English sentence of explanation ``key`` with its arguments (:data:`EXPLANATION_ARGS`)."""
    a = args
    if key == "activity":
        recent = f"{a['recent']:.0f}"
        return (f"{recent} weighted {_plural(recent, 'interaction')} in the last {_days(a['days'])} "
                f"(a healthy record has about {a['expected']:g})")
    if key == "recency":
        return (f"last interaction {_days(a['gap'])} ago "
                f"(expected at least every {_days(a['expected_gap'], '.0f')})")
    if key == "reciprocity":
        return f"they initiated {a['share']:.0f}% of the weighted exchanges"
    if key == "responsiveness":
        return (f"they answered {a['answered']} of {a['asked']} outreach {_plural(str(a['asked']), 'day')} "
                f"within {_days(a['days'])}")
    return _FIXED_ENGLISH[key]


def _plural(shown: str, noun: str) -> str:
    """``noun`` for a count printed as ``shown``: singular only for "1" (a count that rounds to 1 reads as one)."""
    return noun if shown == "1" else noun + "s"


def _days(value: float, spec: str = "") -> str:
    """"1 day", "4 days": the number as ``spec`` formats it, and the noun agreeing with what is printed."""
    shown = format(value, spec)
    return f"{shown} {_plural(shown, 'day')}"


class FactorExplanation(str):
    """A factor's explanation: the English sentence (this string: what the CLI, ``--json`` output and English
    cards show, unchanged) that also carries what it says as data — ``key`` (:data:`EXPLANATION_ARGS`) and
    ``args``, the numbers it quotes, unrounded — so a reader can say the same in another language.

    A ``str`` so that it travels through every view and answer that holds an explanation as text
    (``analytics.views.FactorView``) without changing them. Equality and hashing are the sentence's.
    """

    key: str
    args: Mapping[str, float]

    def __new__(cls, text: str, key: str, args: Mapping[str, float]) -> FactorExplanation:
        self = super().__new__(cls, text)
        attributes = self.__dict__  # __setattr__ refuses: set them directly
        attributes["key"] = key
        attributes["args"] = MappingProxyType(dict(args))
        return self

    @classmethod
    def of(cls, key: str, **args: float) -> FactorExplanation:
        """Explanation ``key`` with its arguments (:data:`EXPLANATION_ARGS`), worded in English."""
        return cls(english_explanation(key, args), key, args)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a FactorExplanation is immutable")

    def __reduce__(self) -> tuple[type[FactorExplanation], tuple[str, str, dict[str, float]]]:
        # Pickle and copy rebuild it from its parts (the read-only mapping itself cannot be pickled).
        return FactorExplanation, (str(self), self.key, dict(self.args))

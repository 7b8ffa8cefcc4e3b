"""Pure filters over ``(start, end)`` spans, in the spirit of ``spacy.util.filter_spans``."""

from __future__ import annotations

from collections.abc import Sequence


def drop_contained(spans: Sequence[tuple[int, int]]) -> list[bool]:
    """For each span, whether to keep it: False when a strictly longer span contains it.

    Equal spans are all kept (one phrase may carry several labels). Sorting makes it O(n log n).
    """
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], -spans[i][1]))
    keep = [True] * len(spans)
    reach_end, reach_len = -1, 0
    for i in order:
        s, e = spans[i]
        if e <= reach_end and (e - s) < reach_len:
            keep[i] = False
            continue
        if e > reach_end:
            reach_end, reach_len = e, e - s
    return keep


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two half-open spans share a character."""
    return a[0] < b[1] and b[0] < a[1]


def inside(inner: tuple[int, int], outer: tuple[int, int]) -> bool:
    """Whether ``inner`` lies within ``outer``."""
    return outer[0] <= inner[0] and inner[1] <= outer[1]

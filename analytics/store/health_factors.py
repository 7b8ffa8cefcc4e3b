"""The numbers of a health score's ``details`` document, packed: what an incremental refresh stores per record.

A full refresh writes each record's ``details`` as a JSON document in ``score`` (the previous score and, per
factor, its value, weight, points and change, largest movers first). Formatting that document is a tenth of an
incremental refresh, and nothing reads it on the way: the incremental refresh stores the numbers instead
(``health_score_change.factors``) and :func:`document` builds the same document when it is read.

Every number in the document is rounded to 1 or 4 decimals (``numpy.round``, which is ``rint(x · 10ᵈ) / 10ᵈ``),
so it is stored exactly as the integer ``rint(x · 10ᵈ)``: 17 little-endian int32 — previous score (×10, or
:data:`_NONE`), then per factor in :data:`FACTORS` order value (×10⁴), weight (×10⁴), points (×10), change (×10).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# The factor order of analytics.relationships.health.FACTORS (the store does not import the scoring package; a
# test checks that the decoded documents are those a full refresh stores).
FACTORS = ("activity", "recency", "reciprocity", "responsiveness")
_NONE = np.iinfo(np.int32).min  # no previous score
_WIDTH = 1 + 4 * len(FACTORS)


def _fixed(x: FloatArray, decimals: int) -> npt.NDArray[np.int64]:
    return np.rint(x * 10.0 ** decimals).astype(np.int64)


def pack(previous: FloatArray, values: FloatArray, weights: FloatArray, points: FloatArray,
         changes: FloatArray) -> list[bytes]:
    """One packed entry per record: ``previous`` (n,) scores ``trend_days`` earlier (NaN: none), ``values``
    (n, 4) factor values, ``weights`` (4,), ``points`` (n, 4) unrounded points, ``changes`` (n, 4) the rounded
    changes of points (``BatchScores.changes``)."""
    n = len(previous)
    table = np.empty((n, _WIDTH), dtype=np.int64)
    table[:, 0] = np.where(np.isnan(previous), _NONE, _fixed(np.nan_to_num(previous), 1))
    k = len(FACTORS)
    table[:, 1:1 + k] = _fixed(values, 4)
    table[:, 1 + k:1 + 2 * k] = _fixed(weights, 4)[np.newaxis, :]
    table[:, 1 + 2 * k:1 + 3 * k] = _fixed(points, 1)
    table[:, 1 + 3 * k:] = _fixed(changes, 1)
    raw = table.astype("<i4").tobytes()
    size = _WIDTH * 4
    return [raw[i * size:(i + 1) * size] for i in range(n)]


def document(packed: bytes | None, score: float | None) -> dict[str, Any]:
    """The ``details`` document a full refresh stores for a record with this packed entry and ``score`` (its
    stored value); a closed record (no entry) has ``{"reason": "closed"}``."""
    if packed is None:
        return {"reason": "closed"}
    row = np.frombuffer(packed, dtype="<i4").astype(np.int64)
    k = len(FACTORS)
    previous = None if int(row[0]) == _NONE else int(row[0]) / 10.0
    values = (row[1:1 + k] / 1e4).tolist()
    weights = (row[1 + k:1 + 2 * k] / 1e4).tolist()
    points = (row[1 + 2 * k:1 + 3 * k] / 10.0).tolist()
    changes = (row[1 + 3 * k:] / 10.0).tolist()
    moved = score is not None and previous is not None
    # largest movers first, ties in factor order (the stable argsort of -|change| a full refresh uses)
    order = np.argsort(-np.abs(np.array(changes)), kind="stable").tolist() if moved else list(range(k))
    factors = [{"name": FACTORS[i], "value": values[i], "weight": weights[i], "points": points[i],
                "change": changes[i] if moved else None} for i in order]
    return {"previous": previous, "factors": factors}

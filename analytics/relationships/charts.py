"""PNG charts for cards and digests: health over time and the activity breakdown.

Rendered headless with matplotlib's Agg canvas on a private :class:`~matplotlib.figure.Figure` (never pyplot),
so charts can be drawn from any thread without global state.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from analytics.views import DayBreakdown, HealthPoint

_SIZE = (6.4, 3.2)
_DPI = 100
_BAND_COLOURS = ("#f4cccc", "#fff2cc", "#d9ead3")  # Poor, Fair, Good
_KINDS = (("emails", "Emails", "#4a86e8"), ("meetings", "Meetings", "#6aa84f"), ("calls", "Calls", "#e69138"))


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    return buf.getvalue()


def health_chart(points: Sequence[HealthPoint], *, title: str, good_from: float = 60.0,
                 fair_from: float = 40.0) -> bytes:
    """Health score over time on the state bands; points without a score are left as gaps."""
    fig = Figure(figsize=_SIZE)
    ax = fig.add_subplot()
    bands = (("Poor", 0.0, fair_from, _BAND_COLOURS[0]), ("Fair", fair_from, good_from, _BAND_COLOURS[1]),
             ("Good", good_from, 100.0, _BAND_COLOURS[2]))
    for _name, low, high, colour in bands:
        ax.axhspan(low, high, color=colour, zorder=0)
    xs = [p.at for p in points]
    ys = [p.score if p.score is not None else float("nan") for p in points]
    if xs:
        ax.plot(xs, ys, marker="o", markersize=3, color="#1c4587", zorder=2)  # type: ignore[arg-type]
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    else:
        ax.text(0.5, 0.5, "no scores yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylim(0, 100)
    ax.set_ylabel("health")
    ax.set_title(title)
    return _png(fig)


def activity_chart(breakdown: Sequence[DayBreakdown], *, as_of: date, window_days: int, title: str) -> bytes:
    """Stacked daily bars of emails, meetings and calls over the window ending ``as_of`` (empty days shown)."""
    by_day = {d.day: d for d in breakdown}
    days = [as_of - timedelta(days=i) for i in range(window_days - 1, -1, -1)]
    fig = Figure(figsize=_SIZE)
    ax = fig.add_subplot()
    bottom = [0] * len(days)
    for attr, label, colour in _KINDS:
        values = [getattr(by_day[d], attr) if d in by_day else 0 for d in days]
        ax.bar(days, values, bottom=bottom, width=0.9, label=label, color=colour)  # type: ignore[arg-type]
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_ylabel("interactions")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return _png(fig)

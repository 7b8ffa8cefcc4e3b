"""The bot's :class:`bot.ports.Scores`: one record scored by the scoring service's public API, its stored score
history, and the PNG of that history (the score card's chart, served at ``/charts/score.png``)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from sqlalchemy.engine import Engine

from analytics.errors import ConfigError
from analytics.scoring import service
from analytics.scoring.errors import NoActiveModel
from analytics.scoring.mapping import RecordType
from analytics.scoring.providers import default_providers
from analytics.scoring.scores import GradeBands, ScoreCard, score_history
from analytics.settings import Settings


class StoreScores:
    """Scores a lead or opportunity with the active models, as of ``now``, without storing the result.

    Not saving keeps the stored score (and its trend) the scoring job's business; the bot only reads.
    """

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._providers = default_providers(engine, settings)
        try:
            self._bands = GradeBands.parse(settings.scoring_grade_bands)
        except ValueError as err:
            raise ConfigError("RAPPORT_SCORING_GRADE_BANDS", str(err), settings.scoring_grade_bands) from err

    @property
    def bands(self) -> GradeBands:
        """The deployment's grade bands (drawn on the chart)."""
        return self._bands

    def history(self, tenant_id: str, record_type: str, record_id: str) -> list[tuple[datetime, float]]:
        """Every stored predictive score of the record (written by the scoring job), oldest first."""
        with self._engine.connect() as conn:
            return score_history(conn, tenant_id, record_type, record_id)

    def score(self, tenant_id: str, record_type: str, record_id: str, now: datetime) -> ScoreCard:
        kind: RecordType = "lead" if record_type == "lead" else "opportunity"
        cards = service.score_records(self._engine, tenant_id, kind, now, self._providers, self._bands,
                                      record_id=record_id, save=False)
        if not cards:  # every active model is filtered to other records (e.g. per-stage models only)
            raise NoActiveModel(kind)
        return cards[0]


_GRADE_COLOURS = ("#f4cccc", "#fce5cd", "#fff2cc", "#d9ead3")  # D, C, B, A


def score_chart(points: Sequence[tuple[datetime, float]], *, title: str, bands: GradeBands = GradeBands()) -> bytes:
    """A record's predictive score over time on its grade bands, as PNG bytes.

    Drawn on a private :class:`~matplotlib.figure.Figure` with the Agg canvas (never pyplot), so any thread may
    draw (the web handler draws in a worker thread).
    """
    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.add_subplot()
    edges = (0.0, bands.c, bands.b, bands.a, 100.0)
    for (low, high), colour, grade in zip(pairwise(edges), _GRADE_COLOURS, "DCBA", strict=True):
        ax.axhspan(low, high, color=colour, zorder=0)
        ax.text(1.01, (low + high) / 2, grade, transform=ax.get_yaxis_transform(), va="center", fontsize=8)
    if points:
        xs: list[object] = [p[0] for p in points]
        ax.plot(xs, [p[1] for p in points], marker="o", markersize=3, color="#1c4587", zorder=2)  # type: ignore[arg-type]
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    else:
        ax.text(0.5, 0.5, "no scores yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylim(0, 100)
    ax.set_ylabel("score")
    ax.set_title(title)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()

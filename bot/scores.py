"""The bot's :class:`bot.ports.Scores`: one record scored by the scoring service's public API."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from analytics.errors import ConfigError
from analytics.scoring import service
from analytics.scoring.errors import NoActiveModel
from analytics.scoring.mapping import RecordType
from analytics.scoring.providers import default_providers
from analytics.scoring.scores import GradeBands, ScoreCard
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

    def score(self, tenant_id: str, record_type: str, record_id: str, now: datetime) -> ScoreCard:
        kind: RecordType = "lead" if record_type == "lead" else "opportunity"
        cards = service.score_records(self._engine, tenant_id, kind, now, self._providers, self._bands,
                                      record_id=record_id, save=False)
        if not cards:  # every active model is filtered to other records (e.g. per-stage models only)
            raise NoActiveModel(kind)
        return cards[0]

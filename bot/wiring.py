"""The production features of this deployment, built once per process (the composition root's parts).

``NoteAnalyzer`` builds two spaCy pipelines (~1 s), so it is made here once and shared by every conversation;
the Graph write client keeps one msgraph-sdk client per tenant.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from analytics.settings import Settings
from bot.features import Features


def production_features(settings: Settings, engine: Engine) -> Features:
    """Relationships, sharing rules, notes with Graph writes (application permission), scores, charts and the
    users' own opt-outs."""
    from analytics.nlp.analyzer import NoteAnalyzer
    from analytics.query import RelationshipQueries
    from analytics.store.opt_outs import OptOuts
    from bot.graph_writes import MsGraphWrites, delegated_app
    from bot.scores import StoreScores
    from bot.storage import StoreAccess, StoreTeamActivity

    queries = RelationshipQueries(engine, settings)
    return Features(relationships=queries, access=StoreAccess(engine), people=queries, notes=NoteAnalyzer(),
                    graph_writes=MsGraphWrites(engine, delegated=delegated_app(settings)),
                    sso_connection=(settings.bot_sso_connection or None) if settings.bot_sso_writes else None,
                    scores=StoreScores(engine, settings), team=StoreTeamActivity(engine),
                    privacy=OptOuts(engine))

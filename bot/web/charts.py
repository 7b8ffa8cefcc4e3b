"""``GET /charts/{kind}.png``: PNGs from :mod:`analytics.relationships.charts` (and the score history chart of
:mod:`bot.scores`) behind signed, expiring links.

A valid link is the authorisation (whoever holds the card may see its chart); anything else is 403 or 404 and
says nothing about why. Drawing runs in a worker thread (matplotlib Agg on a private Figure is thread-safe).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from aiohttp import web

from analytics.errors import NotFound
from analytics.relationships.charts import activity_chart, health_chart
from analytics.relationships.errors import TargetNotFound
from analytics.views import TargetRef
from bot.ports import Directory, Relationships, Scores, TeamActivity
from bot.web.chart_links import BadChartLink, ChartRequest, verify

log = logging.getLogger(__name__)
TEAM_WINDOW_DAYS = 28


def chart_handler(secret: bytes, *, relationships: Relationships | None, directory: Directory,
                  team: TeamActivity | None, clock: Callable[[], datetime], scores: Scores | None = None
                  ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler; charts whose data port is absent answer 404."""

    async def handle(request: web.Request) -> web.StreamResponse:
        now = clock()
        try:
            chart = verify(secret, request.match_info.get("kind", ""), dict(request.query), now.timestamp())
        except BadChartLink as err:
            log.info("refused chart link: %s", err.reason)
            return web.Response(status=403)
        try:
            if chart.kind == "score":  # a lead's or opportunity's predictive score over time (bot.scores)
                png = await asyncio.to_thread(_draw_score, chart, scores)
            else:
                png = await asyncio.to_thread(_draw, chart, relationships, directory, team, now)
        except (NotFound, TargetNotFound):
            png = None
        if png is None:
            return web.Response(status=404)
        return web.Response(body=png, content_type="image/png",
                            headers={"Cache-Control": "private, max-age=3600"})

    return handle


def _draw(chart: ChartRequest, relationships: Relationships | None, directory: Directory,
          team: TeamActivity | None, now: datetime) -> bytes | None:
    if chart.kind == "team":
        manager = directory.principal(chart.tenant_id, chart.subject)
        if team is None or manager is None:
            return None
        since = now.date() - timedelta(days=TEAM_WINDOW_DAYS - 1)
        days = team.daily_activity(chart.tenant_id, manager.visible_user_ids, since, now.date())
        return activity_chart(days, as_of=now.date(), window_days=TEAM_WINDOW_DAYS,
                              title=f"{manager.display_name}'s team")
    if relationships is None or ":" not in chart.subject:
        return None
    kind, key = chart.subject.split(":", 1)
    if kind not in ("contact", "account", "domain", "lead", "opportunity"):
        return None
    view = relationships.health(chart.tenant_id, TargetRef(kind, key, key), now=now)  # type: ignore[arg-type]
    label = view.target.label
    if chart.kind == "health":
        return health_chart(view.history, title=label)
    return activity_chart(view.kpis.breakdown, as_of=now.date(), window_days=view.kpis.window_days, title=label)


def _draw_score(chart: ChartRequest, scores: Scores | None) -> bytes | None:
    from bot.scores import score_chart

    kind, _, key = chart.subject.partition(":")
    if scores is None or kind not in ("lead", "opportunity") or not key:
        return None
    points = scores.history(chart.tenant_id, kind, key)
    if not points:
        return None
    return score_chart(points, title=f"{kind.capitalize()} {key}", bands=scores.bands)

"""The ``score`` command: a lead's or opportunity's predictive score with its reasons."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from analytics.errors import NotFound
from analytics.query import AmbiguousRecord, AmbiguousRecordName
from analytics.relationships.errors import TargetNotFound
from analytics.scoring.errors import NoActiveModel
from analytics.views import TargetRef
from bot.cards.scores import render_score
from bot.conversation.commands import Command, CommandContext, patterns
from bot.conversation.i18n import t
from bot.conversation.model import Reply
from bot.conversation.relationships import ambiguous_reply
from bot.conversation.text import shorten
from bot.ports import Access, Relationships, Scores
from bot.web.chart_links import ChartLinks

_KINDS = {"lead": "lead", "线索": "lead", "opportunity": "opportunity", "opp": "opportunity",
          "deal": "opportunity", "商机": "opportunity", "机会": "opportunity"}


@dataclass
class ScoreFeature:
    """Scores through :class:`bot.ports.Scores`; targets and sharing rules as for health. With ``charts`` (the bot
    has a public URL) the card shows the score over time from a signed, expiring ``/charts/score.png`` link."""

    queries: Relationships
    access: Access
    scores: Scores
    charts: ChartLinks | None = None

    def commands(self) -> list[Command]:
        return [Command("score", {"en": t("help_score", "en"), "zh": t("help_score", "zh")}, patterns(
            r"(?:what is the |what's the |show )?(?:predictive )?score (?:of |for )?"
            r"(?P<kind>lead|opportunity|opp|deal)[: ]\s*(?P<target>.+)",
            r"(?:what is the |what's the |show )?(?:predictive )?score (?:of |for )?(?P<target>.+)",
            r"(?P<kind>线索|商机|机会)\s*(?P<target>.+?)\s*的?(?:预测)?(?:评分|分数)(?:是多少|如何)?",
            r"(?:查看|查询)?(?:预测)?评分\s*(?P<kind>线索|商机|机会)\s*(?P<target>.+)",
            # a bare id ("L-000008 的评分"): only id-like text, so a Chinese sentence about scores is no target
            r"(?P<target>[A-Za-z0-9][A-Za-z0-9_.:-]*)\s*的?(?:预测)?(?:评分|分数)(?:是多少|如何)?",
            r"(?:查看|查询)?(?:预测)?评分\s*(?P<target>[A-Za-z0-9][A-Za-z0-9_.:-]*)",
            # a name, as "score of Marco Moreau" reads in English: "星辰软件 - 平台 Q3 2026 的评分", "李娜的评分"
            r"(?P<target>[^的]+?)\s*的(?:预测)?(?:评分|分数)(?:是多少|如何)?",
        ), self._score)]

    def _record(self, ctx: CommandContext) -> TargetRef | Reply:
        """In a store thread: the lead or opportunity the command names, or the reply saying why there is none.

        Without "lead" / "opportunity" the text is resolved as any target: a bare id that is one record's is that
        record; one that is both a lead's and an opportunity's, or anything else, is asked about."""
        kind = _KINDS.get((ctx.args.get("kind") or "").lower())
        text = ctx.args.get("target", "")[:200]
        tenant_id = ctx.principal.tenant_id
        if kind is not None:
            try:
                return self.queries.resolve_target(tenant_id, f"{kind}:{text}")
            except AmbiguousRecordName as err:
                return Reply(text=ambiguous_reply(err, shorten(text), ctx.lang))
            except TargetNotFound:
                return Reply(text=t("not_found", ctx.lang, text=shorten(text)))
        try:
            target = self.queries.resolve_target(tenant_id, text)
        except (AmbiguousRecord, AmbiguousRecordName) as err:
            return Reply(text=ambiguous_reply(err, shorten(text), ctx.lang))
        except TargetNotFound:  # not found, or an account, domain or contact name: not scored
            return Reply(text=t("score_which", ctx.lang))
        if target.kind not in ("lead", "opportunity"):
            return Reply(text=t("score_which", ctx.lang))
        return target

    async def _score(self, ctx: CommandContext) -> Sequence[Reply]:
        text = ctx.args.get("target", "")[:200]
        p = ctx.principal
        target = await asyncio.to_thread(self._record, ctx)
        if isinstance(target, Reply):
            return [target]
        if not await asyncio.to_thread(self.access.may_see, p.tenant_id, target, p.visible_user_ids):
            return [Reply(text=t("not_allowed", ctx.lang, text=shorten(target.label)))]
        try:
            card = await asyncio.to_thread(self.scores.score, p.tenant_id, target.kind, target.key, ctx.now)
        except NoActiveModel:
            return [Reply(text=t("score_no_model", ctx.lang, kind=target.kind,
                                 name=t(f"kind_short_{target.kind}", ctx.lang)))]
        except NotFound:
            return [Reply(text=t("not_found", ctx.lang, text=shorten(text)))]
        chart = None
        history = (await asyncio.to_thread(self.scores.history, p.tenant_id, target.kind, target.key)
                   if self.charts is not None else [])
        if self.charts is not None and history:
            chart = self.charts.url("score", p.tenant_id, f"{target.kind}:{target.key}", ctx.now.timestamp())
        return [Reply(card=render_score(target, card, ctx.lang, chart))]

"""Health, who knows whom, introductions and "my …" lists: commands and card actions over the query API."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analytics.query import AmbiguousRecord, AmbiguousRecordName, PersonalMailDomain
from analytics.relationships.errors import AmbiguousTarget, TargetNotFound
from analytics.store.opt_outs import COVERING, WHO_KNOWS
from analytics.views import HealthView, MyRecordsView, TargetRef, WhoKnowsView, team_records
from bot.cards import relationships as cards
from bot.cards.render import notice_card
from bot.conversation import signing
from bot.conversation.commands import Command, CommandContext, patterns
from bot.conversation.i18n import names_list, t
from bot.conversation.model import ActionResult, Lang, Principal, Proactive, Reply
from bot.conversation.privacy import OptOutPort
from bot.conversation.service import ActionContext, ActionHandler
from bot.conversation.text import shorten
from bot.ports import Access, ConversationStore, Relationships
from bot.web.chart_links import ChartLinks

_KIND_WORDS = {"lead": "lead", "线索": "lead", "opportunity": "opportunity", "opp": "opportunity",
               "deal": "opportunity", "商机": "opportunity", "机会": "opportunity"}
_MINE_WORDS = {"accounts": "accounts", "客户": "accounts", "账户": "accounts", "leads": "leads", "线索": "leads",
               "潜在客户": "leads", "opportunities": "opportunities", "opps": "opportunities",
               "deals": "opportunities", "商机": "opportunities", "机会": "opportunities"}
SHOWN_CANDIDATES = 5  # an ambiguous name's candidates named in the reply; the rest are counted


@dataclass
class RelationshipFeature:
    """Commands backed by :class:`bot.ports.Relationships`, with the sharing rules of :class:`bot.ports.Access`."""

    queries: Relationships
    access: Access
    conversations: ConversationStore
    secret_key: bytes
    charts: ChartLinks | None = None  # set when the bot has a public URL: health cards embed charts
    privacy: OptOutPort | None = None  # checked again when an intro button is pressed (the card may predate an opt-out)

    def commands(self) -> list[Command]:
        return [
            Command("health", {"en": t("help_health", "en"), "zh": t("help_health", "zh")}, patterns(
                r"(?:what is the |what's the |show )?(?:relationship )?health (?:of |for )?"
                r"(?P<kind>lead|opportunity|opp|deal)[: ]\s*(?P<target>.+)",
                r"(?:what is the |what's the |show )?(?:relationship )?health (?:of |for )?(?P<target>.+)",
                r"how (?:healthy|good) is (?:our |my )?(?:relationship with )?(?P<target>.+)",
                r"(?:how is|how's) (?:our |my )?relationship with (?P<target>.+)",
                # "how is Fjord Media doing": only with "doing" / "going", and not "how is it / are you doing"
                r"(?:how is|how's|how are) (?:things with |it going with )?(?:our |my )?(?:account )?"
                r"(?!(?:it|you|things|everything|that|this|we|they|life|business)\s)(?P<target>.+?) (?:doing|going)",
                r"(?P<kind>线索|商机|机会)\s*(?P<target>.+?)\s*的?(?:关系)?健康(?:度|状况)(?:如何|怎么样)?",
                r"(?P<target>.+?)\s*的?(?:关系)?健康(?:度|状况)(?:如何|怎么样)?",
                r"(?:查看|查询)?(?:关系)?健康度\s*(?P<target>.+)",
            ), self._health),
            Command("who_knows", {"en": t("help_who", "en"), "zh": t("help_who", "zh")}, patterns(
                # "who knows someone at X", "does anyone know X", "who do we know at X": the company or person
                # is X, not "someone at X"
                r"(?:who (?:knows|has met|has a connection (?:with|at)|is connected to)|(?:does|do) "
                r"(?:anyone|anybody|someone|somebody|any of us) know|anyone know) (?:(?:anyone|anybody|someone"
                r"|somebody|people|a contact|contacts) (?:at|from|in) )?(?P<target>.+)",
                r"who (?:do|does) (?:we|I|anyone|our team) know (?:at|from|in) (?P<target>.+)",
                r"(?:有)?谁认识\s*(?P<target>.+?)(?:的人|的联系人|那边的人)?",
                r"(?P<target>.+?)\s*(?:的人|那边)?有?谁认识",
            ), self._who_knows),
            Command("intro", {"en": t("help_intro_cmd", "en"), "zh": t("help_intro_cmd", "zh")}, patterns(
                r"(?:intro|introduction|introduce me) (?:to )?(?P<target>.+)",
                r"(?:请)?(?:帮我)?引荐\s*(?:给)?\s*(?P<target>.+)",
            ), self._who_knows),
            Command("mine", {"en": t("help_mine", "en"), "zh": t("help_mine", "zh")}, patterns(
                r"(?:please )?(?:(?:show|list|give|get) (?:me )?|what are )?(?:all )?my "
                r"(?P<what>accounts|leads|opportunities|opps|deals)(?:,? please)?",
                r"(?:请)?(?:查看|显示|列出)?我的(?P<what>潜在客户|客户|账户|线索|商机|机会)(?:有哪些|列表)?",
            ), self._mine),
        ]

    def actions(self) -> dict[str, ActionHandler]:
        return {"intro.request": self._intro_request, "intro.accept": self._intro_accept,
                "intro.decline": self._intro_decline}

    # --- commands ----------------------------------------------------------------------------------------------

    # Each command does its store work in one trip to a store thread (resolve, check access, answer): with many
    # conversations at once, every trip queues behind the others' for the few store threads.

    def _target(self, ctx: CommandContext, example: str) -> TargetRef | Reply:
        """In a store thread: the target the command names, or the reply saying why there is none. ``example``:
        the i18n key of this command's phrasing, for the reply suggesting a person's address instead."""
        text = ctx.args.get("target", "")[:200]
        kind = _KIND_WORDS.get((ctx.args.get("kind") or "").lower())
        query = f"{kind}:{text}" if kind else text
        try:
            return self.queries.resolve_target(ctx.principal.tenant_id, query)
        except PersonalMailDomain as err:
            phrase = t(example, ctx.lang, target=f"name@{err.domain}")
            return Reply(text=t("personal_mail", ctx.lang, domain=err.domain, example=phrase))
        except AmbiguousTarget as err:
            return Reply(text=ambiguous_reply(err, shorten(text), ctx.lang))
        except TargetNotFound:
            return Reply(text=t("not_found", ctx.lang, text=shorten(text)))

    def _health_answer(self, ctx: CommandContext) -> HealthView | Reply:
        target = self._target(ctx, "example_health")
        if isinstance(target, Reply):
            return target
        p = ctx.principal
        if not self.access.may_see(p.tenant_id, target, p.visible_user_ids):
            return Reply(text=t("not_allowed", ctx.lang, text=shorten(target.label)))
        return self.queries.health(p.tenant_id, target, viewer_user_id=p.user_id, now=ctx.now)

    async def _health(self, ctx: CommandContext) -> Sequence[Reply]:
        view = await asyncio.to_thread(self._health_answer, ctx)
        if isinstance(view, Reply):
            return [view]
        target, p = view.target, ctx.principal
        urls: list[str] = []
        if self.charts is not None and not target.closed:
            subject = f"{target.kind}:{target.key}"
            urls = [self.charts.url(k, p.tenant_id, subject, ctx.now.timestamp()) for k in ("health", "activity")]
        return [Reply(card=cards.render_health(view, ctx.lang, chart_urls=urls))]

    def _who_knows_answer(self, ctx: CommandContext) -> WhoKnowsView | Reply:
        target = self._target(ctx, "example_who")
        if isinstance(target, Reply):
            return target
        return self.queries.who_knows(ctx.principal.tenant_id, target, now=ctx.now)

    async def _who_knows(self, ctx: CommandContext) -> Sequence[Reply]:
        view = await asyncio.to_thread(self._who_knows_answer, ctx)
        if isinstance(view, Reply):
            return [view]
        return [Reply(card=cards.render_who_knows(view, ctx.lang, ctx.sign, requester_id=ctx.principal.user_id))]

    async def _mine(self, ctx: CommandContext) -> Sequence[Reply]:
        what = _MINE_WORDS.get(ctx.args.get("what", "").lower(), "accounts")
        p = ctx.principal
        view = await asyncio.to_thread(self._records_of, p, ctx.now)
        return [Reply(card=cards.render_my_records(view, what, ctx.lang, team=p.is_manager))]

    def _records_of(self, p: Principal, now: datetime) -> MyRecordsView:
        """A rep's own records; a manager's with their reporting chain's, as their digest covers (a VP asking for
        "my opportunities" means the pipeline of the people they lead, and owns few records or none)."""
        if not p.is_manager:
            return self.queries.my_accounts(p.tenant_id, p.user_id, now)
        return team_records(p.user_id, [self.queries.my_accounts(p.tenant_id, u, now)
                                        for u in sorted(p.visible_user_ids)])

    # --- introductions -------------------------------------------------------------------------------------------

    async def _intro_request(self, ctx: ActionContext) -> ActionResult:
        colleague_id = str(ctx.args.get("colleague_id", ""))
        name = str(ctx.args.get("colleague_name", ""))
        label = str(ctx.args.get("label", ""))
        p = ctx.principal
        if self.privacy is not None and await asyncio.to_thread(self._opted_out, p.tenant_id, colleague_id):
            return ActionResult(card=notice_card(t("intro_opted_out", ctx.lang, name=name), ctx.lang))
        reachable = await asyncio.to_thread(self.conversations.personal_for, p.tenant_id, [colleague_id])
        if not reachable:
            return ActionResult(card=notice_card(t("intro_unreachable", ctx.lang, name=name), ctx.lang))
        shared = {"requester_id": p.user_id, "requester_name": p.display_name, "colleague_name": name,
                  "label": label, "kind": ctx.args.get("kind"), "key": ctx.args.get("key")}
        lang = _lang_of(reachable[0].locale)
        accept = signing.sign(self.secret_key, verb="intro.accept", tenant_id=p.tenant_id, user_id=colleague_id,
                              args=shared)
        decline = signing.sign(self.secret_key, verb="intro.decline", tenant_id=p.tenant_id,
                               user_id=colleague_id, args=shared)
        ask = cards.render_intro_request(p.display_name, label, lang, accept, decline)
        return ActionResult(card=notice_card(t("intro_sent", ctx.lang, name=name, label=label), ctx.lang),
                            followups=(Proactive(p.tenant_id, colleague_id, Reply(card=ask)),))

    def _opted_out(self, tenant_id: str, user_id: str) -> bool:
        """Whether the colleague has left who knows whom (its own scope or everything) since the card was drawn."""
        assert self.privacy is not None
        return any(o.scope in COVERING[WHO_KNOWS] for o in self.privacy.opt_outs_of(tenant_id, user_id))

    async def _intro_accept(self, ctx: ActionContext) -> ActionResult:
        a = ctx.args
        requester, label = str(a.get("requester_name", "")), str(a.get("label", ""))
        draft = cards.render_intro_draft(ctx.principal.display_name, requester, label, ctx.lang)
        return ActionResult(card=notice_card(t("intro_accepted_you", ctx.lang, requester=requester), ctx.lang),
                            followups=(Proactive(ctx.principal.tenant_id, str(a.get("requester_id")),
                                                 Reply(card=draft)),))

    async def _intro_decline(self, ctx: ActionContext) -> ActionResult:
        a = ctx.args
        label = str(a.get("label", ""))
        message = t("intro_declined", ctx.lang, name=ctx.principal.display_name, label=label)
        return ActionResult(card=notice_card(t("intro_declined_you", ctx.lang), ctx.lang),
                            followups=(Proactive(ctx.principal.tenant_id, str(a.get("requester_id")),
                                                 Reply(text=message)),))


def ambiguous_reply(err: AmbiguousTarget, text: str, lang: Lang) -> str:
    """Which candidates ``text`` matches: the first few by name, and how many more when there are more."""
    if isinstance(err, AmbiguousRecord):
        return t("ambiguous_record", lang, text=shorten(err.record_id))
    if isinstance(err, AmbiguousRecordName):
        shown_refs = err.candidates[:SHOWN_CANDIDATES]
        listed = [t("aside", lang, value=label, detail=ref.split(":", 1)[1]) for ref, label in shown_refs]
        if len(err.candidates) > len(shown_refs):
            listed.append("…")
        kind, record_id = shown_refs[0][0].split(":", 1)
        example = t("example_score_" + kind, lang, id=record_id)
        return t("ambiguous_records", lang, text=text, count=len(err.candidates), names=names_list(listed, lang),
                 example=example)
    shown = [name for _, name in err.candidates[:SHOWN_CANDIDATES]]
    more = len(err.candidates) - len(shown)
    if more <= 0:
        return t("ambiguous", lang, text=text, names=names_list(shown, lang))
    return t("ambiguous_more", lang, text=text, names=names_list(shown, lang), count=len(err.candidates),
             more=more)


def _lang_of(locale: str | None) -> Any:
    from bot.conversation.i18n import lang_of
    return lang_of(locale)

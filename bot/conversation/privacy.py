"""Privacy commands: a user opts themself out of who knows whom (or of everything), back in, or asks where they
stand.

The opt-out is a ``user_opt_out`` row (:mod:`analytics.store.opt_outs`, which audits every change). Who-knows
answers read that table at every ask, so the reply can promise what the code does: at once, past mail included.
Only the asking user's own setting changes here; another user's opt-out is theirs to give, or an admin's to
record (``rapport users opt-out``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from analytics.store.opt_outs import EVERYTHING, WHO_KNOWS, OptOut
from bot.conversation.commands import Command, CommandContext, patterns
from bot.conversation.i18n import sentences, t
from bot.conversation.model import Lang, Principal, Reply
from bot.conversation.text import shorten
from graph_sync.timezones import zone_or_default

# What the bot writes and removes: who knows whom, or everything. Opting back in removes both, so "opt back in"
# always means "colleagues see me again", whichever way the user went out.
BOT_SCOPES = (WHO_KNOWS, EVERYTHING)

_WHO = r"(?:the )?(?:who[ -]knows(?:[ -]whom?| who)?|connections)(?: feature)?"
_PLEASE = r"(?:please,? )?"
_WANT = r"(?:i (?:want|would like|wish) to |i'd like to |let me |can i )?"
_ZH_WANT = r"(?:我要|我想|我希望|请|请帮我|帮我)?"
_ZH_WHO = r"[“\"「]?谁认识谁[”\"」]?(?:功能)?"


class OptOutPort(Protocol):
    """What the privacy commands need from the store (:class:`analytics.store.opt_outs.OptOuts`)."""

    def opt_out(self, tenant_id: str, user_id: str, scope: str, *, now: datetime, actor: str) -> bool:
        """Record the opt-out; False if the user already had it (or one covering it)."""
        ...

    def opt_in(self, tenant_id: str, user_id: str, scopes: Sequence[str], *, now: datetime,
               actor: str) -> tuple[str, ...]:
        """Remove these opt-outs; the scopes that were there."""
        ...

    def opt_outs_of(self, tenant_id: str, user_id: str) -> list[OptOut]:
        """The user's opt-outs."""
        ...


@dataclass
class PrivacyFeature:
    """``opt out`` / ``opt out of everything`` / ``opt back in`` / ``my privacy``, for the asking user only."""

    store: OptOutPort

    def commands(self) -> list[Command]:
        help_line = {"en": t("help_privacy", "en"), "zh": t("help_privacy", "zh")}
        return [
            # Everything first: "opt out" alone must not swallow "opt out of everything".
            Command("opt_out_all", {}, patterns(
                rf"{_PLEASE}{_WANT}opt (?:me )?out (?:of|from) "
                r"(?:everything|all(?: of it)?|all features|rapport)(?:,? please)?",
                rf"{_ZH_WANT}(?:退出所有|退出全部|全部退出|所有都退出)(?:功能)?",
            ), self._opt_out_all),
            Command("opt_out", {}, patterns(
                rf"{_PLEASE}{_WANT}opt (?:me )?out(?: (?:of|from) {_WHO})?(?:,? please)?",
                rf"{_PLEASE}(?:stop showing|hide|don'?t show|do not show) my connections(?: to (?:my )?"
                r"(?:others|colleagues))?(?:,? please)?",
                rf"{_ZH_WANT}退出(?:{_ZH_WHO})?",
                rf"{_ZH_WANT}(?:不要|停止)(?:再)?显示我的(?:联系|人脉)(?:人)?",
            ), self._opt_out),
            Command("opt_in", {}, patterns(
                rf"{_PLEASE}{_WANT}opt (?:me )?(?:back )?in(?: again)?(?: (?:to|for) (?:{_WHO}|everything|all|"
                r"rapport))?(?:,? please)?",
                rf"{_PLEASE}(?:start showing|show) my connections again(?:,? please)?",
                rf"{_ZH_WANT}重新加入(?:{_ZH_WHO})?",
                rf"{_ZH_WANT}(?:恢复|重新)显示我的(?:联系|人脉)(?:人)?",
            ), self._opt_in),
            # The help line (and the Teams command menu) offers the status first: it says where the user stands
            # and how to change it, so a click in the menu never opts anyone out.
            Command("privacy", help_line, patterns(
                r"(?:what (?:is|are) |show |show me )?(?:my )?privacy(?: settings?| status)?",
                r"am i opted (?:out|in)",
                r"(?:have|did) i opt(?:ed)? out",
                r"(?:查看)?(?:我的)?隐私(?:设置|状态)?",
                r"我(?:是否|有没有)退出(?:了)?(?:吗)?",
            ), self._status),
            # Someone else's setting ("opt out rob@contoso.com", "opt Rob out", "帮 Rob 退出") is not the asker's
            # to change: said so, rather than read as the asker's own opt-out or as a note.
            Command("opt_out_other", {}, patterns(
                r"opt (?!(?:me|myself)\b)(?P<who>.+?) (?:out|back in|in)(?: of .*)?",
                r"opt (?:out|back in|in) (?!(?:of|from|to|for|again)\b)(?P<who>.+)",
                r"(?:请)?(?:帮|替|让|把)(?!我)(?P<who>.+?)(?:退出|重新加入).*",
            ), self._someone_else),
            Command("opt_out_which", {}, patterns(r"opt (?:me )?out (?:of|from) (?P<what>.+)"), self._which),
        ]

    # --- commands --------------------------------------------------------------------------------------------

    async def _opt_out(self, ctx: CommandContext) -> Sequence[Reply]:
        return [Reply(text=await asyncio.to_thread(self._leave, ctx, WHO_KNOWS))]

    async def _opt_out_all(self, ctx: CommandContext) -> Sequence[Reply]:
        return [Reply(text=await asyncio.to_thread(self._leave, ctx, EVERYTHING))]

    async def _opt_in(self, ctx: CommandContext) -> Sequence[Reply]:
        p = ctx.principal
        removed = await asyncio.to_thread(self.store.opt_in, p.tenant_id, p.user_id, BOT_SCOPES, now=ctx.now,
                                          actor=actor_of(p))
        return [Reply(text=t("privacy_in_done" if removed else "privacy_in_already", ctx.lang))]

    async def _status(self, ctx: CommandContext) -> Sequence[Reply]:
        p = ctx.principal
        held = await asyncio.to_thread(self.store.opt_outs_of, p.tenant_id, p.user_id)
        widest = _widest(held)
        if widest is None:
            return [Reply(text=t("privacy_status_in", ctx.lang))]
        since = _day(widest.since, p, ctx.lang)
        key = "privacy_status_all" if widest.scope == EVERYTHING else "privacy_status_who"
        return [Reply(text=sentences([t(key, ctx.lang, since=since), t("privacy_still", ctx.lang),
                                      t("privacy_undo", ctx.lang)], ctx.lang))]

    async def _someone_else(self, ctx: CommandContext) -> Sequence[Reply]:
        who = shorten(ctx.args.get("who", "").strip(" “”\"「」"), 60)
        return [Reply(text=t("privacy_someone_else", ctx.lang, who=who))]

    async def _which(self, ctx: CommandContext) -> Sequence[Reply]:
        return [Reply(text=t("privacy_which", ctx.lang))]

    # --- in a store thread ----------------------------------------------------------------------------------

    def _leave(self, ctx: CommandContext, scope: str) -> str:
        """Record the opt-out, or say the user already has it (or a wider one), with what it means."""
        p, lang = ctx.principal, ctx.lang
        if self.store.opt_out(p.tenant_id, p.user_id, scope, now=ctx.now, actor=actor_of(p)):
            done = "privacy_done_all" if scope == EVERYTHING else "privacy_done_who"
            parts = [t(done, lang), t("privacy_effect", lang)]
            if scope == EVERYTHING:
                parts.append(t("privacy_all_covers", lang))
            return sentences([*parts, t("privacy_still", lang), t("privacy_undo", lang)], lang)
        held = _widest(self.store.opt_outs_of(p.tenant_id, p.user_id))  # already out: since when, and of what
        everything = held is not None and held.scope == EVERYTHING
        since = _day(held.since if held is not None else ctx.now, p, lang)
        return sentences([t("privacy_already_all" if everything else "privacy_already_who", lang, since=since),
                          t("privacy_undo", lang)], lang)


def actor_of(principal: Principal) -> str:
    """The audit actor of a change a user made for themself in Teams."""
    return f"teams:{principal.user_id}"


def _widest(held: Sequence[OptOut]) -> OptOut | None:
    """The opt-out that says most: everything over who knows whom (other scopes are not the bot's)."""
    for scope in (EVERYTHING, WHO_KNOWS):
        for o in held:
            if o.scope == scope:
                return o
    return None


def _day(at: datetime, principal: Principal, lang: Lang) -> str:
    """The date in the user's own time zone (an opt-out made at 07:00 in Shanghai is not "yesterday")."""
    day = at.astimezone(ZoneInfo(zone_or_default(principal.time_zone, "UTC"))).date()
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else day.isoformat()

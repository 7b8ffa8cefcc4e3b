"""The conversation logic: identity, flood control, command routing and card actions, free of SDK types.

The Teams layer (:mod:`bot.teams_sdk`) turns each activity into an :class:`Inbound` and sends back the
:class:`Reply` values this returns. Ports are synchronous (they hit the store); they run in worker threads so a
slow query never blocks other conversations.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from bot.cards import render
from bot.conversation import signing
from bot.conversation.commands import CommandContext, CommandTable
from bot.conversation.i18n import lang_of, t, tn
from bot.conversation.model import ActionResult, Inbound, Lang, Principal, Reply
from bot.conversation.ratelimit import RateLimiter
from bot.conversation.text import clean
from bot.errors import TamperedAction
from bot.ports import ConversationStore, Directory

log = logging.getLogger(__name__)
T = TypeVar("T")

ActionHandler = Callable[["ActionContext"], Awaitable[ActionResult]]
Runner = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What an ``Action.Execute`` handler receives: the verified signed arguments and the edited inputs."""

    principal: Principal
    lang: Lang
    args: dict[str, Any]
    inputs: dict[str, str]
    inbound: Inbound
    now: datetime
    sign: Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass
class ConversationService:
    """Handles inbound turns for one process (shared by every conversation)."""

    directory: Directory
    conversations: ConversationStore
    commands: CommandTable
    secret_key: bytes
    clock: Callable[[], datetime]
    monotonic: Callable[[], float]
    limiter: RateLimiter = field(default_factory=RateLimiter)
    actions: dict[str, ActionHandler] = field(default_factory=dict)
    run: Runner = asyncio.to_thread
    principal_ttl: float = 60.0
    _principals: dict[tuple[str, str], tuple[float, Principal | None]] = field(default_factory=dict)
    _saved: set[tuple[str, str]] = field(default_factory=set)

    # --- turns -------------------------------------------------------------------------------------------------

    async def on_install(self, inbound: Inbound) -> Sequence[Reply]:
        """The app was added to a conversation: remember it (for digests) and introduce ourselves."""
        lang = lang_of(inbound.locale)
        if inbound.conversation is not None and inbound.tenant_id:
            await self.run(self.conversations.save, inbound.conversation, at=self.clock())
            self._saved.add((inbound.tenant_id, inbound.conversation.conversation_id))
        if not inbound.tenant_id or not await self.run(self.directory.tenant_is_active, inbound.tenant_id):
            return [Reply(text=t("unknown_tenant", lang))]
        return [Reply(card=render.help_card(lang, self.commands.help_lines(lang)))]

    async def on_uninstall(self, inbound: Inbound) -> None:
        """The app was removed: forget the conversation so no digest goes there."""
        if inbound.conversation is not None and inbound.tenant_id:
            await self.run(self.conversations.remove, inbound.tenant_id, inbound.conversation.conversation_id)
            self._saved.discard((inbound.tenant_id, inbound.conversation.conversation_id))

    async def on_message(self, inbound: Inbound) -> Sequence[Reply]:
        """A user wrote to the bot."""
        lang = lang_of(inbound.locale)
        limited = self._flood_check(inbound)
        if limited is not None:
            return limited
        principal = await self._principal(inbound)
        if principal is None:
            return [Reply(text=t(await self._refusal(inbound), lang))]
        await self._remember(inbound)
        text = clean(inbound.text)
        found = self.commands.match(text)
        if found is None and self.commands.fallback is not None and text:
            found = self.commands.fallback, {}
        replies: list[Reply] = []
        if found is not None:
            command, args = found
            context = CommandContext(principal=principal, lang=lang, args=args, inbound=inbound, text=text,
                                     now=self.clock(), sign=self._signer(principal))
            replies = list(await command.handler(context))
        if not replies and (found is None or found[0] is self.commands.fallback):
            return [Reply(card=render.help_card(lang, self.commands.help_lines(lang)))]
        return replies

    async def on_action(self, inbound: Inbound) -> ActionResult:
        """A user pressed an ``Action.Execute`` button."""
        lang = lang_of(inbound.locale)
        limited = self._flood_check(inbound)
        if limited is not None:
            return ActionResult(error=limited[0].text if limited else "", status=429)
        principal = await self._principal(inbound)
        if principal is None:
            return ActionResult(error=t("unknown_user", lang), status=403)
        handler = self.actions.get(inbound.verb)
        if handler is None:
            return ActionResult(card=render.notice_card(t("action_unknown", lang), lang))
        try:
            args = signing.verify(self.secret_key, inbound.data, verb=inbound.verb,
                                  tenant_id=principal.tenant_id, user_id=principal.user_id)
        except TamperedAction as err:
            log.warning("rejected card action %s from %s/%s: %s", inbound.verb, principal.tenant_id,
                        principal.user_id, err.reason)
            return ActionResult(error=t("action_rejected", lang), status=403)
        context = ActionContext(principal=principal, lang=lang, args=args, inputs=signing.inputs(inbound.data),
                                inbound=inbound, now=self.clock(), sign=self._signer(principal))
        return await handler(context)

    # --- helpers -----------------------------------------------------------------------------------------------

    def _flood_check(self, inbound: Inbound) -> list[Reply] | None:
        key = f"{inbound.tenant_id}:{inbound.user_aad_id}"
        decision = self.limiter.check(key, self.monotonic())
        if decision.allowed:
            return None
        if not decision.notify:
            return []
        # Rounded up: a user who waits a rounded-down time is still over the limit and, warned once, gets silence.
        seconds = max(1, math.ceil(decision.retry_after))
        return [Reply(text=tn("rate_limited", lang_of(inbound.locale), seconds, seconds=seconds))]

    async def _refusal(self, inbound: Inbound) -> str:
        known = bool(inbound.tenant_id) and await self.run(self.directory.tenant_is_active, inbound.tenant_id)
        return "unknown_user" if known else "unknown_tenant"

    async def _principal(self, inbound: Inbound) -> Principal | None:
        """The caller, cached briefly; None for an unknown tenant or user (never another tenant's data)."""
        if not inbound.tenant_id or not inbound.user_aad_id:
            return None
        key = (inbound.tenant_id, inbound.user_aad_id)
        now = self.monotonic()
        cached = self._principals.get(key)
        if cached is not None and now - cached[0] < self.principal_ttl:
            return cached[1]
        principal: Principal | None = None
        if await self.run(self.directory.tenant_is_active, inbound.tenant_id):
            principal = await self.run(self.directory.principal, inbound.tenant_id, inbound.user_aad_id)
        if len(self._principals) > 50_000:
            self._principals.clear()
        self._principals[key] = (now, principal)
        return principal

    async def _remember(self, inbound: Inbound) -> None:
        # A message also proves the conversation exists (installs can be missed while the bot was down).
        conv = inbound.conversation
        if conv is None or not inbound.tenant_id or (inbound.tenant_id, conv.conversation_id) in self._saved:
            return
        await self.run(self.conversations.save, conv, at=self.clock())
        self._saved.add((inbound.tenant_id, conv.conversation_id))

    def _signer(self, principal: Principal) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
        def sign(verb: str, args: dict[str, Any], *, user_id: str | None = None) -> dict[str, Any]:
            return signing.sign(self.secret_key, verb=verb, tenant_id=principal.tenant_id,
                                user_id=user_id or principal.user_id, args=args)
        return sign

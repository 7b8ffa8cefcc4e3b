"""Sending the weekly digests: one card per manager to their personal chat, through the paced queue.

Building the cards is synchronous store work; sending is the :class:`~bot.digest.queue.SendQueue` (Teams'
per-conversation and per-tenant limits, retries of 429/412/502/504 with backoff).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.cards.digest import render_digest
from bot.conversation.i18n import lang_of
from bot.conversation.model import ConversationRecord, Principal, Reply
from bot.digest.content import DigestView, MemberRecords, TeamRecords, build_digest
from bot.digest.queue import Outcome, SendQueue
from bot.ports import ConversationStore, Predictions
from bot.web.chart_links import ChartLinks


class ManagerDirectory(Protocol):
    """Who gets a digest (:class:`bot.storage.StoreDirectory` implements it)."""

    def managers(self, tenant_id: str) -> list[str]:
        """User ids that have reports."""
        ...

    def principal(self, tenant_id: str, aad_object_id: str) -> Principal | None:
        """The user with their reporting chain."""
        ...


@dataclass
class DigestPlan:
    """What a run will send, and who was skipped because the bot cannot reach them."""

    jobs: list[tuple[ConversationRecord, Reply, DigestView]] = field(default_factory=list)
    unreachable: list[Principal] = field(default_factory=list)  # managers without a 1:1 chat with the bot
    # Every manager looked up, by (tenant, user id): the ledger's week depends on their zone, and looking them
    # up again (their reporting chain, a query per level) would double the run's directory work.
    managers: dict[tuple[str, str], Principal] = field(default_factory=dict)


def plan_digests(tenants: Sequence[str], *, directory: ManagerDirectory, conversations: ConversationStore,
                 relationships: TeamRecords, predictions: Predictions, charts: ChartLinks | None,
                 now: datetime) -> DigestPlan:
    """One digest card per manager who has installed the bot (their stored personal conversation)."""
    plan = DigestPlan()
    members = MemberRecords(relationships)
    for tenant in tenants:
        manager_ids = directory.managers(tenant)
        personal: dict[str, ConversationRecord] = {}
        for r in conversations.personal_for(tenant, manager_ids):  # one query per tenant, not per manager
            if r.user_aad_id is not None:
                personal.setdefault(r.user_aad_id, r)
        for manager_id in manager_ids:
            manager = directory.principal(tenant, manager_id)
            if manager is None:
                continue
            plan.managers[(tenant, manager_id)] = manager
            record = personal.get(manager_id)
            if record is None:
                plan.unreachable.append(manager)
                continue
            view = build_digest(manager, members, predictions, now)
            chart = charts.url("team", tenant, manager_id, now.timestamp()) if charts is not None else None
            reply = Reply(card=render_digest(view, lang_of(record.locale), chart))
            plan.jobs.append((record, reply, view))
    return plan


async def send_plan(plan: DigestPlan, queue: SendQueue) -> list[Outcome]:
    """Send every planned card through the paced, retrying queue."""
    return await queue.run([(record, reply) for record, reply, _ in plan.jobs])

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
from bot.digest.content import DigestView, build_digest
from bot.digest.queue import Outcome, SendQueue
from bot.ports import ConversationStore, Predictions, Relationships
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
    unreachable: list[tuple[str, str]] = field(default_factory=list)  # (tenant, manager) without a 1:1 chat


def plan_digests(tenants: Sequence[str], *, directory: ManagerDirectory, conversations: ConversationStore,
                 relationships: Relationships, predictions: Predictions, charts: ChartLinks | None,
                 now: datetime) -> DigestPlan:
    """One digest card per manager who has installed the bot (their stored personal conversation)."""
    plan = DigestPlan()
    for tenant in tenants:
        for manager_id in directory.managers(tenant):
            manager = directory.principal(tenant, manager_id)
            if manager is None:
                continue
            records = conversations.personal_for(tenant, [manager_id])
            if not records:
                plan.unreachable.append((tenant, manager_id))
                continue
            record = records[0]
            view = build_digest(manager, relationships, predictions, now)
            chart = charts.url("team", tenant, manager_id, now.timestamp()) if charts is not None else None
            reply = Reply(card=render_digest(view, lang_of(record.locale), chart))
            plan.jobs.append((record, reply, view))
    return plan


async def send_plan(plan: DigestPlan, queue: SendQueue) -> list[Outcome]:
    """Send every planned card through the paced, retrying queue."""
    return await queue.run([(record, reply) for record, reply, _ in plan.jobs])

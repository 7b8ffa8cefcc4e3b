"""``rapport digest send`` under the scheduler's once-per-week ledger.

A manual run and the resident scheduler (:mod:`bot.digest.scheduler`) share one ledger: the manager's *week* is
the date of their latest weekly slot in their zone (the scheduler's key), and a manual send claims that week's
next try in :class:`~bot.digest.scheduler.DigestLedger` before sending and records the outcome after, exactly
as the scheduler does. So a manager the scheduler (or an earlier manual run) already served this week is
skipped and named, and the scheduler does not send again what a manual run sent.

``force`` sends even when the ledger says no (sent, interrupted, or out of tries this week); a week with no
claim yet is still claimed first, so the scheduler will not repeat it. A forced re-send beyond the ledger's tries
leaves the ledger as it was (the week stays ``sent``/``failed``) and is logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.conversation.model import ConversationRecord, Principal, Reply
from bot.digest.content import DigestView
from bot.digest.queue import Outcome, SendQueue
from bot.digest.scheduler import MAX_TRIES, DigestLedger, Slot
from bot.digest.send import DigestPlan, ManagerDirectory

log = logging.getLogger(__name__)


def week_of(slot: Slot, manager: Principal | None, now: datetime) -> str:
    """The ledger's week of ``manager`` at ``now``: the local date of their latest slot (as the scheduler keys it)."""
    tz = slot.zone(manager) if manager is not None else slot.default_tz
    return slot.latest(now, tz).astimezone(ZoneInfo(tz)).date().isoformat()


@dataclass(frozen=True)
class Pending:
    """One planned digest with its ledger week and what the ledger said about that week before this run."""

    record: ConversationRecord
    reply: Reply
    view: DigestView
    week: str
    prior: str | None  # None (not claimed), "sending", "sent" or "failed"
    tries: int  # claimed tries of this week so far

    @property
    def refused(self) -> str | None:
        """Why the ledger would not let this week's digest go out now (None: it would)."""
        if self.prior is None or (self.prior == "failed" and self.tries < MAX_TRIES):
            return None
        return skip_reason(self.prior, self.tries)

    @property
    def tenant_id(self) -> str:
        return self.record.tenant_id

    @property
    def manager_id(self) -> str:
        return self.view.manager_id


def review(plan: DigestPlan, *, slot: Slot, ledger: DigestLedger, directory: ManagerDirectory,
           now: datetime) -> list[Pending]:
    """Each planned digest with its week and the ledger's status of that week (reads only)."""
    pending = []
    for record, reply, view in plan.jobs:
        tenant_id, manager_id = record.tenant_id, view.manager_id
        manager = plan.managers.get((tenant_id, manager_id)) or directory.principal(tenant_id, manager_id)
        week = week_of(slot, manager, now)
        pending.append(Pending(record, reply, view, week, ledger.status(tenant_id, manager_id, week),
                               ledger.tries(tenant_id, manager_id, week)))
    return pending


def skip_reason(status: str | None, tries: int) -> str:
    """Why the ledger refuses this week's digest (``status`` as :meth:`DigestLedger.status` says)."""
    if status == "sent":
        return "already sent this week"
    if status == "sending":
        return "a send was interrupted this week and may have arrived"
    if status == "failed" and tries >= MAX_TRIES:
        return f"failed {tries} times this week"
    return "being sent by another process"


@dataclass(frozen=True)
class Result:
    """What a manual run did for one manager: ``outcome`` is None when skipped (``reason`` says why)."""

    pending: Pending
    outcome: Outcome | None
    reason: str | None = None
    forced: bool = False


async def send_reviewed(pending: list[Pending], *, ledger: DigestLedger, queue: SendQueue,
                        clock: Callable[[], datetime], force: bool = False) -> list[Result]:
    """Claim, send and record each digest in turn (a crash leaves at most the current one ``sending``)."""
    results: list[Result] = []
    for p in pending:
        claimed = await asyncio.to_thread(ledger.claim, p.tenant_id, p.manager_id, p.week, clock())
        if not claimed:
            tries = await asyncio.to_thread(ledger.tries, p.tenant_id, p.manager_id, p.week)
            status = await asyncio.to_thread(ledger.status, p.tenant_id, p.manager_id, p.week)
            reason = skip_reason(status, tries)
            if not force:
                results.append(Result(p, None, reason))
                continue
            log.warning("digest for %s/%s (week %s) sent again by --force: %s", p.tenant_id, p.manager_id,
                        p.week, reason)
        [outcome] = await queue.run([(p.record, p.reply)])
        if claimed:
            await asyncio.to_thread(ledger.finish, p.tenant_id, p.manager_id, p.week, outcome, clock())
        results.append(Result(p, outcome, None if claimed else reason, forced=not claimed))
    return results

"""Where ``rapport digest send`` spent its time (profiled on the small demo): importing scikit-learn, SciPy and the
Bot Framework SDK it does not use for a dry run, and reading a member's records once for every digest above them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.conversation.model import ConversationRecord, Principal
from bot.digest.send import plan_digests
from tests.bot.fakes import NOW, TENANT, FakeConversations, FakeRelationships, principal
from tests.bot.test_digest import FakePredictions

ROOT = Path(__file__).resolve().parents[2]


def test_the_digest_command_loads_neither_scikit_learn_nor_the_bot_framework() -> None:
    probe = ("import sys, bot.digest.cli; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'botbuilder'}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip() == "[]"


@dataclass
class Chain:
    """Dan ← Mia ← Rob: a director, a manager and a rep; both bosses have the bot."""

    users: dict[str, Principal] = field(default_factory=lambda: {
        "u-dan": principal("u-dan", "Dan", ["u-mia", "u-rob"]), "u-mia": principal("u-mia", "Mia", ["u-rob"]),
        "u-rob": principal("u-rob", "Rob")})

    def managers(self, tenant_id: str) -> list[str]:
        return ["u-dan", "u-mia"]

    def principal(self, tenant_id: str, aad_object_id: str) -> Principal | None:
        return self.users.get(aad_object_id)


@dataclass
class CountingConversations(FakeConversations):
    lookups: list[tuple[str, ...]] = field(default_factory=list)

    def personal_for(self, tenant_id: str, user_aad_ids: Sequence[str]) -> list[ConversationRecord]:
        self.lookups.append(tuple(user_aad_ids))
        return super().personal_for(tenant_id, user_aad_ids)


def test_each_members_records_are_read_once_a_run_and_conversations_once_a_tenant() -> None:
    conversations = CountingConversations()
    for user in ("u-dan", "u-mia"):
        conversations.save(ConversationRecord(TENANT, f"a:{user}", "https://smba.example", user_aad_id=user),
                           at=NOW)
    relationships = FakeRelationships()
    plan = plan_digests([TENANT], directory=Chain(), conversations=conversations, relationships=relationships,
                        predictions=FakePredictions(), charts=None, now=NOW)
    assert [view.manager_name for _, _, view in plan.jobs] == ["Dan", "Mia"]
    # Mia and Rob are in both digests; their records (dozens of queries each on the store) are read once.
    assert sorted(relationships.calls) == [("mine", "u-dan"), ("mine", "u-mia"), ("mine", "u-rob")]
    assert conversations.lookups == [("u-dan", "u-mia")]
    assert set(plan.managers) == {(TENANT, "u-dan"), (TENANT, "u-mia")}  # review reuses them

"""Fixtures: one small synthetic tenant per test session (generating it takes about a second)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from graph_sync.emulator.generator import GenerationReport, generate_tenant

SEED = 7


@pytest.fixture(scope="session")
def small_generation(tmp_path_factory: pytest.TempPathFactory) -> GenerationReport:
    return generate_tenant(tmp_path_factory.mktemp("small-tenant"), seed=SEED, size="small")


@pytest.fixture(scope="session")
def small_tenant(small_generation: GenerationReport) -> Path:
    return small_generation.out_dir


@pytest.fixture(scope="session")
def truth(small_tenant: Path) -> dict[str, Any]:
    return json.loads((small_tenant / "ground_truth.json").read_text(encoding="utf-8"))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def unique_mail(tenant: Path, user_ids: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Every message of these mailboxes once: a message both sides hold counts once (by internetMessageId)."""
    seen: set[str] = set()
    for user_id in user_ids:
        for m in read_jsonl(tenant / "mail" / f"{user_id}.jsonl"):
            if m["internetMessageId"] not in seen:
                seen.add(m["internetMessageId"])
                yield m

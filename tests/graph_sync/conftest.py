"""Fixtures for the sync tests: the generator's small tenant, generated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from graph_sync.emulator.generator import generate_tenant

    out = tmp_path_factory.mktemp("small-tenant")
    generate_tenant(out, seed=7, size="small")
    return out


@pytest.fixture(scope="session")
def trimmed_tenant(small_tenant: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small tenant with mail and events kept for three mailboxes only (fast incremental tests)."""
    import shutil

    out = tmp_path_factory.mktemp("trimmed-tenant") / "t"
    shutil.copytree(small_tenant, out)
    keep = sorted(p.stem for p in (out / "mail").glob("*.jsonl") if p.stat().st_size > 0)[:3]
    for sub in ("mail", "events"):
        for p in (out / sub).glob("*.jsonl"):
            if p.stem not in keep:
                p.write_text("", encoding="utf-8")
    return out

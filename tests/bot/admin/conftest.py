"""Fixtures for the consent tests: the generator's small tenant (once per session) and its emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph_sync.emulator import EmulatorState

CLIENT_ID, CLIENT_SECRET = "rapport-consent-app", "rapport-consent-secret"


@pytest.fixture(scope="session")
def small_tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from graph_sync.emulator.generator import generate_tenant

    out = tmp_path_factory.mktemp("consent-tenant")
    generate_tenant(out, seed=7, size="small")
    return out


@pytest.fixture
def emulator(small_tenant: Path) -> EmulatorState:
    state = EmulatorState.from_directory(small_tenant)
    state.register_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    return state

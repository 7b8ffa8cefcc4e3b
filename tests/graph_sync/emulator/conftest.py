"""Fixtures: a tiny tenant directory, an emulator state over it with a fake clock, and a registered app."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph_sync.emulator import EmulatorConfig, EmulatorState
from tests.graph_sync.emulator.tenant_factory import write_tenant


class FakeClock:
    """A settable clock: tests move time by hand."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def tenant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tenant(tmp_path_factory.mktemp("tenant"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(tenant_dir: Path, clock: FakeClock) -> EmulatorState:
    return EmulatorState.from_directory(tenant_dir, EmulatorConfig(clock=clock, retry_after_s=2))

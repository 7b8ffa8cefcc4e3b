"""Tunable behaviour of the emulator: limits, latency, and the injected clock, sleep and randomness."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
"""Returns the current time as epoch seconds."""

Sleep = Callable[[float], Awaitable[None]]
"""Waits the given number of seconds."""


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator throttles, delays and identifies itself.

    Graph's Outlook limits are 4 concurrent requests and 10,000 requests per 10 minutes per app per mailbox;
    those are the defaults.
    """

    mailbox_concurrency: int = 4
    mailbox_budget: int = 10_000
    budget_window_s: float = 600.0
    retry_after_s: int = 1
    latency_s: float = 0.0
    token_lifetime_s: int = 3599
    default_page_size: int = 10
    max_page_size: int = 1000
    request_log_size: int = 10_000
    seed: int = 0
    custom_folders: bool = False  # file a deterministic share of each mailbox's mail in custom/skipped folders
    clock: Clock = field(default=time.time)
    sleep: Sleep = field(default=asyncio.sleep)

"""Log a failure once and its recovery once, not every retry (the Home Assistant coordinator pattern)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field


@dataclass
class FailureLog:
    """Remembers which keys (tenant/mailbox/resource) are failing so repeats stay quiet."""

    logger: logging.Logger
    _failing: dict[str, str] = field(default_factory=dict)

    def failed(self, key: str, error: BaseException | str, **context: object) -> bool:
        """Record a failure of ``key``; logs (and returns True) only for the first of a run of failures."""
        text = str(error)
        if key in self._failing:
            self.logger.debug("still failing %s: %s", key, text)
            return False
        self._failing[key] = text
        self.logger.warning("sync failed %s: %s %s", key, text, _fmt(context))
        return True

    def succeeded(self, key: str) -> bool:
        """Record a success of ``key``; logs (and returns True) only if it was failing."""
        if self._failing.pop(key, None) is None:
            return False
        self.logger.info("sync recovered %s", key)
        return True

    def is_failing(self, key: str) -> bool:
        return key in self._failing


def _fmt(context: dict[str, object]) -> str:
    return " ".join(f"{k}={v}" for k, v in context.items())

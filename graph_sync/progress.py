"""Progress reporting: Rich bars on a terminal, one structured log line per mailbox otherwise."""

from __future__ import annotations

import logging
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

log = logging.getLogger("graph_sync.progress")


class ProgressSink(Protocol):
    """What the worker reports as it goes."""

    def start(self, tenant_id: str, mailboxes: int) -> None: ...

    def items(self, kind: str, n: int) -> None: ...

    def mailbox_done(self, tenant_id: str, mailbox_id: str, summary: str) -> None: ...

    def close(self) -> None: ...


class LogProgress:
    """Structured ``key=value`` log lines (for services and pipes)."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self._log = logger

    def start(self, tenant_id: str, mailboxes: int) -> None:
        self._log.info("sync pass tenant=%s mailboxes=%d", tenant_id, mailboxes)

    def items(self, kind: str, n: int) -> None:
        pass

    def mailbox_done(self, tenant_id: str, mailbox_id: str, summary: str) -> None:
        self._log.info("mailbox synced tenant=%s mailbox=%s %s", tenant_id, mailbox_id, summary)

    def close(self) -> None:
        pass


class RichProgress:
    """Three bars: mailboxes (of the pass), messages and events (counts so far)."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=console, transient=False)
        self._progress.start()
        self._mailboxes: TaskID = self._progress.add_task("mailboxes", total=0)
        self._messages: TaskID = self._progress.add_task("messages", total=None)
        self._events: TaskID = self._progress.add_task("events", total=None)

    def start(self, tenant_id: str, mailboxes: int) -> None:
        task = self._progress.tasks[self._mailboxes]
        self._progress.update(self._mailboxes, total=(task.total or 0) + mailboxes)

    def items(self, kind: str, n: int) -> None:
        self._progress.advance(self._events if kind == "events" else self._messages, n)

    def mailbox_done(self, tenant_id: str, mailbox_id: str, summary: str) -> None:
        self._progress.advance(self._mailboxes, 1)

    def close(self) -> None:
        self._progress.stop()

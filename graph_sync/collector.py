"""The cyclic garbage collector while a sync worker runs: what it scans, and how often.

A pass allocates a parsed JSON page (dicts and lists), records and rows for every item, so the collector's
youngest generation fills every 700 allocations and each collection traverses what the page still holds; about
once a pass a full collection also walks every object the process has, ~130k of them before the first request
(msgraph-sdk's and kiota's modules, classes and functions). Measured in ``bench_sync`` (thread CPU inside the
pass): 0.35-0.45 s of collection per pass in items [1] and [3], 10-15 % of [1]'s CPU.

While a worker runs, :func:`worker_started` moves the objects that exist at its start into the collector's
permanent generation (``gc.freeze``: start-up objects live as long as the process; objects freed by reference
counting are still freed) and collects the youngest generation every 20,000 net allocations instead of 700.
:func:`worker_stopped` (the last running worker) restores the thresholds and unfreezes, so a process that runs
workers one after another (tests, the benchmark) keeps nothing frozen.
"""

from __future__ import annotations

import gc
import threading

YOUNG_THRESHOLD = 20_000

_lock = threading.Lock()
_running = 0
_saved: tuple[int, int, int] | None = None


def worker_started() -> None:
    global _running, _saved
    with _lock:
        _running += 1
        if _running > 1:
            return
        _saved = gc.get_threshold()
        gc.freeze()
        young, middle, old = _saved
        gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)


def worker_stopped() -> None:
    global _running, _saved
    with _lock:
        if _running == 0:
            return
        _running -= 1
        if _running > 0 or _saved is None:
            return
        gc.set_threshold(*_saved)
        _saved = None
        gc.unfreeze()

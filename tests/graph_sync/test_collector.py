"""While workers run, start-up objects are frozen and young collections are rarer; the last worker to stop
restores the collector as it found it."""

from __future__ import annotations

import gc

from graph_sync import collector


def test_the_last_worker_to_stop_restores_the_collector() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    collector.worker_started()
    try:
        assert gc.get_threshold()[0] == max(before[0], collector.YOUNG_THRESHOLD)
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > 0
        collector.worker_started()  # a second worker in the same process
        collector.worker_stopped()
        assert gc.get_threshold()[0] == max(before[0], collector.YOUNG_THRESHOLD)  # one still runs
        assert gc.get_freeze_count() > 0
    finally:
        collector.worker_stopped()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    collector.worker_stopped()  # an extra stop changes nothing
    assert gc.get_threshold() == before

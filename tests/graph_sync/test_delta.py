"""Delta paging state machine on hand-written Graph pages."""

from __future__ import annotations

import pytest

from graph_sync.delta import DeltaState, apply_page, expired_state_error
from graph_sync.errors import BadPage

INITIAL = "https://graph.microsoft.com/v1.0/users/u1/mailFolders/inbox/messages/delta()?$select=id"
NEXT = "https://graph.microsoft.com/v1.0/users/u1/mailFolders/inbox/messages/delta?$skiptoken=a%3D%3D"
DELTA = "https://graph.microsoft.com/v1.0/users/u1/mailFolders/inbox/messages/delta?$deltatoken=b"


def test_round_follows_next_links_then_stores_the_whole_delta_link() -> None:
    s0 = DeltaState(INITIAL)
    assert s0.url == INITIAL
    s1, c1 = apply_page(s0, {"value": [{"id": "m1"}, {"id": "m2"}], "@odata.nextLink": NEXT})
    assert (s1.url, c1.done, [i["id"] for i in c1.upserts]) == (NEXT, False, ["m1", "m2"])
    s2, c2 = apply_page(s1, {"value": [], "@odata.deltaLink": DELTA})
    assert (s2.next_link, s2.delta_link, s2.url, c2.done) == (None, DELTA, DELTA, True)


def test_empty_page_with_next_link_is_not_the_end() -> None:
    s, c = apply_page(DeltaState(INITIAL), {"value": [], "@odata.nextLink": NEXT})
    assert not c.done and s.url == NEXT


def test_removed_items_and_last_mention_wins() -> None:
    page = {"value": [
        {"id": "a", "subject": "x"},
        {"id": "b", "@removed": {"reason": "deleted"}},
        {"id": "a", "@removed": {"reason": "changed"}},
        {"id": "c"}, {"id": "c", "subject": "newer"},
    ], "@odata.deltaLink": DELTA}
    _, c = apply_page(DeltaState(INITIAL), page)
    assert c.removed == ("b", "a")
    assert [dict(i) for i in c.upserts] == [{"id": "c", "subject": "newer"}]


def test_items_without_ids_are_reported_not_fatal() -> None:
    _, c = apply_page(DeltaState(INITIAL), {"value": [1, {"subject": "no id"}, {"id": ""}, {"id": "ok"}],
                                            "@odata.deltaLink": DELTA})
    assert [b.index for b in c.bad] == [0, 1, 2]
    assert [i["id"] for i in c.upserts] == ["ok"]


@pytest.mark.parametrize("page", [
    [], "x", {"value": {}}, {"value": []}, {"value": [], "@odata.nextLink": 3},
])
def test_malformed_pages_raise_bad_page(page: object) -> None:
    with pytest.raises(BadPage):
        apply_page(DeltaState(INITIAL), page, url=INITIAL)


def test_listing_ends_without_any_link() -> None:
    s, c = apply_page(DeltaState(INITIAL, full=True), {"value": [{"id": "e"}]}, listing=True)
    assert c.done and s.delta_link is None and s.url == INITIAL


def test_restart_forgets_links_and_marks_a_full_enumeration() -> None:
    s = DeltaState(INITIAL, NEXT, DELTA).restart(full=True)
    assert (s.url, s.full) == (INITIAL, True)
    _, done = apply_page(s, {"value": [], "@odata.deltaLink": DELTA})
    assert done.done


@pytest.mark.parametrize(("status", "code", "expired"), [
    (410, "", True), (400, "syncStateNotFound", True), (400, "resyncRequired", True), (400, "BadRequest", False),
    (503, "", False),
])
def test_expired_sync_state_detection(status: int, code: str, expired: bool) -> None:
    assert expired_state_error(status, code) is expired

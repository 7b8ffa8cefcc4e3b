"""Delta paging as a pure state machine: ``apply_page(state, page) -> (state, changes)``.

A delta *round* starts at an initial URL (or a stored delta link), follows ``@odata.nextLink`` pages and ends
at the page that carries ``@odata.deltaLink``. Rules that PLATFORM.md and Graph's docs impose, enforced here:

* a page may be empty while more pages follow (so "no items" never means "done");
* the whole next/delta link URL is stored and replayed unchanged;
* an item with ``@removed`` is a deletion (or a move out of the folder);
* within one page the last mention of an id wins (an item changed, then removed, is removed).

The I/O loop fetches the page at :meth:`DeltaState.url`, calls :func:`apply_page`, then commits the changes
and the new state in one transaction. A state whose ``full`` flag is set is a full enumeration after an
expired token: the loop collects every id it sees and, at the delta link, removes what was not seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from graph_sync.errors import BadPage


@dataclass(frozen=True, slots=True)
class DeltaState:
    """Where a resource's delta paging stands."""

    initial_url: str
    next_link: str | None = None
    delta_link: str | None = None
    full: bool = False  # a resync: sweep unseen sightings when the round completes

    @property
    def url(self) -> str:
        """The URL to fetch next: resume inside a round, else the stored delta link, else start over."""
        return self.next_link or self.delta_link or self.initial_url

    def restart(self, *, full: bool) -> DeltaState:
        """Forget every link (the token expired, or a resync must see the whole collection again)."""
        return replace(self, next_link=None, delta_link=None, full=full)


@dataclass(frozen=True, slots=True)
class BadItem:
    """An entry of ``value`` that cannot be used at all (not an object, no id)."""

    index: int
    reason: str
    raw: object


@dataclass(frozen=True, slots=True)
class PageChanges:
    """What one page says: items to upsert (raw JSON objects), ids removed, and whether the round ended."""

    upserts: tuple[Mapping[str, Any], ...]
    removed: tuple[str, ...]
    bad: tuple[BadItem, ...]
    done: bool


def apply_page(
    state: DeltaState, page: object, *, url: str = "", listing: bool = False
) -> tuple[DeltaState, PageChanges]:
    """Fold one page into the state. Raises :class:`BadPage` if ``page`` is not a collection page.

    ``listing`` is for plain (non-delta) collections, such as ``calendarView`` range polling: there the last
    page is the one without a next link, and no delta link exists.
    """
    if not isinstance(page, Mapping):
        raise BadPage(url, f"expected a JSON object, got {type(page).__name__}")
    items = page.get("value", [])
    if not isinstance(items, list):
        raise BadPage(url, "'value' is not an array")
    next_link = page.get("@odata.nextLink")
    delta_link = page.get("@odata.deltaLink")
    if next_link is not None and not isinstance(next_link, str):
        raise BadPage(url, "'@odata.nextLink' is not a string")
    if delta_link is not None and not isinstance(delta_link, str):
        raise BadPage(url, "'@odata.deltaLink' is not a string")
    if not next_link and not delta_link and not listing:
        raise BadPage(url, "page has neither @odata.nextLink nor @odata.deltaLink")

    final: dict[str, Mapping[str, Any] | None] = {}  # id -> item, or None for removed; insertion-ordered
    bad: list[BadItem] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            bad.append(BadItem(index, f"item is a {type(item).__name__}, not an object", item))
            continue
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            bad.append(BadItem(index, "item has no string id", item))
            continue
        final.pop(item_id, None)  # re-insert so the order follows the last mention
        final[item_id] = None if "@removed" in item else item

    upserts = tuple(v for v in final.values() if v is not None)
    removed = tuple(k for k, v in final.items() if v is None)
    if next_link:
        new_state = replace(state, next_link=next_link)
        return new_state, PageChanges(upserts, removed, tuple(bad), done=False)
    new_state = replace(state, next_link=None, delta_link=delta_link or None, full=False)
    return new_state, PageChanges(upserts, removed, tuple(bad), done=True)


def expired_state_error(status: int, code: str) -> bool:
    """Whether an error answer means the delta token expired and a full resync is needed."""
    return status == 410 or code in ("syncStateNotFound", "resyncRequired", "SyncStateNotFound")

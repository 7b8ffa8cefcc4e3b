"""A mailbox's messages or a calendar's events: current items, a per-folder order, and the change log.

Every change appends ``(item id, folders touched, time spans touched)`` to ``log``; a delta token is a
position in that log. Each folder keeps an append-only list of ids in arrival order, so an offset into it stays
valid while items are deleted or moved during a paged initial sync (stale slots are skipped, not shifted).
Items keep their serialised JSON per ``($select, id form)`` so a page is a join of cached bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graph_sync.emulator.errors import UnknownItem

Span = tuple[float, float]
RenderKey = tuple[tuple[str, ...] | None, bool]


class Item:
    """One message or event: its Graph JSON, where it lives, and its cached encodings."""

    __slots__ = ("cache", "data", "folder", "id", "pos", "span", "version")

    def __init__(self, item_id: str, data: dict[str, Any], folder: str, pos: int, span: Span | None) -> None:
        self.id = item_id
        self.data = data
        self.folder = folder
        self.pos = pos
        self.span = span
        self.version = 1
        self.cache: dict[RenderKey, bytes] = {}


Renderer = Callable[[Item, tuple[str, ...] | None, bool], dict[str, Any]]


@dataclass
class ItemStore:
    """The items of one mailbox collection (messages, or events) with their change log."""

    kind: str
    render: Renderer
    items: dict[str, Item] = field(default_factory=dict)
    order: dict[str, list[str]] = field(default_factory=dict)
    log: list[tuple[str, tuple[str, ...], tuple[Span, ...]]] = field(default_factory=list)
    generation: int = 0

    def encoded(self, item: Item, select: tuple[str, ...] | None, immutable: bool) -> bytes:
        """The item's JSON for this projection, built once and reused until the item changes."""
        key = (select, immutable)
        body = item.cache.get(key)
        if body is None:
            body = json.dumps(self.render(item, select, immutable), separators=(",", ":")).encode()
            item.cache[key] = body
        return body

    def live_at(self, folder: str, index: int) -> Item | None:
        """The item occupying slot ``index`` of ``folder``'s order, or None when that slot went stale."""
        item = self.items.get(self.order[folder][index])
        if item is None or item.folder != folder or item.pos != index:
            return None
        return item

    def get(self, item_id: str) -> Item:
        """The item, or ``UnknownItem``."""
        try:
            return self.items[item_id]
        except KeyError as err:
            raise UnknownItem(self.kind, item_id) from err

    def add(self, item_id: str, data: dict[str, Any], folder: str, span: Span | None = None,
            logged: bool = True) -> Item:
        """Store a new item (``logged=False`` while loading the initial tenant: it predates every token)."""
        if item_id in self.items:
            raise ValueError(f"duplicate {self.kind} id {item_id}")
        slots = self.order.setdefault(folder, [])
        item = Item(item_id, data, folder, len(slots), span)
        slots.append(item_id)
        self.items[item_id] = item
        if logged:
            self.log.append((item_id, (folder,), (span,) if span else ()))
        return item

    def update(self, item_id: str, patch: dict[str, Any], span: Span | None = None) -> Item:
        """Change properties of an item; ``span`` is its new time span for events."""
        item = self.get(item_id)
        old_span = item.span
        item.data.update(patch)
        if span is not None:
            item.span = span
        self._touch(item)
        self.log.append((item_id, (item.folder,), tuple(s for s in (old_span, item.span) if s)))
        return item

    def move(self, item_id: str, folder: str) -> Item:
        """Move an item to another folder: it leaves the old folder's delta and enters the new one's."""
        item = self.get(item_id)
        old = item.folder
        slots = self.order.setdefault(folder, [])
        item.folder, item.pos = folder, len(slots)
        slots.append(item_id)
        self._touch(item)
        self.log.append((item_id, (old, folder), ()))
        return item

    def delete(self, item_id: str) -> Item:
        """Remove an item; the next delta round reports it as ``@removed``."""
        item = self.get(item_id)
        del self.items[item_id]
        self.log.append((item_id, (item.folder,), (item.span,) if item.span else ()))
        return item

    def changed_ids(self, folder: str, start: int, end: int, window: Span | None) -> list[str]:
        """Ids changed in ``log[start:end]`` that touch ``folder`` (and ``window``), first change first."""
        seen: dict[str, None] = {}
        for item_id, folders, spans in self.log[start:end]:
            if folder not in folders:
                continue
            if window is not None and spans and not any(overlaps(s, window) for s in spans):
                continue
            seen[item_id] = None
        return list(seen)

    @staticmethod
    def _touch(item: Item) -> None:
        item.version += 1
        item.cache.clear()


def overlaps(span: Span, window: Span) -> bool:
    """Whether an event's [start, end) meets a calendarView window (Graph's rule: start < window end and
    end > window start; a zero-length event at the window start counts)."""
    return span[0] < window[1] and (span[1] > window[0] or span[0] == span[1] == window[0])

"""Delta paging, sans-IO: opaque tokens that encode a position in a mailbox's change log, and the page an
item store yields for a position.

A round starts without a token: it pages through the folder's items as of the round's start (``x`` slots of the
folder order, log length ``e``), then hands out a delta link for log position ``e``. A later round replays
``log[s:e]`` (deduplicated, each item in its current state or as ``@removed``) and ends at the new log end.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, replace

from graph_sync.emulator.errors import GraphError
from graph_sync.emulator.items import Item, ItemStore, Span, overlaps
from graph_sync.emulator.render import rest_message_id


@dataclass(frozen=True)
class DeltaPosition:
    """Where a delta round is: user ``u``, folder ``f``, store generation ``g``, kind ``k`` (``i`` initial,
    ``c`` changes), log start ``s`` and end ``e``, offset ``o``, initial snapshot size ``x``, ``$select``,
    page size ``n`` and calendar window ``w``."""

    u: str
    f: str
    g: int
    k: str
    s: int = 0
    e: int | None = None
    o: int = 0
    x: int = 0
    sel: tuple[str, ...] | None = None
    n: int | None = None
    w: Span | None = None


def encode_token(pos: DeltaPosition) -> str:
    """An opaque, URL-safe token for ``pos``."""
    raw = json.dumps(asdict(pos), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> DeltaPosition:
    """The position a token encodes, or Graph's 400 for a token this emulator did not make."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        sel = tuple(raw.pop("sel")) if raw.get("sel") is not None else None
        window = tuple(raw.pop("w")) if raw.get("w") is not None else None
        return DeltaPosition(**{k: v for k, v in raw.items() if k not in ("sel", "w")}, sel=sel,
                             w=window)
    except (ValueError, TypeError, KeyError) as err:
        raise GraphError(400, "BadRequest", "The delta or skip token is invalid.") from err


@dataclass(frozen=True)
class DeltaPage:
    """One page: item bodies, and either the position of the next page or of the next round."""

    items: list[bytes]
    next: DeltaPosition | None
    delta: DeltaPosition | None


def visible(item: Item, window: Span | None) -> bool:
    """Whether an item belongs to a delta over ``window`` (series masters never appear in a calendar view)."""
    if window is None:
        return True
    return item.span is not None and overlaps(item.span, window) and item.data.get("type") != "seriesMaster"


def delta_page(store: ItemStore, pos: DeltaPosition, page_size: int, immutable: bool) -> DeltaPage:
    """The page at ``pos``: an initial-sync slice of the folder, or a slice of the replayed changes."""
    if pos.g != store.generation:
        raise GraphError(410, "syncStateNotFound",
                         "The sync state generation is not found or has expired. Please resync.")
    if pos.k == "i":
        return _initial_page(store, pos, page_size, immutable)
    return _changes_page(store, pos, page_size, immutable)


def _initial_page(store: ItemStore, pos: DeltaPosition, page_size: int, immutable: bool) -> DeltaPage:
    slots = store.order.get(pos.f, [])
    end = len(store.log) if pos.e is None else pos.e
    limit = len(slots) if pos.e is None else pos.x
    out: list[bytes] = []
    index = pos.o
    while index < limit and len(out) < page_size:
        item = store.live_at(pos.f, index)
        if item is not None and visible(item, pos.w):
            out.append(store.encoded(item, pos.sel, immutable))
        index += 1
    if index >= limit:
        return DeltaPage(out, None, replace(pos, k="c", s=end, e=None, o=0, x=0))
    return DeltaPage(out, replace(pos, e=end, x=limit, o=index), None)


def _changes_page(store: ItemStore, pos: DeltaPosition, page_size: int, immutable: bool) -> DeltaPage:
    end = len(store.log) if pos.e is None else pos.e
    changed = store.changed_ids(pos.f, pos.s, end, pos.w)
    out: list[bytes] = []
    for item_id in changed[pos.o:pos.o + page_size]:
        item = store.items.get(item_id)
        if item is not None and item.folder == pos.f and visible(item, pos.w):
            out.append(store.encoded(item, pos.sel, immutable))
        else:
            out.append(_removed(store.kind, item_id, pos.f, immutable))
    following = pos.o + page_size
    if following >= len(changed):
        return DeltaPage(out, None, replace(pos, s=end, e=None, o=0))
    return DeltaPage(out, replace(pos, e=end, o=following), None)


def _removed(kind: str, item_id: str, folder: str, immutable: bool) -> bytes:
    shown = item_id
    if kind == "message" and not immutable:
        shown = rest_message_id(Item(item_id, {}, folder, 0, None))
    return json.dumps({"@odata.type": f"#microsoft.graph.{kind}", "id": shown,
                       "@removed": {"reason": "deleted"}}, separators=(",", ":")).encode()

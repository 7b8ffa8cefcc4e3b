"""Mail folders, message listing and delta, calendar view and calendar delta."""

from __future__ import annotations

import json
from urllib.parse import quote

from graph_sync.emulator.context import Ctx, link
from graph_sync.emulator.delta import DeltaPosition, decode_token, delta_page, encode_token, visible
from graph_sync.emulator.errors import GraphError
from graph_sync.emulator.folders import ROOT
from graph_sync.emulator.items import ItemStore, Span
from graph_sync.emulator.render import EVENT_PROPERTIES, MESSAGE_PROPERTIES
from graph_sync.emulator.tenant import parse_graph_datetime
from graph_sync.emulator.wire import EmulatorResponse, json_response, parse_select, parse_top

DEFAULT_PAGE = 10


def _page_size(ctx: Ctx, saved: int | None) -> tuple[int, bool]:
    """Page size from ``Prefer: odata.maxpagesize`` (sent on every request), else ``$top``, else the token's."""
    cap = ctx.state.config.max_page_size
    if ctx.prefs.max_page_size:
        return min(ctx.prefs.max_page_size, cap), True
    top = parse_top(ctx.request, cap)
    return (top or saved or DEFAULT_PAGE), False


def _folder_name(ctx: Ctx) -> str:
    name = ctx.box().folder(ctx.params["folder"])
    if name is None:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return name


def _folder_json(ctx: Ctx, key: str) -> dict[str, object]:
    box = ctx.box()
    folder = box.tree.folders[key]
    items = [i for i in box.messages.items.values() if i.folder == key]
    body: dict[str, object] = {}
    if folder.search:  # a derived type: Graph names it in the collection (and says what the folder searches)
        body["@odata.type"] = "#microsoft.graph.mailSearchFolder"
    parent = box.tree.folders[folder.parent].id if folder.parent is not None else None
    body.update({"id": folder.id, "displayName": folder.display_name, "parentFolderId": parent,
                 "childFolderCount": len(box.tree.children(key)),
                 "unreadItemCount": sum(1 for i in items if not i.data.get("isRead")),
                 "totalItemCount": len(items), "isHidden": False})
    if folder.search:
        body.update({"isSupported": True, "includeNestedFolders": True,
                     "sourceFolderIds": [box.folder_ids["inbox"]], "filterQuery": "isRead eq false"})
    return body


def _folder_page(ctx: Ctx, parent: str, tail: str, context: str) -> EmulatorResponse:
    """One page of the folders directly under ``parent`` (Graph pages folder lists, 10 by default)."""
    size, used = _page_size(ctx, None)
    skip = int(ctx.request.query.get("$skip", "0") or 0)
    children = ctx.box().tree.children(parent)
    items = [json.dumps(_folder_json(ctx, f.key)).encode() for f in children[skip:skip + size]]
    links = {}
    if skip + size < len(children):
        query = {k: v for k, v in ctx.request.query.items() if k != "$skip"}
        links["@odata.nextLink"] = link(ctx.graph_base, _path(ctx, tail), **query, **{"$skip": str(skip + size)})
    return ctx.page_response(items, f"{ctx.graph_base}/$metadata#{context}", links, used)


def list_mail_folders(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/mailFolders``: the folders directly under the root, search folders included."""
    return _folder_page(ctx, ROOT, "mailFolders", f"users('{ctx.box().user_id}')/mailFolders")


def list_child_folders(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/mailFolders/{id}/childFolders``."""
    key = _folder_name(ctx)
    return _folder_page(ctx, key, "childFolders",
                        f"users('{ctx.box().user_id}')/mailFolders('{ctx.params['folder']}')/childFolders")


def get_mail_folder(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/mailFolders/{id | well-known name}``."""
    body = _folder_json(ctx, _folder_name(ctx))
    return json_response(200, {"@odata.context": f"{ctx.graph_base}/$metadata#users('{ctx.box().user_id}')"
                                                  "/mailFolders/$entity", **body})


def list_messages(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/mailFolders/{id}/messages``: the folder's current messages, paged by ``$skip``."""
    name = _folder_name(ctx)
    store = ctx.box().messages
    select = parse_select(ctx.request, MESSAGE_PROPERTIES, "message")
    size, used = _page_size(ctx, None)
    skip = int(ctx.request.query.get("$skip", "0") or 0)
    live = [store.live_at(name, i) for i in range(len(store.order.get(name, [])))]
    current = [i for i in live if i is not None]
    items = [store.encoded(i, select, ctx.prefs.immutable_ids) for i in current[skip:skip + size]]
    links = {}
    if skip + size < len(current):
        query = {k: v for k, v in ctx.request.query.items() if k != "$skip"}
        links["@odata.nextLink"] = link(ctx.graph_base, _path(ctx, "messages"), **query, **{"$skip": str(skip + size)})
    return ctx.page_response(items, f"{ctx.graph_base}/$metadata#users('{ctx.box().user_id}')/mailFolders"
                                    f"('{ctx.params['folder']}')/messages", links, used)


def message_delta(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/mailFolders/{id}/messages/delta`` (also ``delta()``)."""
    name = _folder_name(ctx)
    store = ctx.box().messages
    pos = _start_or_resume(ctx, store, name, None, MESSAGE_PROPERTIES, "message")
    return _delta_response(ctx, store, pos, _path(ctx, "messages/delta"), "Collection(message)")


def _window(ctx: Ctx) -> Span:
    start = ctx.request.query.get("startDateTime")
    end = ctx.request.query.get("endDateTime")
    if not start or not end:
        raise GraphError(400, "ErrorInvalidParameter", "This request requires a time window specified by the "
                         "query string parameters StartDateTime and EndDateTime.")
    try:
        return parse_graph_datetime(start), parse_graph_datetime(end)
    except ValueError as err:
        raise GraphError(400, "ErrorInvalidParameter", "The time window is not a valid date.") from err


def calendar_view(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/calendarView?startDateTime=…&endDateTime=…``: events in the window by start, paged."""
    window = _window(ctx)
    store = ctx.box().events
    select = parse_select(ctx.request, EVENT_PROPERTIES, "event")
    size, used = _page_size(ctx, None)
    skip = int(ctx.request.query.get("$skip", "0") or 0)
    current = sorted((i for i in store.items.values() if visible(i, window)),
                     key=lambda i: (i.span or (0.0, 0.0))[0])
    items = [store.encoded(i, select, ctx.prefs.immutable_ids) for i in current[skip:skip + size]]
    links = {}
    if skip + size < len(current):
        query = {k: v for k, v in ctx.request.query.items() if k != "$skip"}
        links["@odata.nextLink"] = link(ctx.graph_base, _path(ctx, "calendarView"), **query,
                                        **{"$skip": str(skip + size)})
    return ctx.page_response(items, f"{ctx.graph_base}/$metadata#users('{ctx.box().user_id}')/calendarView",
                             links, used)


def calendar_delta(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/calendarView/delta``: the window is fixed by the first request and kept in the token."""
    store = ctx.box().events
    pos = _start_or_resume(ctx, store, "calendar", None, EVENT_PROPERTIES, "event")
    return _delta_response(ctx, store, pos, _path(ctx, "calendarView/delta"), "Collection(event)")


def _path(ctx: Ctx, tail: str) -> str:
    user = quote(ctx.params["user"], safe="@")
    if tail == "mailFolders":
        return f"/users/{user}/mailFolders"
    if "folder" in ctx.params:
        return f"/users/{user}/mailFolders/{quote(ctx.params['folder'], safe='')}/{tail}"
    return f"/users/{user}/{tail}"


def _start_or_resume(ctx: Ctx, store: ItemStore, folder: str, window: Span | None,
                     known: frozenset[str], type_name: str) -> DeltaPosition:
    query = ctx.request.query
    token = query.get("$skiptoken") or query.get("$deltatoken")
    if token:
        pos = decode_token(token)
        if pos.u != ctx.box().user_id or pos.f != folder:
            raise GraphError(400, "BadRequest", "The delta token does not belong to this collection.")
        return pos
    if folder == "calendar":
        window = _window(ctx)
    return DeltaPosition(u=ctx.box().user_id, f=folder, g=store.generation, k="i",
                         sel=parse_select(ctx.request, known, type_name), w=window)


def _delta_response(ctx: Ctx, store: ItemStore, pos: DeltaPosition, path: str, entity: str) -> EmulatorResponse:
    size, used = _page_size(ctx, pos.n)
    pos = DeltaPosition(**{**pos.__dict__, "n": size})
    page = delta_page(store, pos, size, ctx.prefs.immutable_ids)
    if page.next is not None:
        links = {"@odata.nextLink": link(ctx.graph_base, path, **{"$skiptoken": encode_token(page.next)})}
    else:
        assert page.delta is not None
        links = {"@odata.deltaLink": link(ctx.graph_base, path, **{"$deltatoken": encode_token(page.delta)})}
    return ctx.page_response(page.items, f"{ctx.graph_base}/$metadata#{entity}", links, used)

"""Writes: create events (idempotent by ``transactionId``), to-do lists and tasks, Teams app installs."""

from __future__ import annotations

import json
from typing import Any

from graph_sync.emulator.context import Ctx
from graph_sync.emulator.errors import GraphError
from graph_sync.emulator.render import opaque
from graph_sync.emulator.state import Mailbox
from graph_sync.emulator.tenant import event_span
from graph_sync.emulator.wire import EmulatorResponse, iso, json_response


def _body(ctx: Ctx) -> dict[str, Any]:
    value = ctx.request.json()
    if not isinstance(value, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    return value


def create_event(ctx: Ctx) -> EmulatorResponse:
    """``POST /users/{id}/events``. A repeated ``transactionId`` returns the first event instead of a copy, and
    internal attendees get their own copy (same ``iCalUId``), as Exchange's invitations would."""
    box = ctx.box()
    body = _body(ctx)
    if not isinstance(body.get("start"), dict) or not isinstance(body.get("end"), dict):
        raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. 'start' and 'end' are required.")
    transaction = body.get("transactionId")
    if transaction and transaction in box.transactions:
        existing = box.events.items.get(box.transactions[transaction])
        if existing is not None:
            return _event_response(ctx, box, existing.id)
    state = ctx.state
    stamp = iso(ctx.now)
    organizer_user = state.users_by_id[box.user_id]
    organizer = {"emailAddress": {"name": organizer_user.get("displayName"), "address": organizer_user.get("mail")}}
    ical = opaque("ical", state.new_id())
    base = {"subject": "", "isAllDay": False, "isCancelled": False, "isOnlineMeeting": False, "showAs": "busy",
            "type": "singleInstance", "seriesMasterId": None, "attendees": [], **body,
            "iCalUId": ical, "organizer": organizer, "createdDateTime": stamp, "lastModifiedDateTime": stamp}
    try:
        event_span(base)
    except (KeyError, TypeError, ValueError) as err:
        raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. Bad start or end.") from err
    event_id = state.new_id()
    state.add_event(box.user_id, {**base, "id": event_id, "isOrganizer": True,
                                  "responseStatus": {"response": "organizer", "time": stamp}})
    if transaction:
        box.transactions[transaction] = event_id
    for attendee in base.get("attendees") or []:
        address = str((attendee.get("emailAddress") or {}).get("address", "")).lower()
        invitee = next((u for u in state.users if str(u.get("mail", "")).lower() == address), None)
        if invitee is not None and invitee["id"] != box.user_id:
            state.add_event(invitee["id"], {**base, "id": state.new_id(), "isOrganizer": False,
                                            "responseStatus": {"response": "notResponded",
                                                               "time": "0001-01-01T00:00:00Z"}})
    return _event_response(ctx, box, event_id)


def _event_response(ctx: Ctx, box: Mailbox, event_id: str) -> EmulatorResponse:
    item = box.events.items[event_id]
    value = json.loads(box.events.encoded(item, None, True))
    context = f"{ctx.graph_base}/$metadata#users('{box.user_id}')/events/$entity"
    return json_response(201, {"@odata.context": context, **value})


def list_todo_lists(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/todo/lists``."""
    box = ctx.box()
    items = [json.dumps(v).encode() for v in box.todo_lists.values()]
    return ctx.page_response(items, f"{ctx.graph_base}/$metadata#users('{box.user_id}')/todo/lists", {})


def create_todo_list(ctx: Ctx) -> EmulatorResponse:
    """``POST /users/{id}/todo/lists``."""
    box = ctx.box()
    body = _body(ctx)
    if not body.get("displayName"):
        raise GraphError(400, "invalidRequest", "Invalid request: displayName is required.")
    todo = {"@odata.etag": f'W/"{ctx.state.new_id()[:16]}"', "displayName": body["displayName"],
            "isOwner": True, "isShared": False, "wellknownListName": "none", "id": ctx.state.new_id()}
    box.todo_lists[todo["id"]] = todo
    box.todo_tasks[todo["id"]] = []
    return json_response(201, {"@odata.context": f"{ctx.graph_base}/$metadata#users('{box.user_id}')/todo/lists/$entity",
                               **todo})


def _tasks_of(ctx: Ctx) -> list[dict[str, Any]]:
    tasks = ctx.box().todo_tasks.get(ctx.params["list"])
    if tasks is None:
        raise GraphError(404, "notFound", "The requested item is not found.")
    return tasks


def list_tasks(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/todo/lists/{id}/tasks``."""
    items = [json.dumps(t).encode() for t in _tasks_of(ctx)]
    return ctx.page_response(items, f"{ctx.graph_base}/$metadata#users('{ctx.box().user_id}')/todo/lists"
                                    f"('{ctx.params['list']}')/tasks", {})


def create_task(ctx: Ctx) -> EmulatorResponse:
    """``POST /users/{id}/todo/lists/{id}/tasks``."""
    tasks = _tasks_of(ctx)
    body = _body(ctx)
    if not body.get("title"):
        raise GraphError(400, "invalidRequest", "Invalid request: title is required.")
    stamp = iso(ctx.now)
    task = {"@odata.etag": f'W/"{ctx.state.new_id()[:16]}"', "importance": "normal", "isReminderOn": False,
            "status": "notStarted", "body": {"content": "", "contentType": "text"}, **body,
            "createdDateTime": stamp, "lastModifiedDateTime": stamp, "id": ctx.state.new_id()}
    tasks.append(task)
    return json_response(201, {"@odata.context": f"{ctx.graph_base}/$metadata#users('{ctx.box().user_id}')/todo/"
                                                 f"lists('{ctx.params['list']}')/tasks/$entity", **task})


def list_installed_apps(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/teamwork/installedApps``."""
    box = ctx.box()
    items = [json.dumps(v).encode() for v in box.installed_apps.values()]
    return ctx.page_response(items, f"{ctx.graph_base}/$metadata#users('{box.user_id}')/teamwork/installedApps", {})


def install_app(ctx: Ctx) -> EmulatorResponse:
    """``POST /users/{id}/teamwork/installedApps`` with ``teamsApp@odata.bind``; 409 when already installed."""
    box = ctx.box()
    bind = _body(ctx).get("teamsApp@odata.bind")
    if not isinstance(bind, str) or "/appCatalogs/teamsApps/" not in bind:
        raise GraphError(400, "BadRequest", "teamsApp@odata.bind must name /appCatalogs/teamsApps/{id}.")
    app_id = bind.rstrip("/").rsplit("/", 1)[-1].strip("'")
    if app_id in box.installed_apps:
        raise GraphError(409, "Conflict", "App is already installed for this user.")
    box.installed_apps[app_id] = {"id": opaque(box.user_id, app_id), "teamsAppId": app_id,
                                  "consentedPermissionSet": None}
    return EmulatorResponse(201, b"", {})

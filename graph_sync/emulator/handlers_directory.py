"""Directory endpoints: users (paged), one user, manager, direct reports, mailbox settings, domains, organization."""

from __future__ import annotations

import json
from typing import Any

from graph_sync.emulator.context import Ctx, link, read_skip_token, skip_token
from graph_sync.emulator.errors import GraphError
from graph_sync.emulator.render import USER_PROPERTIES, render_user
from graph_sync.emulator.wire import EmulatorResponse, json_response, parse_select, parse_top

USERS_DEFAULT_PAGE = 100
USERS_MAX_PAGE = 999


def _user_bytes(ctx: Ctx, user: dict[str, Any], select: tuple[str, ...] | None, typed: bool = False) -> bytes:
    key = (user["id"] + ("#t" if typed else ""), select)
    body = ctx.state.user_cache.get(key)
    if body is None:
        value = render_user(user, select)
        if typed:
            value = {"@odata.type": "#microsoft.graph.user", **value}
        body = json.dumps(value, separators=(",", ":")).encode()
        ctx.state.user_cache[key] = body
    return body


def _find_user(ctx: Ctx, key: str) -> dict[str, Any]:
    user = ctx.state.users_by_key.get(key.lower())
    if user is None:
        raise GraphError(404, "Request_ResourceNotFound",
                         f"Resource '{key}' does not exist or one of its queried reference-property objects "
                         "are not present.")
    return user


def _context(ctx: Ctx, entity: str, select: tuple[str, ...] | None) -> str:
    return f"{ctx.graph_base}/$metadata#{entity}" + (f"({','.join(select)})" if select else "")


def list_users(ctx: Ctx) -> EmulatorResponse:
    """``GET /users``: paged by ``$top`` / ``Prefer: odata.maxpagesize``, continued by ``$skiptoken``."""
    token = ctx.request.query.get("$skiptoken")
    if token:
        saved = read_skip_token(token)
        offset = int(saved["o"])
        select: tuple[str, ...] | None = tuple(saved["sel"]) if saved.get("sel") else None
        size = int(saved["n"])
    else:
        offset = 0
        select = parse_select(ctx.request, USER_PROPERTIES, "user")
        size = parse_top(ctx.request, USERS_MAX_PAGE) or USERS_DEFAULT_PAGE
    if ctx.prefs.max_page_size:
        size = min(ctx.prefs.max_page_size, USERS_MAX_PAGE)
    users = ctx.state.users
    items = [_user_bytes(ctx, u, select) for u in users[offset:offset + size]]
    links = {}
    if offset + size < len(users):
        links["@odata.nextLink"] = link(ctx.graph_base, "/users", **{"$skiptoken": skip_token(
            offset + size, {"sel": list(select) if select else None, "n": size})})
    return ctx.page_response(items, _context(ctx, "users", select), links, bool(ctx.prefs.max_page_size))


def get_user(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id | userPrincipalName}``."""
    user = _find_user(ctx, ctx.params["user"])
    select = parse_select(ctx.request, USER_PROPERTIES, "user")
    value = json.loads(_user_bytes(ctx, user, select))
    return json_response(200, {"@odata.context": _context(ctx, "users", select) + "/$entity", **value})


def get_manager(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/manager``: the manager as a directoryObject, or 404 when there is none."""
    user = _find_user(ctx, ctx.params["user"])
    manager_id = ctx.state.manager_of.get(user["id"])
    if manager_id is None or manager_id not in ctx.state.users_by_id:
        raise GraphError(404, "Request_ResourceNotFound",
                         "Resource 'manager' does not exist or one of its queried reference-property objects "
                         "are not present.")
    value = json.loads(_user_bytes(ctx, ctx.state.users_by_id[manager_id], None, typed=True))
    return json_response(200, {"@odata.context": f"{ctx.graph_base}/$metadata#directoryObjects/$entity", **value})


def list_direct_reports(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/directReports`` (directoryObjects typed as users)."""
    user = _find_user(ctx, ctx.params["user"])
    reports = [ctx.state.users_by_id[r] for r in ctx.state.reports_of.get(user["id"], [])]
    items = [_user_bytes(ctx, r, None, typed=True) for r in reports]
    return ctx.page_response(items, f"{ctx.graph_base}/$metadata#directoryObjects", {})


def get_mailbox_settings(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/mailboxSettings``."""
    user = _find_user(ctx, ctx.params["user"])
    settings = user.get("mailboxSettings") or {}
    return json_response(200, {"@odata.context": f"{ctx.graph_base}/$metadata#users('{user['id']}')/mailboxSettings",
                               **settings})


def list_domains(ctx: Ctx) -> EmulatorResponse:
    """``GET /domains``."""
    items = [json.dumps(d, separators=(",", ":")).encode() for d in ctx.state.domains]
    return ctx.page_response(items, f"{ctx.graph_base}/$metadata#domains", {})


def list_organization(ctx: Ctx) -> EmulatorResponse:
    """``GET /organization``."""
    items = [json.dumps(ctx.state.organization, separators=(",", ":")).encode()]
    return ctx.page_response(items, f"{ctx.graph_base}/$metadata#organization", {})

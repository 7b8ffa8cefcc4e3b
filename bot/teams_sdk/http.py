"""Our own ``/api/messages`` handler.

botbuilder 4.17.1's aiohttp ``CloudAdapter.process`` serialises invoke responses twice (HTTP 500 for every
``Action.Execute``) and lets an expired token surface as HTTP 500. This handler authenticates first and maps
*every* authentication failure to 401, then runs the turn and returns an invoke body as plain JSON.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from botbuilder.core import serializer_helper
from botbuilder.schema import Activity

log = logging.getLogger(__name__)

MAX_BODY = 512 * 1024  # Teams messages are capped near 28 KB; a 512 KB body is already abuse


def _json_body(body: Any) -> Any:
    if body is None or isinstance(body, (dict, list, str, int, float, bool)):
        return body
    return serializer_helper(body)


def messages_handler(adapter: Any, bot: Any, *, auth_required: bool) -> Any:
    """The aiohttp handler for ``POST /api/messages``."""

    async def messages(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return web.Response(status=415)
        try:
            raw = await request.read()
            if len(raw) > MAX_BODY:
                return web.Response(status=413)
            body = json.loads(raw)
            activity = Activity().deserialize(body) if isinstance(body, dict) else None
        except (ValueError, TypeError, AttributeError):
            return web.Response(status=400)
        if activity is None or not activity.type:
            return web.Response(status=400)
        header = request.headers.get("Authorization")
        if auth_required and not header:
            return web.Response(status=401)
        try:
            authenticated = await adapter.bot_framework_authentication.authenticate_request(activity, header)
        except Exception as err:  # signature, expiry, issuer, audience, serviceurl, malformed token: all 401
            log.info("rejected /api/messages: %s: %s", type(err).__name__, err)
            return web.Response(status=401)
        invoke = await adapter.process_activity(authenticated, activity, bot.on_turn)
        if invoke is not None:
            return web.json_response(_json_body(invoke.body), status=invoke.status)
        return web.Response(status=200)

    return messages

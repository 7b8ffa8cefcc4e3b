"""What a Graph request handler receives, and the paging helper shared by plain (non-delta) collections."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from graph_sync.emulator.errors import GraphError
from graph_sync.emulator.wire import JSON_TYPE, EmulatorRequest, EmulatorResponse, Preferences, paged_body

if TYPE_CHECKING:
    from graph_sync.emulator.state import EmulatorState, Mailbox


@dataclass
class Ctx:
    """One Graph request being served."""

    state: EmulatorState
    request: EmulatorRequest
    params: dict[str, str]
    prefs: Preferences
    now: float
    request_id: str
    client_request_id: str
    mailbox: Mailbox | None = None

    @property
    def graph_base(self) -> str:
        """``scheme://host[:port]/v1.0`` as the client addressed it."""
        return self.request.base_url + "/v1.0"

    def box(self) -> Mailbox:
        """The mailbox the route names (routes marked per-mailbox always have one)."""
        if self.mailbox is None:
            raise GraphError(500, "InternalServerError", "route has no mailbox")
        return self.mailbox

    def page_response(self, items: list[bytes], context: str, links: dict[str, str],
                      page_size_used: bool = False) -> EmulatorResponse:
        """A collection page, counted in the page/item counters."""
        self.state.counters.pages += 1
        self.state.counters.items += len(items)
        headers = {"Content-Type": JSON_TYPE, **self.prefs.applied(page_size_used)}
        return EmulatorResponse(200, paged_body(context, items, links), headers)


def skip_token(offset: int, extra: dict[str, object]) -> str:
    """An opaque ``$skiptoken`` for a plain collection."""
    raw = json.dumps({"o": offset, **extra}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_skip_token(token: str) -> dict[str, Any]:
    """The values a ``skip_token`` holds, or a 400."""
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError as err:
        raise GraphError(400, "BadRequest", "The skip token is invalid.") from err
    if not isinstance(value, dict) or not isinstance(value.get("o"), int):
        raise GraphError(400, "BadRequest", "The skip token is invalid.")
    return value


def link(base: str, path: str, **query: str) -> str:
    """A full URL with query values percent-encoded (``$`` kept, as Graph does)."""
    if not query:
        return base + path
    return base + path + "?" + "&".join(f"{k}={quote(v, safe='$,:')}" for k, v in query.items())

"""Transport-neutral request and response values, and the pieces of Graph's wire format shared by handlers.

Both transports (aiohttp and ``httpx.MockTransport``) turn their request into an ``EmulatorRequest`` and write
back an ``EmulatorResponse``; handlers never see either library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graph_sync.emulator.errors import GraphError

JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"


@dataclass
class EmulatorRequest:
    """One HTTP request as the emulator sees it. ``headers`` keys are lower-case; ``path`` is undecoded."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base_url: str  # scheme://host[:port] the client used, for building full-URL links

    def json(self) -> Any:
        """The body parsed as JSON, or a 400 ``BadRequest``."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as err:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from err


@dataclass
class EmulatorResponse:
    """An answer to write back. ``drop`` means: close the connection without answering."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> EmulatorResponse:
    """A JSON response with Graph's content type."""
    out = {"Content-Type": JSON_TYPE}
    if headers:
        out.update(headers)
    return EmulatorResponse(status, json.dumps(payload, separators=(",", ":")).encode(), out)


def error_body(code: str, message: str, request_id: str, client_request_id: str, now: float) -> bytes:
    """Graph's error body with ``innerError`` (date, request-id, client-request-id)."""
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return json.dumps({"error": {"code": code, "message": message, "innerError": {
        "date": stamp, "request-id": request_id, "client-request-id": client_request_id}}}).encode()


def paged_body(context: str, items: Iterable[bytes], links: Mapping[str, str]) -> bytes:
    """A collection page assembled from pre-serialised items, so no item is encoded again per request."""
    head = b'{"@odata.context":' + json.dumps(context).encode() + b',"value":['
    tail = b"]"
    for name, url in links.items():
        tail += b',"' + name.encode() + b'":' + json.dumps(url).encode()
    return head + b",".join(items) + tail + b"}"


def parse_select(request: EmulatorRequest, known: frozenset[str], type_name: str) -> tuple[str, ...] | None:
    """The ``$select`` properties in request order, or None; unknown names are Graph's 400."""
    raw = request.query.get("$select")
    if not raw:
        return None
    names = tuple(dict.fromkeys(p.strip() for p in raw.split(",") if p.strip()))
    for name in names:
        if name not in known:
            raise GraphError(400, "BadRequest",
                             f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.")
    return names


_MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
_IMMUTABLE = re.compile(r'IdType\s*=\s*"?ImmutableId"?', re.IGNORECASE)


@dataclass(frozen=True)
class Preferences:
    """What the client's ``Prefer`` header asked for that the emulator honours."""

    max_page_size: int | None
    immutable_ids: bool

    def applied(self, page_size_used: bool) -> dict[str, str]:
        """The ``Preference-Applied`` header echoing what was honoured."""
        parts = []
        if page_size_used and self.max_page_size is not None:
            parts.append(f"odata.maxpagesize={self.max_page_size}")
        if self.immutable_ids:
            parts.append('IdType="ImmutableId"')
        return {"Preference-Applied": ", ".join(parts)} if parts else {}


def parse_prefer(request: EmulatorRequest) -> Preferences:
    """Read ``Prefer`` (several values may share one header, comma separated)."""
    raw = request.headers.get("prefer", "")
    size = _MAXPAGESIZE.search(raw)
    return Preferences(int(size.group(1)) if size else None, bool(_IMMUTABLE.search(raw)))


def parse_top(request: EmulatorRequest, maximum: int) -> int | None:
    """``$top`` as an int in [1, maximum], or None when absent; anything else is a 400."""
    raw = request.query.get("$top")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError as err:
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for $top query option.") from err
    if not 1 <= value <= maximum:
        raise GraphError(400, "BadRequest", f"Invalid page size specified: '{value}'. Must be between 1 and {maximum} inclusive.")
    return value


def iso(ts: float) -> str:
    """Epoch seconds as Graph's ``2026-05-04T16:00:00Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

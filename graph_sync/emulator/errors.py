"""Errors of the Graph emulator.

::

    RapportError (analytics.errors)
    └── EmulatorError            the emulator cannot do what its owner asked
        ├── TenantDirectoryError a tenant directory is missing a file or holds a malformed line
        └── UnknownItem          a live change names a mailbox, message or event that does not exist

``GraphError`` is not part of that tree: it is the emulator's own control flow for "answer this request with a
Graph error body", raised inside request handlers and turned into an HTTP response by the pipeline.
"""

from __future__ import annotations

from analytics.errors import RapportError


class EmulatorError(RapportError):
    """The emulator cannot do what its owner asked."""


class TenantDirectoryError(EmulatorError):
    """A tenant directory is missing a file or holds a malformed line."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class UnknownItem(EmulatorError):
    """A live change names a mailbox, message or event that does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"unknown {kind}: {key}")


class GraphError(Exception):
    """Answer the current request with Graph's error body (``error.code``/``error.message``)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        super().__init__(f"{status} {code}: {message}")

"""Errors of notes analysis. Note text never causes one; only the caller's arguments can.

::

    RapportError
    └── NotesError              notes analysis was called with a bad argument
        ├── InvalidTimeZone     the zone is not an IANA name known to zoneinfo (carries ``tz``)
        └── InvalidLanguage     lang is not "en", "zh" or "auto" (carries ``lang``)
"""

from __future__ import annotations

from analytics.errors import RapportError


class NotesError(RapportError):
    """Root of notes-analysis errors."""


class InvalidTimeZone(NotesError, ValueError):
    """The time zone name is unknown."""

    def __init__(self, tz: str) -> None:
        self.tz = tz
        super().__init__(f"unknown time zone {tz!r}: expected an IANA name such as Europe/London")


class InvalidLanguage(NotesError, ValueError):
    """The language is not supported."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        super().__init__(f"unsupported language {lang!r}: expected en, zh or auto")

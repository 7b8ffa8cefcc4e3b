"""Deterministic, Graph-shaped identifiers drawn from one seeded random stream."""

from __future__ import annotations

import base64
import random
import uuid


class IdFactory:
    """Mints ids in Graph's formats. Every id comes from ``rng``, so the same seed gives the same ids."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def guid(self) -> str:
        """A version-4 GUID string, like Entra object ids."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _b64(self, prefix: str, nbytes: int) -> str:
        return prefix + base64.urlsafe_b64encode(self._rng.randbytes(nbytes)).decode("ascii")

    def message_id(self) -> str:
        """An immutable message id (the long base64url string Graph returns with ``IdType="ImmutableId"``)."""
        return self._b64("AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A", 48)

    def event_id(self) -> str:
        """An event id, unique per calendar copy."""
        return self._b64("AAMkAGI2TGuLAAA", 45)

    def conversation_id(self) -> str:
        """A conversation id shared by every message of a thread, in every mailbox."""
        return self._b64("AAQkAGI2", 33)

    def internet_message_id(self, domain: str) -> str:
        """An RFC 5322 Message-ID at ``domain``; the same for every mailbox copy of one mail."""
        return f"<{self._rng.getrandbits(128):032X}@{domain}>"

    def ical_uid(self) -> str:
        """An iCalendar UID shared by every calendar copy of one meeting (occurrence)."""
        return "040000008200E00074C5B7101A82E008" + f"{self._rng.getrandbits(192):048X}"

    def change_key(self) -> str:
        """A change key (opaque version stamp)."""
        return self._b64("CQAAABYAAAA", 12)

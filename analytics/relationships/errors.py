"""Errors of relationship analytics.

::

    NotFound (analytics.errors)
    └── TargetNotFound           nothing matches the text asked about
        └── AmbiguousTarget      several accounts match; carries the candidates
"""

from __future__ import annotations

from analytics.errors import NotFound


class TargetNotFound(NotFound):
    """No contact, domain, account or CRM record matches ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"no contact, domain or account matches {text!r}")


class AmbiguousTarget(TargetNotFound):
    """Several accounts match ``text``; ``candidates`` holds (account id, name) pairs to choose from."""

    def __init__(self, text: str, candidates: tuple[tuple[str, str], ...]) -> None:
        super().__init__(text)
        self.candidates = candidates
        names = ", ".join(name for _, name in candidates[:5])
        self.args = (f"{text!r} matches several accounts: {names}",)

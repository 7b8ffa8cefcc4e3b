""""Intelligent fields": facts derived from raw values (pure functions, no I/O)."""

from __future__ import annotations

import re

from analytics.domains import FREE_MAIL_DOMAINS

_DISPOSABLE = frozenset({"mailinator.com", "10minutemail.com", "guerrillamail.com", "tempmail.com",
                         "example.com", "test.com"})
_NAME_TOKEN = re.compile(r"^[^\W\d_](?:[^\W\d_]|['’.-])*$")
_PLACEHOLDERS = frozenset({"test", "asdf", "qwerty", "none", "null", "na", "n/a", "xxx", "abc", "unknown",
                           "noname", "anonymous", "user", "customer", "lead"})


def email_domain_kind(email: str | None) -> str | None:
    """``business``, ``free-mail`` or ``disposable`` for an address; ``None`` when there is none."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower()
    if domain in _DISPOSABLE:
        return "disposable"
    return "free-mail" if domain in FREE_MAIL_DOMAINS else "business"


def name_plausibility(name: str | None) -> str | None:
    """``plausible`` for a name of 2–4 alphabetic words, else ``implausible``; ``None`` when missing."""
    if name is None or not name.strip():
        return None
    tokens = name.split()
    if not 1 <= len(tokens) <= 4:
        return "implausible"
    for token in tokens:
        low = token.casefold()
        if low in _PLACEHOLDERS or not _NAME_TOKEN.match(token) or (len(low) >= 3 and len(set(low)) == 1):
            return "implausible"
    if len(tokens) == 1:  # a lone given name is possible but weaker than "First Last"
        return "single word"
    return "plausible"

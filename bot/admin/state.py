"""The consent ``state``: a signed, expiring, single-use token (sans-IO: no clock read, no randomness drawn).

Microsoft's admin-consent redirect carries no code to redeem, only ``tenant``, ``scope`` and our ``state``
back, so the ``state`` is the one thing that proves the callback answers a flow this server started. It is
``base64url(payload) "." base64url(HMAC-SHA256(key, purpose || payload))`` where the payload holds a random
nonce, the expiry (epoch seconds) and the tenant hint. The nonce is what the ``consent_record`` table keys
on, which makes a state single-use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from bot.admin.errors import BadState, ExpiredState

PURPOSE = b"rapport-admin-consent-v1\x00"  # domain separation from the other things secret_key signs
MAX_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class ConsentState:
    """What a verified ``state`` says."""

    nonce: str
    expires_at: int  # epoch seconds
    tenant_hint: str  # "organizations" or the tenant the admin named


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, PURPOSE + payload, hashlib.sha256).digest()


def issue_state(key: bytes, *, nonce: str, now: float, ttl_seconds: int, tenant_hint: str) -> str:
    """A signed state valid for ``ttl_seconds`` after ``now``."""
    payload = json.dumps({"n": nonce, "e": int(now) + ttl_seconds, "t": tenant_hint},
                         separators=(",", ":"), sort_keys=True).encode("utf-8")
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def verify_state(key: bytes, token: str | None, *, now: float) -> ConsentState:
    """The state's contents; :class:`BadState` unless we signed it, :class:`ExpiredState` once it expired."""
    if not token:
        raise BadState("missing")
    if len(token) > MAX_LENGTH or token.count(".") != 1:
        raise BadState("malformed")
    body, signature = token.split(".")
    try:
        payload, mac = _unb64(body), _unb64(signature)
    except (binascii.Error, ValueError) as err:
        raise BadState("not base64url") from err
    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise BadState("signature mismatch")
    try:
        data = json.loads(payload)
        state = ConsentState(nonce=str(data["n"]), expires_at=int(data["e"]), tenant_hint=str(data["t"]))
    except (ValueError, KeyError, TypeError) as err:  # signed by us, so only a format change gets here
        raise BadState("unreadable payload") from err
    if not state.nonce or len(state.nonce) > 64:
        raise BadState("bad nonce")
    if now >= state.expires_at:
        raise ExpiredState(state.expires_at)
    return state

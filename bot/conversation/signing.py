"""Signed card-action data: an ``Action.Execute`` only does what the bot put on the card, for whom it put it.

The bot signs the fixed part of each action's ``data`` (verb, target record, intended user and tenant) with the
deployment's secret key. Teams merges the card's editable inputs into ``data`` beside the signed part, so users
can edit fields but cannot change what the action is about, nor replay it as another user or in another tenant.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from bot.errors import TamperedAction

SIGNED_KEY = "rapport"


def _mac(key: bytes, payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(key: bytes, *, verb: str, tenant_id: str, user_id: str, args: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of an Action.Execute: ``{"rapport": {verb, t, u, a, sig}}``."""
    payload = {"v": verb, "t": tenant_id, "u": user_id, "a": args}
    return {SIGNED_KEY: {**payload, "sig": _mac(key, payload)}}


def verify(key: bytes, data: dict[str, Any], *, verb: str, tenant_id: str, user_id: str) -> dict[str, Any]:
    """The signed ``args`` if ``data`` was signed by us for this verb, tenant and user; else :class:`TamperedAction`."""
    signed = data.get(SIGNED_KEY)
    if not isinstance(signed, dict):
        raise TamperedAction("missing signed data")
    payload = {k: signed.get(k) for k in ("v", "t", "u", "a")}
    given = signed.get("sig")
    if not isinstance(given, str) or not hmac.compare_digest(given, _mac(key, payload)):
        raise TamperedAction("bad signature")
    if payload["v"] != verb:
        raise TamperedAction("verb mismatch")
    if payload["t"] != tenant_id:
        raise TamperedAction("another tenant")
    if payload["u"] != user_id:
        raise TamperedAction("another user")
    args = payload["a"]
    if not isinstance(args, dict):
        raise TamperedAction("malformed arguments")
    return args


def inputs(data: dict[str, Any]) -> dict[str, str]:
    """The card's editable input values Teams merged into ``data`` (as bounded strings; numbers allowed)."""
    out: dict[str, str] = {}
    for k, v in data.items():
        if k == SIGNED_KEY or isinstance(v, bool) or not isinstance(v, str | int | float):
            continue
        out[str(k)[:64]] = str(v)[:2000]
    return out

"""Signed, expiring chart URLs (pure: the caller passes the secret and the time).

A link names what to draw (``kind``: health, activity, team or score), for which tenant and subject (``kind:key``
of a target, or a manager's user id), and until when. The HMAC covers all of it under a purpose prefix, so a
card-action signature can never pass for a chart link, nor a link be pointed at another tenant or record.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.errors import BotError

CHART_KINDS = frozenset({"health", "activity", "team", "score"})
CHART_TTL = 7 * 24 * 3600.0  # a digest card is read during its week


class BadChartLink(BotError):
    """A chart URL that is malformed, tampered with or expired (``reason`` is logged, never shown)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"bad chart link: {reason}")


@dataclass(frozen=True, slots=True)
class ChartRequest:
    """What a verified link asks for."""

    kind: str
    tenant_id: str
    subject: str
    expires: int


def _mac(secret: bytes, kind: str, tenant_id: str, subject: str, expires: int) -> str:
    message = "\x1f".join(("rapport-chart-v1", kind, tenant_id, subject, str(expires))).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign_path(secret: bytes, kind: str, tenant_id: str, subject: str, expires: int) -> str:
    """``/charts/{kind}.png?…`` with the signature; ``expires`` is epoch seconds."""
    if kind not in CHART_KINDS:
        raise ValueError(f"unknown chart kind {kind!r}")
    query = urlencode({"t": tenant_id, "s": subject, "e": str(expires),
                       "sig": _mac(secret, kind, tenant_id, subject, expires)})
    return f"/charts/{kind}.png?{query}"


def verify(secret: bytes, kind: str, query: dict[str, str], now: float) -> ChartRequest:
    """The request if the link is ours, untouched and not expired; else :class:`BadChartLink`."""
    tenant_id, subject, raw_exp, sig = (query.get(k, "") for k in ("t", "s", "e", "sig"))
    if kind not in CHART_KINDS or not tenant_id or not subject or not sig:
        raise BadChartLink("malformed")
    try:
        expires = int(raw_exp)
    except ValueError as err:
        raise BadChartLink("malformed expiry") from err
    if not hmac.compare_digest(sig, _mac(secret, kind, tenant_id, subject, expires)):
        raise BadChartLink("bad signature")
    if expires <= now:
        raise BadChartLink("expired")
    return ChartRequest(kind, tenant_id, subject, expires)


@dataclass(frozen=True)
class ChartLinks:
    """Builds absolute chart URLs under ``public_url`` (the cards embed them; Teams fetches them)."""

    secret: bytes
    public_url: str
    ttl: float = CHART_TTL

    def url(self, kind: str, tenant_id: str, subject: str, now: float) -> str:
        return self.public_url.rstrip("/") + sign_path(self.secret, kind, tenant_id, subject, int(now + self.ttl))

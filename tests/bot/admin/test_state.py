"""The consent state: signed, expiring, and refused when altered (table-tested, no clock read)."""

from __future__ import annotations

import pytest

from bot.admin.errors import BadState, ExpiredState
from bot.admin.state import issue_state, verify_state

KEY = b"k" * 32
NOW = 1_800_000_000.0


def test_a_fresh_state_verifies_with_its_nonce_expiry_and_tenant_hint() -> None:
    token = issue_state(KEY, nonce="n-1", now=NOW, ttl_seconds=900, tenant_hint="organizations")
    state = verify_state(KEY, token, now=NOW + 899)
    assert (state.nonce, state.expires_at, state.tenant_hint) == ("n-1", int(NOW) + 900, "organizations")


def test_a_state_is_refused_from_its_expiry_on() -> None:
    token = issue_state(KEY, nonce="n-1", now=NOW, ttl_seconds=900, tenant_hint="organizations")
    with pytest.raises(ExpiredState):
        verify_state(KEY, token, now=NOW + 900)


def _flip_payload(token: str) -> str:
    body, mac = token.split(".")
    return ("A" if body[0] != "A" else "B") + body[1:] + "." + mac


@pytest.mark.parametrize(("token", "reason"), [
    (None, "missing"),
    ("", "missing"),
    ("no-dot", "malformed"),
    ("a.b.c", "malformed"),
    ("x" * 2000 + ".y", "malformed"),
    ("!!!.###", "not base64url"),
])
def test_malformed_states_are_refused_with_a_reason(token: str | None, reason: str) -> None:
    with pytest.raises(BadState) as caught:
        verify_state(KEY, token, now=NOW)
    assert caught.value.reason == reason


def test_an_altered_or_foreign_state_fails_the_signature_check() -> None:
    token = issue_state(KEY, nonce="n-1", now=NOW, ttl_seconds=900, tenant_hint="organizations")
    for bad, key in ((_flip_payload(token), KEY), (token, b"another key")):
        with pytest.raises(BadState) as caught:
            verify_state(key, bad, now=NOW)
        assert caught.value.reason == "signature mismatch"


def test_an_expired_state_with_a_changed_expiry_is_still_refused() -> None:
    # Extending the lifetime means re-signing, which needs the key: the changed payload fails the signature.
    old = issue_state(KEY, nonce="n-1", now=NOW - 10_000, ttl_seconds=900, tenant_hint="organizations")
    forged_payload = issue_state(b"attacker", nonce="n-1", now=NOW, ttl_seconds=900, tenant_hint="organizations")
    spliced = forged_payload.split(".")[0] + "." + old.split(".")[1]
    with pytest.raises(BadState):
        verify_state(KEY, spliced, now=NOW)

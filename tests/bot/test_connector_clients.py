"""The outbound token cache: fetched off the event loop, once, and again shortly before it expires."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from typing import Any

from bot.teams_sdk.connector import TOKEN_MARGIN_SECONDS, TokenCache, _expiry_of


def _jwt(exp: float) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none'})}.{part({'exp': exp})}.sig"


class _Creds:
    microsoft_app_id = "app"

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.calls: list[str] = []

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.calls.append(threading.current_thread().name)
        return _jwt(self.clock[0] + 3600)


def test_token_is_fetched_once_off_the_loop_and_refreshed_before_expiry() -> None:
    clock = [1_000_000.0]
    cache = TokenCache(clock=lambda: clock[0])
    creds = _Creds(clock)

    async def burst() -> list[str | None]:
        return list(await asyncio.gather(*(cache.token(creds) for _ in range(20))))

    tokens = asyncio.run(burst())
    assert len(set(tokens)) == 1 and len(creds.calls) == 1
    assert creds.calls[0] != threading.current_thread().name  # not on the event loop's thread
    clock[0] += 3600 - TOKEN_MARGIN_SECONDS - 1
    asyncio.run(cache.token(creds))
    assert len(creds.calls) == 1
    clock[0] += 2
    asyncio.run(cache.token(creds))
    assert len(creds.calls) == 2


def test_no_token_when_authentication_is_disabled_and_unreadable_expiry_is_short() -> None:
    class Anonymous:
        microsoft_app_id = ""

        def get_access_token(self) -> str:
            raise AssertionError("must not be called")

    assert asyncio.run(TokenCache().token(Anonymous())) is None
    assert _expiry_of("opaque-token") is None
    assert _expiry_of(_jwt(123.0)) == 123.0


class _Inner:
    """Stands in for the SDK's authentication: counts validations, fails for the token "bad"."""

    def __init__(self, exp: float) -> None:
        self.exp = exp
        self.calls = 0

    async def authenticate_request(self, activity: Any, auth_header: str) -> Any:
        from botframework.connector.auth import AuthenticateRequestResult, ClaimsIdentity

        self.calls += 1
        if auth_header == "Bearer bad":
            raise PermissionError("invalid token")
        result = AuthenticateRequestResult()
        result.claims_identity = ClaimsIdentity({"aud": "app", "exp": self.exp}, True)
        result.audience = "https://api.botframework.com"
        result.connector_factory = object()
        return result


def test_a_valid_token_is_remembered_per_service_url_until_it_expires_and_failures_never() -> None:
    import pytest
    from botbuilder.schema import Activity

    from bot.teams_sdk.auth import AuthEndpoints
    from bot.teams_sdk.connector import VALIDATED_TTL_SECONDS, CachingAuthentication, ConnectorClients

    clock = [1000.0]
    inner = _Inner(exp=1000.0 + 3600)
    endpoints = AuthEndpoints("i", "m", "m", "l", "s", "o")
    auth = CachingAuthentication(inner, ConnectorClients(endpoints, object()), clock=lambda: clock[0])  # type: ignore[arg-type]
    here = Activity(channel_id="msteams", service_url="https://smba.example/emea/")
    there = Activity(channel_id="msteams", service_url="https://evil.example/")

    async def scenario() -> None:
        first = await auth.authenticate_request(here, "Bearer good")
        again = await auth.authenticate_request(here, "Bearer good")
        assert inner.calls == 1 and again.claims_identity is first.claims_identity
        assert again.connector_factory is not None
        await auth.authenticate_request(there, "Bearer good")  # another service URL: validated again
        assert inner.calls == 2
        for _ in range(2):
            with pytest.raises(PermissionError):
                await auth.authenticate_request(here, "Bearer bad")
        assert inner.calls == 4
        clock[0] += VALIDATED_TTL_SECONDS  # the bound passed: validated again
        await auth.authenticate_request(here, "Bearer good")
        assert inner.calls == 5
        inner.exp = clock[0] + 10  # a token about to expire is remembered only until its expiry
        await auth.authenticate_request(here, "Bearer soon")
        clock[0] += 11
        await auth.authenticate_request(here, "Bearer soon")
        assert inner.calls == 7

    asyncio.run(scenario())


def test_card_replies_serialise_to_the_same_body_without_msrest_walking_the_card() -> None:
    from botbuilder.core import CardFactory, MessageFactory
    from botframework.connector.aio import ConnectorClient

    from bot.cards import render
    from bot.teams_sdk.connector import _CardBodySerializer

    card = render.help_card("zh", ["健康度 Fabrikam", "who knows jane@fabrikam.com"])
    card["body"].append({"type": "FactSet", "facts": [{"title": "分数", "value": "72"}], "spacing": None,
                         "isVisible": True, "height": 1.5, "columns": [[1, 2], {"a": False}]})
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    activity.text = "hello"
    from botframework.connector.auth import MicrosoftAppCredentials

    client = ConnectorClient(MicrosoftAppCredentials.empty(), base_url="http://127.0.0.1/")
    msrest = client.conversations._serialize
    assert _CardBodySerializer(msrest).body(activity, "Activity") == msrest.body(activity, "Activity")
    assert activity.attachments[0].content is card  # the activity is left as it was
    odd = MessageFactory.attachment(CardFactory.adaptive_card({"when": object()}))  # not plain JSON: msrest's path
    assert _CardBodySerializer(msrest).body(odd, "Activity") == msrest.body(odd, "Activity")


def test_store_threads_follow_the_cores_and_never_exceed_the_connection_pool() -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import QueuePool

    from bot.app import store_threads

    engine = create_engine("sqlite://", poolclass=QueuePool, pool_size=5, max_overflow=10)
    assert store_threads(engine, cores=2) == 3
    assert store_threads(engine, cores=8) == 9
    assert store_threads(engine, cores=64) == 15  # no more threads than connections to give them
    small = create_engine("sqlite://", poolclass=QueuePool, pool_size=1, max_overflow=0)
    assert store_threads(small, cores=8) == 2


def test_a_card_reply_copies_as_botbuilder_copies_it_sharing_only_the_rendered_card() -> None:
    import copy

    from botframework.connector.aio import ConnectorClient
    from botframework.connector.auth import MicrosoftAppCredentials

    from bot.cards import render
    from bot.conversation.model import Reply
    from bot.teams_sdk.connector import _CardBodySerializer
    from bot.teams_sdk.translate import activity_of

    card = render.help_card("en", ["health Fabrikam"])
    activity = activity_of(Reply(card=card, text="hi"))
    sent = copy.deepcopy(activity)  # what TurnContext.send_activities does to every outgoing activity
    assert sent is not activity and sent.attachments is not activity.attachments
    assert sent.attachments[0] is not activity.attachments[0]
    assert sent.attachments[0].content is card  # the rendered card is shared, not walked
    sent.attachments[0].name = "changed"
    assert activity.attachments[0].name is None  # the attachment itself is a copy
    client = ConnectorClient(MicrosoftAppCredentials.empty(), base_url="http://127.0.0.1/")
    msrest = client.conversations._serialize
    body = _CardBodySerializer(msrest).body(sent, "Activity")
    assert body["attachments"] == [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card,
                                    "name": "changed"}]

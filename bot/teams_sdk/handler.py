"""The botbuilder activity handler: a thin shell that forwards to :class:`ConversationService`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from http import HTTPStatus
from typing import Any

from botbuilder.core import CloudAdapterBase, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue, ChannelAccount

from bot.conversation.model import Inbound
from bot.conversation.service import ConversationService
from bot.teams_sdk.proactive import Messenger
from bot.teams_sdk.translate import activity_of, inbound_of

log = logging.getLogger(__name__)

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
ERROR_CONTENT_TYPE = "application/vnd.microsoft.error"
LOGIN_CONTENT_TYPE = "application/vnd.microsoft.activity.loginRequest"


class RapportTeamsHandler(TeamsActivityHandler):  # type: ignore[misc]  # the SDK is untyped
    """Routes messages, installs and ``Action.Execute`` invokes to the conversation service."""

    def __init__(self, service: ConversationService, messenger: Messenger | None,
                 clock: Callable[[], datetime]) -> None:
        self._service = service
        self._messenger = messenger
        self._clock = clock

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        inbound = inbound_of(turn_context.activity, "message", now=self._clock())
        for reply in await self._service.on_message(inbound):
            await turn_context.send_activity(activity_of(reply))

    async def on_members_added_activity(self, members_added: list[ChannelAccount],
                                        turn_context: TurnContext) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(m.id == bot_id for m in members_added):
            await self._install(turn_context)

    async def on_members_removed_activity(self, members_removed: list[ChannelAccount],
                                          turn_context: TurnContext) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(m.id == bot_id for m in members_removed):
            await self._service.on_uninstall(inbound_of(turn_context.activity, "uninstall", now=self._clock()))

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self._install(turn_context)

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        await self._service.on_uninstall(inbound_of(turn_context.activity, "uninstall", now=self._clock()))

    async def _install(self, turn_context: TurnContext) -> None:
        inbound = inbound_of(turn_context.activity, "install", now=self._clock())
        for reply in await self._service.on_install(inbound):
            await turn_context.send_activity(activity_of(reply))

    async def on_adaptive_card_invoke(self, turn_context: TurnContext,
                                      invoke_value: AdaptiveCardInvokeValue) -> AdaptiveCardInvokeResponse:
        # botbuilder 4.17.1 leaves invoke_value.action as a plain dict (PLATFORM.md).
        action: Any = invoke_value.action
        verb = action.get("verb") if isinstance(action, dict) else getattr(action, "verb", None)
        data = action.get("data") if isinstance(action, dict) else getattr(action, "data", None)
        inbound: Inbound = inbound_of(turn_context.activity, "action", now=self._clock(),
                                      verb=str(verb or "")[:64], data=data if isinstance(data, dict) else {})
        sso = invoke_value.authentication  # Teams SSO for Universal Actions: {id, connectionName, token}
        if isinstance(sso, dict) and isinstance(sso.get("token"), str) and 0 < len(sso["token"]) <= 16384:
            inbound = replace(inbound, sso_token=sso["token"])
        result = await self._service.on_action(inbound)
        if self._messenger is not None:
            for followup in result.followups:
                await self._messenger.send_to_user(followup.tenant_id, followup.user_aad_id, followup.reply)
        if result.login is not None:  # Teams SSO for Universal Actions: ask for the user's token
            return await _login_request(turn_context, *result.login)
        if result.error is not None:
            return AdaptiveCardInvokeResponse(
                status_code=result.status if result.status >= 400 else int(HTTPStatus.BAD_REQUEST),
                type=ERROR_CONTENT_TYPE,
                value={"code": "Rejected" if result.status == 403 else "Error", "message": result.error},
            )
        return AdaptiveCardInvokeResponse(status_code=int(HTTPStatus.OK), type=CARD_CONTENT_TYPE,
                                          value=result.card)


async def _login_request(turn_context: TurnContext, connection: str, text: str) -> AdaptiveCardInvokeResponse:
    """A 401 ``loginRequest`` with the OAuth card of ``connection`` (its token exchange resource, for silent SSO, and
    its sign-in link, the fallback), from the Bot Framework token service."""
    try:
        client = turn_context.turn_state.get(CloudAdapterBase.USER_TOKEN_CLIENT_KEY)
        if client is not None:
            resource = await client.get_sign_in_resource(connection, turn_context.activity, None)
        else:  # adapters that are token providers themselves (TestAdapter)
            resource = await turn_context.adapter.get_sign_in_resource_from_user(
                turn_context, connection, turn_context.activity.from_property.id, None)
    except Exception:  # the token service is down or the connection is wrong: say so, change nothing
        log.exception("no sign-in resource for OAuth connection %s", connection)
        return AdaptiveCardInvokeResponse(status_code=int(HTTPStatus.SERVICE_UNAVAILABLE), type=ERROR_CONTENT_TYPE,
                                          value={"code": "Error", "message": "Sign-in is unavailable."})
    value: dict[str, Any] = {"text": text, "connectionName": connection,
                             "buttons": [{"type": "signin", "title": text, "text": text,
                                          "value": resource.sign_in_link}]}
    exchange = resource.token_exchange_resource  # absent when the connection has no token exchange URL (no SSO)
    if exchange is not None:
        value["tokenExchangeResource"] = {"id": exchange.id, "uri": exchange.uri, "providerId": exchange.provider_id}
    return AdaptiveCardInvokeResponse(status_code=int(HTTPStatus.UNAUTHORIZED), type=LOGIN_CONTENT_TYPE, value=value)


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """The single broad ``except`` of the bot: log with context, apologise, stay up."""
    activity = turn_context.activity
    log.exception("turn failed: type=%s conversation=%s", activity.type,
                  activity.conversation.id if activity.conversation else None, exc_info=error)
    if activity.type == "message":
        from bot.conversation.i18n import lang_of, t
        from bot.conversation.model import Reply

        try:
            await turn_context.send_activity(activity_of(Reply(text=t("error", lang_of(activity.locale)))))
        except Exception:  # the connector itself may be what failed
            log.warning("could not send the error apology", exc_info=True)

"""Proactive sends (intro requests, digests) to conversations we stored, with the HTTP status on failure."""

from __future__ import annotations

import logging
from typing import Any

from botbuilder.core import TurnContext
from msrest.exceptions import HttpOperationError

from bot.conversation.model import ConversationRecord, Reply
from bot.digest.queue import SendFailed
from bot.ports import ConversationStore
from bot.teams_sdk.translate import activity_of, reference_of

log = logging.getLogger(__name__)


class Messenger:
    """Sends replies to stored conversations through the adapter."""

    def __init__(self, adapter: Any, app_id: str, conversations: ConversationStore) -> None:
        self._adapter = adapter
        self._app_id = app_id
        self._conversations = conversations

    async def send(self, record: ConversationRecord, reply: Reply) -> None:
        """Send one message to ``record``'s conversation; raise :class:`SendFailed` with the status on failure."""

        async def callback(turn_context: TurnContext) -> None:
            await turn_context.send_activity(activity_of(reply))

        try:
            await self._adapter.continue_conversation(reference_of(record), callback, self._app_id or None)
        except HttpOperationError as err:
            response = getattr(err, "response", None)
            status = getattr(response, "status_code", None)
            headers = getattr(response, "headers", None) or {}
            raise SendFailed(status, headers.get("Retry-After")) from err

    async def send_to_user(self, tenant_id: str, user_aad_id: str, reply: Reply) -> bool:
        """Send to the user's personal chat with the bot; False if the bot was never installed for them."""
        records = self._conversations.personal_for(tenant_id, [user_aad_id])
        if not records:
            log.info("no personal conversation with %s/%s: proactive message not sent", tenant_id, user_aad_id)
            return False
        await self.send(records[0], reply)
        return True

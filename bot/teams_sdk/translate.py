"""Activities ↔ plain values (:mod:`bot.conversation.model`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity, Attachment, ConversationReference

from bot.conversation.model import ConversationRecord, Inbound, Reply


def tenant_of(activity: Activity) -> str | None:
    """The tenant: Teams puts it in ``channelData.tenant.id`` and ``conversation.tenantId``; they must agree."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    from_data = (data.get("tenant") or {}).get("id") if isinstance(data.get("tenant"), dict) else None
    from_conv = getattr(activity.conversation, "tenant_id", None) if activity.conversation else None
    if from_data and from_conv and from_data != from_conv:
        return None  # contradictory: treat as unknown rather than pick one
    tenant = from_data or from_conv
    return tenant if isinstance(tenant, str) and 0 < len(tenant) <= 64 else None


def record_of(activity: Activity, tenant_id: str | None) -> ConversationRecord | None:
    """Our conversation reference for the activity's conversation."""
    if not tenant_id or not activity.conversation or not activity.conversation.id or not activity.service_url:
        return None
    reference = TurnContext.get_conversation_reference(activity)
    conv_type = activity.conversation.conversation_type or "personal"
    return ConversationRecord(
        tenant_id=tenant_id,
        conversation_id=activity.conversation.id,
        service_url=activity.service_url,
        conversation_type=conv_type,
        user_aad_id=getattr(activity.from_property, "aad_object_id", None) if activity.from_property else None,
        channel_id=activity.channel_id or "msteams",
        bot_id=activity.recipient.id if activity.recipient else "",
        locale=activity.locale,
        reference=reference.serialize(),
    )


def inbound_of(activity: Activity, kind: Any, *, now: datetime, verb: str = "",
               data: dict[str, Any] | None = None) -> Inbound:
    """The plain inbound turn for ``activity``."""
    tenant = tenant_of(activity)
    user = activity.from_property
    return Inbound(
        kind=kind,
        tenant_id=tenant,
        user_aad_id=getattr(user, "aad_object_id", None) if user else None,
        user_name=(user.name or "") if user else "",
        locale=activity.locale,
        conversation=record_of(activity, tenant),
        received_at=now,
        text=activity.text or "",
        verb=verb,
        data=data or {},
    )


class RenderedCard(Attachment):  # type: ignore[misc]  # msrest models are untyped
    """An Adaptive Card attachment whose content one of our renderers built as plain JSON for this reply alone.

    botbuilder deep-copies every outgoing activity before sending it; for a health or who-knows card that walk
    of a few hundred values was the largest part of a card reply's own event-loop CPU. Nothing changes the
    content after rendering (the renderers return a fresh dict per reply), so a copy shares it; every other
    field is copied. The JSON sent is the same: this is an ``Attachment`` to msrest.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> RenderedCard:
        return RenderedCard(content_type=self.content_type, content=self.content, content_url=self.content_url,
                            name=self.name, thumbnail_url=self.thumbnail_url)


def activity_of(reply: Reply) -> Activity:
    """The message activity for a reply."""
    if reply.card is not None:
        card = CardFactory.adaptive_card(reply.card)
        activity = MessageFactory.attachment(RenderedCard(content_type=card.content_type, content=card.content))
        if reply.text:
            activity.text = reply.text
        return activity
    return MessageFactory.text(reply.text)


def reference_of(record: ConversationRecord) -> ConversationReference:
    """The SDK reference rebuilt from our record."""
    return ConversationReference().deserialize(record.reference)

"""Cards for notes: one suggestion (meeting, call, task or contact) with editable fields and its create button,
and the "created" card."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from bot.cards.render import card, text_block
from bot.conversation.i18n import t
from bot.conversation.model import Lang
from bot.ports import Created

_EVENT_KINDS = ("meeting", "call")


def _input(kind: str, id_: str, label: str, value: str, **extra: Any) -> dict[str, Any]:
    field: dict[str, Any] = {"type": kind, "id": id_, "label": label, **extra}
    if value:
        field["value"] = value
    return field


def _number(id_: str, label: str, value: str) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "Input.Number", "id": id_, "label": label, "min": 5, "max": 1440}
    with contextlib.suppress(ValueError):  # an unreadable value is left out: the user types it again
        field["value"] = int(float(value))
    return field


def render_suggestion(kind: str, form: dict[str, str], quote: str, lang: Lang, *,
                      action: tuple[str, dict[str, Any]] | None, confidence: float | None = None,
                      error: str | None = None, evidence: Sequence[str] = (), known: bool = False) -> dict[str, Any]:
    """A suggestion: what it is, the note text it came from, what was filled in from elsewhere (``evidence``), its
    fields (editable) and its create button. ``known``: a contact Rapport already knows, not a new one."""
    title = t("kind_contact_known" if kind == "contact" and known else f"kind_{kind}", lang)
    body: list[dict[str, Any]] = [text_block(t("suggested", lang, what=title), weight="Bolder", size="Medium")]
    if quote:
        body.append(text_block(f"“{quote}”", isSubtle=True, size="Small"))
    body += [text_block(line, isSubtle=True, size="Small") for line in evidence]
    if kind in _EVENT_KINDS:
        body += [
            _input("Input.Text", "title", t("field_title", lang), form.get("title", ""), maxLength=255,
                   isRequired=True, errorMessage=t("field_required", lang)),
            _input("Input.Date", "date", t("field_date", lang), form.get("date", ""), isRequired=True,
                   errorMessage=t("field_required", lang)),
            _input("Input.Time", "time", t("field_time", lang), form.get("time", ""), isRequired=True,
                   errorMessage=t("field_required", lang)),
            _number("duration", t("field_duration", lang), form.get("duration", "")),
            _input("Input.Text", "attendees", t("field_attendees", lang), form.get("attendees", ""),
                   placeholder="name@example.com, …"),
        ]
    elif kind == "contact":
        body += [
            _input("Input.Text", "name", t("field_name", lang), form.get("name", ""), maxLength=200,
                   isRequired=True, errorMessage=t("field_required", lang)),
            _input("Input.Text", "email", t("field_email", lang), form.get("email", ""), maxLength=254,
                   style="Email"),
            _input("Input.Text", "phone", t("field_phone", lang), form.get("phone", ""), maxLength=64, style="Tel"),
            _input("Input.Text", "job_title", t("field_job_title", lang), form.get("job_title", ""), maxLength=128),
            _input("Input.Text", "company", t("field_company", lang), form.get("company", ""), maxLength=128),
        ]
    else:
        body += [
            _input("Input.Text", "title", t("field_title", lang), form.get("title", ""), maxLength=255,
                   isRequired=True, errorMessage=t("field_required", lang)),
            _input("Input.Date", "due", t("field_due", lang), form.get("due", "")),
        ]
    if confidence is not None:
        body.append(text_block(t("confidence", lang, value=round(confidence * 100)), isSubtle=True, size="Small"))
    if error:
        body.append(text_block(error, color="Attention"))
    actions = []
    if action is not None:
        verb, data = action
        label = t({"notes.event": "create_event", "notes.contact": "create_contact"}.get(verb, "create_task"), lang)
        actions.append({"type": "Action.Execute", "title": label, "verb": verb, "data": data, "style": "positive"})
    return card(lang, title, body, actions=actions)


def render_created(made: Created, when: str, attendees: Sequence[str], lang: Lang, *,
                   details: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """What replaces the suggestion once Graph has created it (``details``: a contact's other fields)."""
    head = t({"event": "created_event", "contact": "created_contact"}.get(made.kind, "created_task"), lang)
    if made.kind == "contact":
        facts = [(t("field_name", lang), made.title), *details]
    else:
        facts = [(t("field_title", lang), made.title),
                 (t("field_when" if made.kind == "event" else "field_due", lang), when)]
    if attendees:
        facts.append((t("field_attendees", lang), ", ".join(attendees)))
    body: list[dict[str, Any]] = [text_block("✅ " + head, weight="Bolder", size="Medium"),
                                  {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]}]
    actions = []
    if made.web_link and made.web_link.startswith("https://"):
        actions.append({"type": "Action.OpenUrl", "title": t("open_outlook", lang), "url": made.web_link})
    return card(lang, head, body, actions=actions)

"""`rapport chat`: pressing a form's button sends the card's input values, as Teams does."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.cards.notes import render_suggestion
from bot.chat import ADAPTIVE, BotClient, Identity, LocalConnector, actions_of, inputs_for, render_replies


def _reply(card: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "attachments": [{"contentType": ADAPTIVE, "content": card}]}


def _note_replies() -> list[dict[str, Any]]:
    meeting = render_suggestion("meeting", {"title": "meet again", "date": "2026-11-03", "time": "10:00",
                                            "duration": "30", "attendees": "kwame@pioneer.de"}, "meet again",
                                "en", action=("notes.event", {"signed": "m"}))
    task = render_suggestion("task", {"title": "send the proposal", "due": "2026-11-06"}, "send the proposal",
                             "en", action=("notes.task", {"signed": "t"}))
    return [_reply(meeting), _reply(task)]


def test_inputs_for_gives_the_values_of_the_pressed_buttons_own_card() -> None:
    replies = _note_replies()
    _, actions = render_replies(replies)
    meeting_button, task_button = actions
    assert inputs_for(replies, meeting_button) == {"title": "meet again", "date": "2026-11-03", "time": "10:00",
                                                   "duration": "30", "attendees": "kwame@pioneer.de"}
    assert inputs_for(replies, task_button) == {"title": "send the proposal", "due": "2026-11-06"}
    assert inputs_for(replies, {"type": "Action.Execute"}) == {}  # not on any of these cards


def test_press_merges_the_inputs_into_the_action_data() -> None:
    replies = _note_replies()
    button = actions_of(replies[1])[0]
    posted: list[dict[str, Any]] = []

    async def fake_post(activity: dict[str, Any]) -> tuple[int, Any, list[dict[str, Any]]]:
        posted.append(activity)
        return 200, None, []

    client = BotClient("http://127.0.0.1:1", Identity("t", "u"), LocalConnector(), session=None)  # type: ignore[arg-type]
    client._post = fake_post  # type: ignore[method-assign]
    asyncio.run(client.press(button, inputs_for(replies, button)))
    data = posted[0]["value"]["action"]["data"]
    assert data == {**button["data"], "title": "send the proposal", "due": "2026-11-06"}


def test_fact_titles_in_chinese_line_up_in_a_terminal() -> None:
    from bot.chat import render_card
    card = {"body": [{"type": "TextBlock", "text": "关系健康度：星辰软件", "weight": "Bolder", "size": "Medium"},
                     {"type": "FactSet", "facts": [{"title": "星辰软件 - Add-on", "value": "1"},
                                                   {"title": "Vertex Labs - Platform", "value": "2"}]}]}
    _, rule, first, second = render_card(card)
    assert rule == "═" * 20  # ten wide characters
    # The separators sit in the same terminal column: each Chinese character takes two.
    assert first == "星辰软件 - Add-on" + " " * 5 + " : 1" and second == "Vertex Labs - Platform : 2"

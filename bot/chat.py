"""Talking to a running bot the way Teams does, from a terminal: ``rapport chat``.

:class:`LocalConnector` stands in for the Bot Connector service: a loopback aiohttp server that records every
activity the bot posts (``POST /v3/conversations/{id}/activities[/{replyToId}]``, updates by ``PUT``).
:class:`BotClient` posts Teams-shaped Activities to the bot's ``/api/messages`` with ``serviceUrl`` pointing at
the connector, so replies travel the real Bot Framework path; they are all recorded by the time the bot
answers the POST. :func:`render_activity` turns replies into readable text (TextBlocks, FactSets, containers,
inputs, actions). Against a bot with authentication on, the channel's signed token is required; this client is
for ``rapport serve --dev`` and ``rapport demo`` (loopback, anonymous).
"""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import typer
from aiohttp import web

from analytics.cli_context import cli_context

ADAPTIVE = "application/vnd.microsoft.card.adaptive"
DEMO_FILE = "demo.json"  # written by `rapport demo` under the data directory: who to talk as, where
BOT_ID = "28:rapport-local-bot"


@dataclass
class LocalConnector:
    """A loopback Bot Connector that records what the bot sends."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_route("POST", "/v3/conversations/{conversation}/activities", self._record)
        app.router.add_route("POST", "/v3/conversations/{conversation}/activities/{reply_to}", self._record)
        app.router.add_route("PUT", "/v3/conversations/{conversation}/activities/{activity}", self._record)
        app.router.add_route("POST", "/v3/conversations", self._create)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{host}:{bound}/"
        return self.url

    async def _record(self, request: web.Request) -> web.Response:
        body = await request.json()
        body["_conversation"] = request.match_info["conversation"]
        self.sent.append(body)
        return web.json_response({"id": "local-" + uuid.uuid4().hex[:12]})

    async def _create(self, request: web.Request) -> web.Response:
        # Proactive sends first create a 1:1 conversation; the bot then posts into it (recorded above).
        return web.json_response({"id": "a:local-" + uuid.uuid4().hex[:12]})

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@dataclass(frozen=True)
class Identity:
    """Who talks to the bot: a user (Entra object id) of a tenant the bot serves."""

    tenant_id: str
    user_id: str
    user_name: str = "Rapport user"
    locale: str = "en-US"


@dataclass
class BotClient:
    """Sends messages (and card actions) to a bot's ``/api/messages`` and returns its replies."""

    bot_url: str  # e.g. http://127.0.0.1:3978
    identity: Identity
    connector: LocalConnector
    session: aiohttp.ClientSession
    conversation_id: str = field(default_factory=lambda: "a:local-" + uuid.uuid4().hex[:16])

    def _activity(self, kind: str, **extra: Any) -> dict[str, Any]:
        i = self.identity
        return {
            "type": kind, "id": uuid.uuid4().hex, "timestamp": datetime.now(UTC).isoformat(),
            "serviceUrl": self.connector.url, "channelId": "msteams",
            "from": {"id": "29:" + i.user_id, "name": i.user_name, "aadObjectId": i.user_id},
            "conversation": {"id": self.conversation_id, "conversationType": "personal", "tenantId": i.tenant_id},
            "recipient": {"id": BOT_ID, "name": "Rapport"}, "locale": i.locale,
            "channelData": {"tenant": {"id": i.tenant_id}}, **extra,
        }

    async def _post(self, activity: dict[str, Any]) -> tuple[int, Any, list[dict[str, Any]]]:
        before = len(self.connector.sent)
        async with self.session.post(self.bot_url.rstrip("/") + "/api/messages", json=activity) as response:
            body = await response.json() if response.content_type == "application/json" else None
            status = response.status
        replies = [a for a in self.connector.sent[before:] if a.get("_conversation") == self.conversation_id]
        return status, body, replies

    async def say(self, text: str) -> list[dict[str, Any]]:
        """Send ``text``; the replies the bot posted to this conversation."""
        status, _, replies = await self._post(self._activity("message", text=text))
        if status >= 400:
            raise BotUnavailable(self.bot_url, status)
        return replies

    async def press(self, action: dict[str, Any], inputs: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Press an ``Action.Execute`` button: an ``adaptiveCard/action`` invoke; the card it answers with.

        ``inputs``: the values of its card's inputs, which Teams merges into the action's data (see
        :func:`inputs_for`); without them a form's button (a note's "Create in my calendar") sends an empty form.
        """
        data = {**(action.get("data") or {}), **(inputs or {})}
        value = {"action": {"type": "Action.Execute", "verb": action.get("verb", ""), "data": data},
                 "trigger": "manual"}
        status, body, replies = await self._post(self._activity("invoke", name="adaptiveCard/action", value=value))
        if status >= 400 and body is None:
            raise BotUnavailable(self.bot_url, status)
        out = list(replies)
        # The invoke answer: {"statusCode", "type": card | message | error, "value"} (Universal Actions).
        if isinstance(body, dict):
            answer = body.get("value")
            if body.get("type") == ADAPTIVE and isinstance(answer, dict):
                out.append({"type": "message", "attachments": [{"contentType": ADAPTIVE, "content": answer}]})
            elif isinstance(answer, dict) and answer.get("message"):
                out.append({"type": "message", "text": f"({answer.get('code', 'error')}) {answer['message']}"})
            elif isinstance(answer, str):
                out.append({"type": "message", "text": answer})
        return out


class BotUnavailable(Exception):
    """The bot refused or failed the request."""

    def __init__(self, url: str, status: int) -> None:
        self.url, self.status = url, status
        super().__init__(f"the bot at {url} answered HTTP {status}")


# --- rendering -------------------------------------------------------------------------------------------------

_MD_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _text(value: Any) -> str:
    return _MD_BOLD.sub(r"\1", str(value or "")).strip()


def actions_of(activity: dict[str, Any]) -> list[dict[str, Any]]:
    """Every action of the activity's cards, in display order (for numbering and pressing)."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Action."):
                found.append(node)
            for key in ("body", "items", "columns", "actions", "card"):
                walk(node.get(key))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for attachment in activity.get("attachments") or []:
        if attachment.get("contentType") == ADAPTIVE:
            walk(attachment.get("content"))
    return found


def inputs_for(replies: Sequence[dict[str, Any]], action: dict[str, Any]) -> dict[str, str]:
    """The input values (as shown, unedited) of the card that holds ``action``, as Teams sends them with a press."""
    for activity in replies:
        for attachment in activity.get("attachments") or []:
            content = attachment.get("content")
            if attachment.get("contentType") != ADAPTIVE or not isinstance(content, dict):
                continue
            if any(a is action for a in actions_of({"attachments": [attachment]})):
                return _input_values(content)
    return {}


def _input_values(node: Any, values: dict[str, str] | None = None) -> dict[str, str]:
    """Every ``Input.*`` of a card by id: its value as a string ("" when it has none)."""
    values = {} if values is None else values
    if isinstance(node, dict):
        if str(node.get("type", "")).startswith("Input.") and node.get("id"):
            value = node.get("value")
            values[str(node["id"])] = "" if value is None else str(value)
        for key in ("body", "items", "columns"):
            _input_values(node.get(key), values)
    elif isinstance(node, list):
        for item in node:
            _input_values(item, values)
    return values


def _columns(text: str) -> int:
    """How many terminal columns ``text`` takes: Chinese characters (wide or full-width) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` columns (``str.ljust`` counts characters: "星辰软件" rows came out too wide)."""
    return text + " " * max(0, width - _columns(text))


def render_card(card: dict[str, Any], actions: Sequence[dict[str, Any]] = ()) -> list[str]:
    """An Adaptive Card as lines of text; actions are numbered in the order of ``actions``."""
    lines: list[str] = []

    def element(node: Any, indent: str) -> None:
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind == "TextBlock":
            text = _text(node.get("text"))
            if node.get("weight") == "Bolder" and node.get("size") in ("Medium", "Large", "ExtraLarge"):
                lines.extend((indent + text, indent + "═" * min(60, max(8, _columns(text)))))
            else:
                lines.extend(indent + part for part in text.splitlines() or [""])
        elif kind == "FactSet":
            facts = node.get("facts") or []
            width = max((_columns(_text(f.get("title"))) for f in facts), default=0)
            lines.extend(f"{indent}{_pad(_text(f.get('title')), width)} : {_text(f.get('value'))}" for f in facts)
        elif kind in ("Container", "Column"):
            for item in node.get("items") or []:
                element(item, indent)
        elif kind == "ColumnSet":
            for column in node.get("columns") or []:
                element(column, indent)
        elif kind == "Image":
            lines.append(f"{indent}[image: {node.get('altText') or node.get('url', '')}]")
        elif isinstance(kind, str) and kind.startswith("Input."):
            label = _text(node.get("label") or node.get("placeholder") or node.get("id"))
            lines.append(f"{indent}[{label}: {node.get('value', '')}]")
        elif kind == "ActionSet":
            for action in node.get("actions") or []:
                button(action, indent)

    def button(action: dict[str, Any], indent: str) -> None:
        number = next((i + 1 for i, a in enumerate(actions) if a is action), None)
        target = f" → {action['url']}" if action.get("type") == "Action.OpenUrl" and action.get("url") else ""
        lines.append(f"{indent}[{number or '·'}] {_text(action.get('title'))}{target}")

    for node in card.get("body") or []:
        element(node, "")
    for action in card.get("actions") or []:
        button(action, "")
    return lines


def render_activity(activity: dict[str, Any], actions: Sequence[dict[str, Any]] = ()) -> str:
    """A reply as readable text: its text, then each card."""
    parts = [_text(activity["text"])] if activity.get("text") else []
    for attachment in activity.get("attachments") or []:
        if attachment.get("contentType") == ADAPTIVE and isinstance(attachment.get("content"), dict):
            parts.append("\n".join(render_card(attachment["content"], actions)))
        else:
            parts.append(f"[{attachment.get('contentType', 'attachment')}]")
    return "\n".join(parts)


def render_replies(replies: Sequence[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """All replies as text, separated by a rule, and the numbered actions they carry."""
    actions = [a for r in replies for a in actions_of(r)]
    text = "\n────────\n".join(render_activity(r, actions) for r in replies)
    return text or "(no reply)", actions


# --- the command -----------------------------------------------------------------------------------------------


def load_demo_identity(data_dir: Path) -> tuple[str, Identity] | None:
    """The bot URL and user `rapport demo` recorded, if it ran."""
    path = data_dir / DEMO_FILE
    if not path.is_file():
        return None
    info = json.loads(path.read_text(encoding="utf-8"))
    return info["bot_url"], Identity(info["tenant_id"], info["user_id"], info.get("user_name", "Rapport user"))


async def converse(bot_url: str, identity: Identity, lines: Sequence[str] | None, echo: Any) -> None:
    """Send ``lines`` (or read them from the terminal until EOF / ``quit``), printing each answer."""
    connector = LocalConnector()
    await connector.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            client = BotClient(bot_url, identity, connector, session)
            actions: list[dict[str, Any]] = []
            replies: list[dict[str, Any]] = []
            queue = list(lines) if lines is not None else None
            while True:
                if queue is not None:
                    if not queue:
                        return
                    text = queue.pop(0)
                    echo(f"you> {text}")
                else:
                    try:
                        text = await asyncio.to_thread(input, "you> ")
                    except EOFError:
                        return
                text = text.strip()
                if not text:
                    continue
                if text.lower() in ("quit", "exit", "/quit"):
                    return
                if text.isdigit() and 1 <= int(text) <= len(actions):
                    chosen = actions[int(text) - 1]
                    if chosen.get("type") != "Action.Execute":
                        echo(f"(button {text} opens {chosen.get('url') or 'nothing here'})")
                        continue
                    pressed = await client.press(chosen, inputs_for(replies, chosen))
                    if not pressed:
                        echo("(no reply)")
                        continue
                    replies = pressed
                else:
                    replies = await client.say(text)
                rendered, actions = render_replies(replies)
                echo(rendered)
    finally:
        await connector.close()


def chat(
    ctx: typer.Context,
    bot_url: str | None = typer.Option(None, "--bot", help="Bot base URL (default: the running demo's)."),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant id (default: the demo's)."),
    user_id: str | None = typer.Option(None, "--user-id", help="Entra object id to talk as (default: demo's)."),
    locale: str = typer.Option("en-US", "--locale", help="Locale of your messages (zh-CN for Chinese)."),
    say: list[str] = typer.Option([], "--say", help="Send this and exit (repeatable); else read lines."),
) -> None:
    """Chat with a running bot (rapport serve --dev or rapport demo) over the Bot Framework protocol.

    Type a question; a number presses that button of the last card; quit or Ctrl-D leaves.
    """
    context = cli_context(ctx)
    demo = load_demo_identity(context.settings.data_dir)
    if (tenant is None or user_id is None) and demo is None:
        raise typer.BadParameter("no demo found under the data directory: give --bot, --tenant and --user-id")
    url = bot_url or (demo[0] if demo else f"http://127.0.0.1:{context.settings.bot_port}")
    base = demo[1] if demo else Identity(tenant or "", user_id or "")
    identity = Identity(tenant or base.tenant_id, user_id or base.user_id, base.user_name, locale)
    try:
        asyncio.run(converse(url, identity, say or None,
                             lambda text: context.console.print(text, markup=False, highlight=False)))
    except (aiohttp.ClientError, BotUnavailable) as err:
        context.err.print(f"rapport chat: cannot talk to the bot at {url}: {err}")
        raise typer.Exit(1) from err

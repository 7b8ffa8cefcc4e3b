"""End to end over real sockets: admin consent → tenant recorded → first sync against the Graph emulator →
analytics refresh → the bot answers health questions about planted accounts correctly (Bot Framework protocol:
Activity to /api/messages, replies recorded by a local connector)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from analytics.refresh import full_refresh
from analytics.settings import Settings
from analytics.store import models
from bot.admin.first_sync import BackgroundPasses
from bot.admin.routes import FIRST_SYNC_KEY
from bot.app import AppOptions, create_app, store_features
from bot.chat import BotClient, Identity, LocalConnector, render_replies
from graph_sync.emulator import EmulatorState, serve_emulator

from .conftest import CLIENT_ID, CLIENT_SECRET

NOW = datetime(2026, 11, 1, tzinfo=UTC)  # the generator's reference now: the bot answers as of then
EXPECTED_TREND = {"improving": "Improving", "steady": "Steady", "declining": "Declining", "dormant": "Declining"}


def _facts(replies: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for reply in replies:
        for attachment in reply.get("attachments") or []:
            for node in attachment["content"].get("body", []):
                if node.get("type") == "FactSet":
                    out.update({f["title"]: f["value"] for f in node["facts"]})
    return out


def test_consent_then_first_sync_then_the_bot_answers_health_of_planted_accounts(
        engine: Engine, emulator: EmulatorState, small_tenant: Path) -> None:
    truth = json.loads((small_tenant / "ground_truth.json").read_text(encoding="utf-8"))
    vp = next(u for u in truth["users"] if u["role"] == "vp")
    planted = {}  # the first account of each planted trajectory
    for account in truth["accounts"]:
        planted.setdefault(account["trajectory"], account)

    async def main() -> None:
        async with serve_emulator(emulator, port=0) as graph:
            settings = Settings(
                secret_key="e2e-key", bot_host="127.0.0.1", graph_client_id=CLIENT_ID,
                graph_client_secret=CLIENT_SECRET, graph_authority=graph, graph_base_url=graph + "/v1.0",
                sync_calendar_past_days=3650, sync_calendar_future_days=3650)
            app = create_app(settings, engine, dev=True, features=store_features(settings, engine),
                             options=AppOptions(clock=lambda: NOW))
            connector = LocalConnector()
            await connector.start()
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            try:
                async with aiohttp.ClientSession() as http:
                    base = str(server.make_url(""))
                    # 1. The admin starts consent and Entra (here: its answer, as the redirect would bring it)
                    #    comes back to the callback.
                    async with http.get(base + "/admin/consent", allow_redirects=False) as response:
                        assert response.status == 302
                        state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
                    query = urlencode({"admin_consent": "True", "tenant": emulator.tenant_id, "state": state,
                                       "scope": "https://graph.microsoft.com/Mail.ReadBasic.All"})
                    async with http.get(base + "/admin/consent/callback?" + query) as response:
                        assert response.status == 200, await response.text()
                    # 2. The tenant is recorded and its first sync runs in the background of the bot.
                    first_sync = app[FIRST_SYNC_KEY]
                    assert isinstance(first_sync, BackgroundPasses)
                    await first_sync.idle()
                    (report,) = first_sync.reports
                    assert report.tenants == 1 and report.mailboxes_failed == 0 and report.upserted > 1000
                    with engine.connect() as conn:
                        activities = conn.execute(select(func.count()).select_from(
                            models.table_of(models.Activity))).scalar_one()
                    assert activities > 5000
                    # 3. Analytics refresh, then ask the bot as the VP (who may see every relationship).
                    await asyncio.to_thread(full_refresh, engine, emulator.tenant_id, settings, now=NOW)
                    client = BotClient(base, Identity(emulator.tenant_id, vp["id"], vp["display_name"]),
                                       connector, http)
                    for trajectory, account in sorted(planted.items()):
                        replies = await client.say(f"health of {account['domain']}")
                        facts = _facts(replies)
                        rendered, _ = render_replies(replies)
                        assert facts.get("Trend") == EXPECTED_TREND[trajectory], (account, rendered)
                        assert account["name"] in rendered or account["domain"] in rendered
                    help_replies = await client.say("help")
                    text, actions = render_replies(help_replies)
                    assert "Here is what I can do" in text and "health of Fabrikam" in text and actions == []
            finally:
                await server.close()
                await connector.close()
    asyncio.run(main())
    with engine.connect() as conn:
        (tenant,) = conn.execute(select(models.table_of(models.Tenant))).mappings().all()
        consents = conn.execute(select(func.count()).select_from(models.table_of(models.ConsentRecord))).scalar_one()
    assert tenant["tenant_id"] == emulator.tenant_id and tenant["status"] == "active" and consents == 1

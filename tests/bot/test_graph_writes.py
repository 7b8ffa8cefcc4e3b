"""Graph writes (events, To Do tasks, contacts; application and on-behalf-of) through msgraph-sdk against the
Graph emulator's MockTransport."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from analytics.errors import ConfigError
from analytics.settings import Settings
from bot.errors import WriteFailed
from bot.graph_writes import CONTACT_KEY_PROPERTY, MsGraphWrites, delegated_app
from bot.ports import ContactDraft, Created, EventDraft, TaskDraft
from graph_sync.emulator import EmulatorConfig, EmulatorState
from graph_sync.emulator.delegated import user_assertion
from graph_sync.obo import DelegatedApp
from graph_sync.tenants import add_tenant
from tests.graph_sync.emulator.tenant_factory import ALICE, BOB, TENANT_ID, write_tenant


@pytest.fixture(scope="session")
def emulator_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tenant(tmp_path_factory.mktemp("graph-tenant"), inbox=2, sent=1, events=1)


@pytest.fixture
def graph(emulator_dir: Path, engine: Engine, now: datetime) -> EmulatorState:
    """The emulator, with its tenant registered in the store as the sync would register it."""
    state = EmulatorState.from_directory(emulator_dir, EmulatorConfig(clock=lambda: now.timestamp()))
    app = state.register_app()
    add_tenant(engine, tenant_id=TENANT_ID, client_id=app.client_id, client_secret=app.client_secret, now=now,
               emulator=True, authority="https://login.emulator.test")
    return state


def _event(tx: str = "tx-1") -> EventDraft:
    return EventDraft("Demo with Fabrikam", datetime(2026, 11, 10, 15, 0), datetime(2026, 11, 10, 15, 30),
                      "Europe/Berlin", ("bob@contoso.example",), "from a note", tx)


def test_repeated_event_create_with_one_transaction_id_makes_one_event(graph: EmulatorState, engine: Engine) -> None:
    async def run() -> tuple[str, str, str]:
        writes = MsGraphWrites(engine, transport=graph.mock_transport())
        try:
            a = await writes.create_event(TENANT_ID, ALICE, _event())
            b = await writes.create_event(TENANT_ID, ALICE, _event())
            c = await writes.create_event(TENANT_ID, ALICE, _event("tx-2"))
        finally:
            await writes.aclose()
        return a.id, b.id, c.id
    first, second, third = asyncio.run(run())
    assert first == second != third
    mine = [e for e in graph.mailboxes[ALICE].events.items.values() if e.data["subject"] == "Demo with Fabrikam"]
    assert len(mine) == 2
    assert mine[0].data["start"] == {"dateTime": "2026-11-10T15:00:00", "timeZone": "Europe/Berlin"}
    invited = [e for e in graph.mailboxes[BOB].events.items.values() if e.data["subject"] == "Demo with Fabrikam"]
    assert len(invited) == 2  # one invitation per distinct event


def test_repeated_task_create_with_one_key_makes_one_task(graph: EmulatorState, engine: Engine) -> None:
    draft = TaskDraft("Send the pricing deck", date(2026, 11, 6), "Europe/Berlin", "from a note", "key-1")

    async def run() -> list[str]:
        writes = MsGraphWrites(engine, transport=graph.mock_transport())
        try:
            made = [await writes.create_task(TENANT_ID, ALICE, draft) for _ in range(3)]
            made.append(await writes.create_task(TENANT_ID, ALICE, TaskDraft("Other", None, "UTC", "", "key-2")))
        finally:
            await writes.aclose()
        return [m.id for m in made]
    ids = asyncio.run(run())
    assert ids[0] == ids[1] == ids[2] != ids[3]
    box = graph.mailboxes[ALICE]
    [(list_id, todo)] = box.todo_lists.items()
    assert todo["displayName"] == "Rapport"
    tasks = box.todo_tasks[list_id]
    assert [t["title"] for t in tasks] == ["Send the pricing deck", "Other"]
    assert tasks[0]["dueDateTime"] == {"dateTime": "2026-11-06T17:00:00", "timeZone": "Europe/Berlin"}
    assert tasks[0]["linkedResources"][0]["externalId"] == "key-1"


def test_unknown_tenant_and_graph_errors_become_write_failed(graph: EmulatorState, engine: Engine) -> None:
    async def run() -> tuple[WriteFailed, WriteFailed]:
        writes = MsGraphWrites(engine, transport=graph.mock_transport())
        try:
            with pytest.raises(WriteFailed) as unknown:
                await writes.create_event("not-a-tenant", ALICE, _event())
            with pytest.raises(WriteFailed) as missing_user:
                await writes.create_event(TENANT_ID, "nobody-0000", _event())
        finally:
            await writes.aclose()
        return unknown.value, missing_user.value
    unknown, missing_user = asyncio.run(run())
    assert unknown.status is None
    assert missing_user.status == 404


def _contact(key: str = "c-key-1") -> ContactDraft:
    return ContactDraft("Jane Doe", "jane.doe@fabrikam.example", "+1 425 555 0100", "VP Sales", "Fabrikam", key)


def test_repeated_contact_create_with_one_key_makes_one_contact(graph: EmulatorState, engine: Engine) -> None:
    async def run() -> list[Created]:
        writes = MsGraphWrites(engine, transport=graph.mock_transport())
        try:
            made = [await writes.create_contact(TENANT_ID, ALICE, _contact()) for _ in range(2)]
            made.append(await writes.create_contact(TENANT_ID, ALICE, _contact("c-key-2")))
        finally:
            await writes.aclose()
        return made
    first, again, other = asyncio.run(run())
    assert first == again and first.kind == "contact" and first.title == "Jane Doe" and other.id != first.id
    contacts = graph.mailboxes[ALICE].contacts
    assert len(contacts) == 2
    jane = contacts[first.id]
    assert (jane["givenName"], jane["surname"], jane["companyName"], jane["jobTitle"]) == (
        "Jane", "Doe", "Fabrikam", "VP Sales")
    assert jane["emailAddresses"] == [{"address": "jane.doe@fabrikam.example", "name": "Jane Doe"}]
    assert jane["businessPhones"] == ["+1 425 555 0100"]
    assert jane["singleValueExtendedProperties"] == [{"id": CONTACT_KEY_PROPERTY, "value": "c-key-1"}]


BOT_APP = DelegatedApp("bot-app-0001", "bot-secret", "https://login.emulator.test")


def test_delegated_writes_exchange_the_sso_token_on_behalf_of_the_user(graph: EmulatorState,
                                                                      engine: Engine) -> None:
    """OnBehalfOfCredential (azure-identity) against the emulator's token endpoint, then /me/… with that token."""
    graph.register_app(BOT_APP.client_id, BOT_APP.client_secret, roles=())  # no application permission
    sso = user_assertion(graph, ALICE, f"api://botid-{BOT_APP.client_id}")

    async def run() -> list[Created]:
        writes = MsGraphWrites(engine, transport=graph.mock_transport(), delegated=BOT_APP)
        try:
            return [await writes.create_contact(TENANT_ID, ALICE, _contact(), user_assertion=sso),
                    await writes.create_contact(TENANT_ID, ALICE, _contact(), user_assertion=sso),
                    await writes.create_event(TENANT_ID, ALICE, _event("tx-obo"), user_assertion=sso),
                    await writes.create_task(TENANT_ID, ALICE, TaskDraft("Deck", None, "UTC", "", "k-obo"),
                                             user_assertion=sso)]
        finally:
            await writes.aclose()
    contact, again, event, task = asyncio.run(run())
    assert task.kind == "task" and contact == again and len(graph.mailboxes[ALICE].contacts) == 1
    assert event.id in graph.mailboxes[ALICE].events.items
    assert [t["title"] for ts in graph.mailboxes[ALICE].todo_tasks.values() for t in ts] == ["Deck"]
    paths = [(r.method, r.path) for r in graph.log if r.status in (200, 201)]
    assert ("POST", f"/{TENANT_ID}/oauth2/v2.0/token") in paths
    assert ("POST", "/v1.0/me/contacts") in paths and ("POST", "/v1.0/me/events") in paths
    assert not any(p.startswith(f"/v1.0/users/{ALICE}") for _, p in paths)  # nothing with app permission


def test_a_refused_sso_token_is_a_failed_write_and_creates_nothing(graph: EmulatorState, engine: Engine) -> None:
    graph.register_app(BOT_APP.client_id, BOT_APP.client_secret, roles=())
    foreign = user_assertion(graph, ALICE, "api://botid-another-app")  # not addressed to our app

    async def run() -> WriteFailed:
        writes = MsGraphWrites(engine, transport=graph.mock_transport(), delegated=BOT_APP)
        try:
            with pytest.raises(WriteFailed) as failed:
                await writes.create_contact(TENANT_ID, ALICE, _contact(), user_assertion=foreign)
        finally:
            await writes.aclose()
        return failed.value
    failed = asyncio.run(run())
    assert failed.status == 401 and graph.mailboxes[ALICE].contacts == {}


def test_an_sso_token_of_another_user_is_refused_before_any_exchange(graph: EmulatorState, engine: Engine) -> None:
    graph.register_app(BOT_APP.client_id, BOT_APP.client_secret, roles=())
    bobs = user_assertion(graph, BOB, f"api://botid-{BOT_APP.client_id}")  # valid, but not Alice's

    async def run() -> WriteFailed:
        writes = MsGraphWrites(engine, transport=graph.mock_transport(), delegated=BOT_APP)
        try:
            with pytest.raises(WriteFailed) as failed:
                await writes.create_contact(TENANT_ID, ALICE, _contact(), user_assertion=bobs)
        finally:
            await writes.aclose()
        return failed.value
    before = len(graph.log)
    assert asyncio.run(run()).status == 403
    assert len(graph.log) == before and graph.mailboxes[BOB].contacts == {}


def test_delegated_writes_are_configured_by_settings_and_need_the_bot_secret() -> None:
    base = Settings()
    assert delegated_app(base) is None
    on = base.with_overrides(bot_sso_writes=True, bot_app_id="bot-app-0001", bot_app_password="s")
    assert delegated_app(on) == DelegatedApp("bot-app-0001", "s", "https://login.microsoftonline.com")
    with pytest.raises(ConfigError, match="RAPPORT_BOT_SSO_WRITES"):
        delegated_app(base.with_overrides(bot_sso_writes=True, bot_app_id="bot-app-0001"))
    with pytest.raises(ConfigError, match="RAPPORT_GRAPH_AUTHORITY"):
        delegated_app(on.with_overrides(graph_authority="http://127.0.0.1:9000"))

"""Notes → suggestion cards → Graph writes, through TestAdapter, the real analyzer and the Graph emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity
from sqlalchemy.engine import Engine

from analytics.nlp.analyzer import NoteAnalyzer
from bot.conversation.service import ConversationService
from bot.features import Features, wire
from bot.graph_writes import MsGraphWrites
from graph_sync.emulator import EmulatorConfig, EmulatorState
from graph_sync.emulator.delegated import user_assertion
from graph_sync.obo import DelegatedApp
from graph_sync.tenants import add_tenant
from tests.bot.fakes import FakeConversations, FakeDirectory, principal
from tests.bot.test_cards_schema import VALIDATOR
from tests.bot.test_conversation import adapter_for, card_of, say
from tests.graph_sync.emulator.tenant_factory import ALICE, BOB, TENANT_ID, write_tenant

KEY = b"notes-key"
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # Thursday, 09:00 in Berlin
NOTE = ("Call with Dana today. Let's meet next Tuesday at 3pm for 45 minutes with dana@fabrikam.example to demo "
        "the new release. I will send the pricing deck by Friday.")


@pytest.fixture(scope="session")
def analyzer() -> NoteAnalyzer:
    return NoteAnalyzer()


@pytest.fixture(scope="session")
def emulator_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tenant(tmp_path_factory.mktemp("notes-tenant"), inbox=1, sent=1, events=1)


@pytest.fixture
def graph(emulator_dir: Path, engine: Engine) -> EmulatorState:
    state = EmulatorState.from_directory(emulator_dir, EmulatorConfig(clock=lambda: 1_790_000_000.0))
    app = state.register_app()
    add_tenant(engine, tenant_id=TENANT_ID, client_id=app.client_id, client_secret=app.client_secret,
               now=NOW, emulator=True, authority="https://login.emulator.test")
    return state


@pytest.fixture
def writes(graph: EmulatorState, engine: Engine) -> Iterator[MsGraphWrites]:
    w = MsGraphWrites(engine, transport=graph.mock_transport())
    yield w
    asyncio.run(w.aclose())


def _service(analyzer: NoteAnalyzer, writes: MsGraphWrites | None, sso_connection: str | None = None, *,
             time_zone: str = "Europe/Berlin", now: datetime = NOW) -> ConversationService:
    alice = principal(ALICE, "Alice")
    alice = type(alice)(TENANT_ID, ALICE, "Alice", "alice@contoso.example", "rep", frozenset({ALICE}),
                        time_zone)
    directory = FakeDirectory(users={ALICE: alice}, tenants={TENANT_ID})
    conversations = FakeConversations()
    table, actions = wire(Features(notes=analyzer, graph_writes=writes, sso_connection=sso_connection),
                          conversations=conversations, secret_key=KEY)
    return ConversationService(directory, conversations, table, KEY, clock=lambda: now,
                               monotonic=lambda: 0.0, actions=actions)


def _adapter(service: ConversationService, locale: str = "en-US") -> TestAdapter:
    return adapter_for(service, ALICE, tenant=TENANT_ID, locale=locale)


def _press(service: ConversationService, card: dict[str, Any], inputs: dict[str, Any] | None = None,
           sso_token: str | None = None) -> dict[str, Any]:
    """Press the card's button the way Teams does: the button's data merged with the inputs' values (and, after
    Teams SSO, the user's token in ``authentication``)."""
    [action] = card["actions"]
    values = {i["id"]: i.get("value", "") for i in _inputs(card)}
    data = {**action["data"], **values, **(inputs or {})}
    adapter = _adapter(service)
    value: dict[str, Any] = {"action": {"type": "Action.Execute", "verb": action["verb"], "data": data},
                             "trigger": "manual"}
    if sso_token is not None:
        value["authentication"] = {"id": "sso-1", "connectionName": "rapport-sso", "token": sso_token}

    async def run() -> dict[str, Any]:
        await adapter.receive_activity(Activity(type="invoke", name="adaptiveCard/action", value=value))
        [response] = [a for a in adapter.activity_buffer if a.type == "invokeResponse"]
        return response.value.body  # type: ignore[no-any-return]
    return asyncio.run(run())


def _inputs(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in card["body"] if str(e.get("type", "")).startswith("Input.")]


def _cards(service: ConversationService, text: str, locale: str = "en-US") -> list[dict[str, Any]]:
    return [card_of(a) for a in say(_adapter(service, locale), text, locale=locale)]


def test_a_pasted_note_gets_one_valid_card_per_suggestion_with_filled_fields(
        analyzer: NoteAnalyzer, writes: MsGraphWrites) -> None:
    cards = _cards(_service(analyzer, writes), NOTE)
    verbs = [c["actions"][0]["verb"] if "actions" in c else None for c in cards]
    assert verbs == ["notes.event", "notes.event", "notes.contact", "notes.task"]  # the call, the demo, Dana, the deck
    for card in cards:
        assert not list(VALIDATOR.iter_errors(card))
    call = {i["id"]: i.get("value") for i in _inputs(cards[0])}
    assert call["date"] == "2026-11-26" and call.get("time") is None  # "today": the time is left to the user
    demo = {i["id"]: i.get("value") for i in _inputs(cards[1])}
    assert demo["date"] == "2026-12-01" and demo["time"] == "15:00" and demo["duration"] == 45
    assert demo["attendees"] == "dana@fabrikam.example"
    deck = {i["id"]: i.get("value") for i in _inputs(cards[3])}
    assert deck["due"] == "2026-11-27"


def test_a_meeting_split_from_a_sentence_is_with_the_person_the_sentence_named(
        analyzer: NoteAnalyzer, writes: MsGraphWrites) -> None:
    text = ("note: call with kwame.king@pioneeranalytics.de, send the proposal by Friday and meet again next "
            "Tuesday at 10:00. Lunch with the team on Monday.")
    events = [{i["id"]: i.get("value") for i in _inputs(c)} for c in _cards(_service(analyzer, writes), text)
              if c.get("actions") and c["actions"][0]["verb"] == "notes.event"]
    meeting = next(e for e in events if e["title"].startswith("meet again"))
    assert meeting["time"] == "10:00"
    assert meeting["attendees"] == "kwame.king@pioneeranalytics.de"  # named earlier in its sentence
    lunch = next(e for e in events if e["title"].startswith("Lunch"))
    assert not lunch.get("attendees")  # another sentence: nobody is carried over


def test_pressing_create_twice_makes_one_event_and_the_card_shows_it(
        analyzer: NoteAnalyzer, writes: MsGraphWrites, graph: EmulatorState) -> None:
    service = _service(analyzer, writes)
    demo = _cards(service, "note: " + NOTE)[1]
    before = len(graph.mailboxes[ALICE].events.items)
    first = _press(service, demo, {"title": "Fabrikam demo"})
    second = _press(service, demo, {"title": "Fabrikam demo"})
    assert first["statusCode"] == second["statusCode"] == 200
    assert len(graph.mailboxes[ALICE].events.items) == before + 1
    [made] = [e.data for e in graph.mailboxes[ALICE].events.items.values() if e.data["subject"] == "Fabrikam demo"]
    assert made["start"] == {"dateTime": "2026-12-01T15:00:00", "timeZone": "Europe/Berlin"}
    assert made["end"]["dateTime"] == "2026-12-01T15:45:00"
    assert made["attendees"][0]["emailAddress"]["address"] == "dana@fabrikam.example"
    assert made["transactionId"]
    refreshed = first["value"]
    assert "Added to your calendar" in str(refreshed) and "Fabrikam demo" in str(refreshed)
    assert "actions" not in refreshed or all(a["type"] != "Action.Execute" for a in refreshed["actions"])
    assert not list(VALIDATOR.iter_errors(refreshed))


def test_a_windows_mailbox_zone_schedules_in_the_users_zone_not_utc(
        analyzer: NoteAnalyzer, writes: MsGraphWrites, graph: EmulatorState) -> None:
    # Graph's mailboxSettings name the zone the Windows way; 17:00 Pacific on Oct 31 is already Nov 1 in UTC.
    evening = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)  # 2026-10-31 17:00 in Los Angeles (PDT)
    service = _service(analyzer, writes, time_zone="Pacific Standard Time", now=evening)
    [call] = [c for c in _cards(service, "call Kwame tomorrow at 9am")
              if c.get("actions") and c["actions"][0]["verb"] == "notes.event"]
    form = {i["id"]: i.get("value") for i in _inputs(call)}
    assert (form["date"], form["time"]) == ("2026-11-01", "09:00")
    assert _press(service, call, {"title": "Call Kwame"})["statusCode"] == 200
    [made] = [e.data for e in graph.mailboxes[ALICE].events.items.values() if e.data["subject"] == "Call Kwame"]
    assert made["start"] == {"dateTime": "2026-11-01T09:00:00", "timeZone": "America/Los_Angeles"}


def test_pressing_add_task_twice_makes_one_todo_task(analyzer: NoteAnalyzer, writes: MsGraphWrites,
                                                      graph: EmulatorState) -> None:
    service = _service(analyzer, writes)
    deck = _cards(service, NOTE)[3]
    assert _press(service, deck)["statusCode"] == 200
    assert "Added to your To Do" in str(_press(service, deck)["value"])
    [tasks] = graph.mailboxes[ALICE].todo_tasks.values()
    assert len(tasks) == 1 and tasks[0]["dueDateTime"]["dateTime"].startswith("2026-11-27")


def test_the_same_note_pasted_again_keeps_its_keys_but_another_note_does_not(
        analyzer: NoteAnalyzer, writes: MsGraphWrites) -> None:
    service = _service(analyzer, writes)
    key = lambda card: card["actions"][0]["data"]["rapport"]["a"]["key"]  # noqa: E731
    assert key(_cards(service, NOTE)[1]) == key(_cards(service, NOTE)[1])
    assert key(_cards(service, NOTE)[1]) != key(_cards(service, NOTE + " Thanks!")[1])


def test_a_bad_date_returns_the_form_with_an_error_and_creates_nothing(
        analyzer: NoteAnalyzer, writes: MsGraphWrites, graph: EmulatorState) -> None:
    service = _service(analyzer, writes)
    demo = _cards(service, NOTE)[1]
    before = len(graph.mailboxes[ALICE].events.items)
    body = _press(service, demo, {"date": "someday"})
    assert body["statusCode"] == 200 and "valid date" in str(body["value"])
    assert body["value"]["actions"][0]["verb"] == "notes.event"  # can be fixed and pressed again
    assert len(graph.mailboxes[ALICE].events.items) == before


def test_an_edited_key_is_rejected_and_nothing_is_created(analyzer: NoteAnalyzer, writes: MsGraphWrites,
                                                          graph: EmulatorState) -> None:
    service = _service(analyzer, writes)
    demo = _cards(service, NOTE)[1]
    demo["actions"][0]["data"]["rapport"]["a"]["key"] = "00000000-0000-0000-0000-000000000000"
    before = len(graph.mailboxes[ALICE].events.items)
    assert _press(service, demo)["statusCode"] == 403
    assert len(graph.mailboxes[ALICE].events.items) == before


def test_chinese_note_gets_chinese_buttons(analyzer: NoteAnalyzer, writes: MsGraphWrites) -> None:
    service = _service(analyzer, writes)
    cards = _cards(service, "下周二下午三点给王总打电话确认报价", locale="zh-CN")
    assert cards[0]["lang"] == "zh" and cards[0]["actions"][0]["title"] == "添加到我的日历"


CONTACT_NOTE = "Met Jane Doe, jane.doe@fabrikam.example, +1 425 555 0100 at the expo."


def _contact_card(service: ConversationService) -> dict[str, Any]:
    [card] = [c for c in _cards(service, CONTACT_NOTE) if "New contact" in str(c)]
    return card


def test_pressing_add_contact_twice_makes_one_outlook_contact(analyzer: NoteAnalyzer, writes: MsGraphWrites,
                                                              graph: EmulatorState) -> None:
    service = _service(analyzer, writes)
    card = _contact_card(service)
    assert not list(VALIDATOR.iter_errors(card))
    fields = {i["id"]: i.get("value") for i in _inputs(card)}
    assert fields["name"] == "Jane Doe" and fields["email"] == "jane.doe@fabrikam.example"
    assert card["actions"][0]["verb"] == "notes.contact" and card["actions"][0]["title"] == "Add to my Outlook contacts"
    first = _press(service, card, {"company": "Fabrikam"})
    second = _press(service, card, {"company": "Fabrikam"})
    assert first["statusCode"] == second["statusCode"] == 200
    [made] = graph.mailboxes[ALICE].contacts.values()
    assert (made["displayName"], made["companyName"]) == ("Jane Doe", "Fabrikam")
    assert made["emailAddresses"][0]["address"] == "jane.doe@fabrikam.example"
    refreshed = first["value"]
    assert "Added to your Outlook contacts" in str(refreshed) and "Fabrikam" in str(refreshed)
    assert "actions" not in refreshed or all(a["type"] != "Action.Execute" for a in refreshed["actions"])
    assert not list(VALIDATOR.iter_errors(refreshed))


def test_a_contact_without_a_name_or_with_a_bad_email_is_returned_with_an_error(
        analyzer: NoteAnalyzer, writes: MsGraphWrites, graph: EmulatorState) -> None:
    service = _service(analyzer, writes)
    card = _contact_card(service)
    for bad in ({"name": ""}, {"email": "not-an-address"}):
        body = _press(service, card, bad)
        assert body["statusCode"] == 200 and "valid email" in str(body["value"])
        assert body["value"]["actions"][0]["verb"] == "notes.contact"
    assert graph.mailboxes[ALICE].contacts == {}


def test_with_a_teams_sso_token_the_write_is_delegated_on_behalf_of_the_user(
        analyzer: NoteAnalyzer, engine: Engine, graph: EmulatorState) -> None:
    bot_app = DelegatedApp("bot-app-0001", "bot-secret", "https://login.emulator.test")
    graph.register_app(bot_app.client_id, bot_app.client_secret, roles=())
    delegated = MsGraphWrites(engine, transport=graph.mock_transport(), delegated=bot_app)
    try:
        service = _service(analyzer, delegated)
        sso = user_assertion(graph, ALICE, f"api://botid-{bot_app.client_id}")
        body = _press(service, _contact_card(service), sso_token=sso)
        assert body["statusCode"] == 200 and "Added to your Outlook contacts" in str(body["value"])
        assert [r.path for r in graph.log if r.method == "POST" and r.status == 201] == ["/v1.0/me/contacts"]
        # Bob's token pressed on Alice's card: refused before any exchange, nothing created.
        bobs = user_assertion(graph, BOB, f"api://botid-{bot_app.client_id}")
        other = _press(service, _cards(service, NOTE)[3], sso_token=bobs)
        assert "status 403" in str(other["value"]) and not graph.mailboxes[ALICE].todo_tasks
    finally:
        asyncio.run(delegated.aclose())


def test_small_talk_still_gets_help_and_without_graph_there_are_no_buttons(analyzer: NoteAnalyzer) -> None:
    service = _service(analyzer, None)
    [help_card] = _cards(service, "hello there, how are you?")
    assert "Here is what I can do" in str(help_card) and "note:" in str(help_card)
    cards = _cards(service, NOTE)
    assert cards and all("actions" not in c for c in cards)


def test_with_an_sso_connection_a_press_without_token_asks_teams_to_sign_in_first(
        analyzer: NoteAnalyzer, engine: Engine, graph: EmulatorState) -> None:
    bot_app = DelegatedApp("bot-app-0001", "bot-secret", "https://login.emulator.test")
    graph.register_app(bot_app.client_id, bot_app.client_secret, roles=())
    delegated = MsGraphWrites(engine, transport=graph.mock_transport(), delegated=bot_app)
    try:
        service = _service(analyzer, delegated, sso_connection="rapport-sso")
        card = _contact_card(service)
        asked = _press(service, card)
        assert asked["statusCode"] == 401 and asked["type"] == "application/vnd.microsoft.activity.loginRequest"
        login = asked["value"]
        assert login["connectionName"] == "rapport-sso" and login["tokenExchangeResource"]["uri"]
        assert login["buttons"][0]["type"] == "signin" and login["buttons"][0]["value"].startswith("https://")
        assert graph.mailboxes[ALICE].contacts == {}  # nothing written before the token came
        sso = user_assertion(graph, ALICE, f"api://botid-{bot_app.client_id}")
        done = _press(service, card, sso_token=sso)  # Teams presses again with the token
        assert done["statusCode"] == 200 and len(graph.mailboxes[ALICE].contacts) == 1
    finally:
        asyncio.run(delegated.aclose())

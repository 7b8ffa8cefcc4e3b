"""Note suggestions prefilled from the contacts Rapport knows, worded as what the button does (Outlook contacts),
and meetings/calls with the note's one person (user reports, 2026-11)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from botbuilder.schema import Activity
from sqlalchemy.engine import Engine

from analytics.nlp.analyzer import NoteAnalyzer
from analytics.query import KnownPerson, RelationshipQueries
from analytics.settings import Settings
from bot.conversation.service import ConversationService
from bot.features import Features, wire
from bot.ports import ContactDraft, Created, EventDraft, TaskDraft
from tests.bot.fakes import FakeAccess, FakeConversations, FakeDirectory
from tests.bot.test_cards_schema import VALIDATOR
from tests.bot.test_conversation import adapter_for, card_of, say

KEY = b"notes-known"
TENANT = "t-known"
REP = "rep-1"
NOW = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)  # the demo's clock: Saturday 17:00 in Los Angeles
LEWIS = KnownPerson("kwame.lewis@crescenthealth-00164.com", "Kwame Lewis", "Crescent Health")
BAKER = KnownPerson("kwame.baker@falconrobotics-00063.com", "Kwame Baker", "Falcon Robotics")


@dataclass
class FakePeople:
    known: Sequence[KnownPerson] = (LEWIS, BAKER)
    asked: list[tuple[list[str], list[str]]] = field(default_factory=list)

    def known_people(self, tenant_id: str, emails: Sequence[str], names: Sequence[str]) -> list[KnownPerson]:
        self.asked.append((list(emails), list(names)))
        return [p for p in self.known if p.email in emails or p.name in names]


@dataclass
class FakeWrites:
    made: list[Any] = field(default_factory=list)

    async def create_event(self, tenant_id: str, user_id: str, draft: EventDraft, *,
                           user_assertion: str | None = None) -> Created:
        self.made.append(draft)
        return Created("event", "e1", draft.subject)

    async def create_task(self, tenant_id: str, user_id: str, draft: TaskDraft, *,
                          user_assertion: str | None = None) -> Created:
        self.made.append(draft)
        return Created("task", "t1", draft.title)

    async def create_contact(self, tenant_id: str, user_id: str, draft: ContactDraft, *,
                             user_assertion: str | None = None) -> Created:
        self.made.append(draft)
        return Created("contact", "c1", draft.name)


@pytest.fixture(scope="module")
def analyzer() -> NoteAnalyzer:
    return NoteAnalyzer()


def _service(analyzer: NoteAnalyzer, people: FakePeople | None, access: FakeAccess | None = None,
             writes: FakeWrites | None = None) -> ConversationService:
    from tests.bot.fakes import principal
    rep = principal(REP, "Rita")
    rep = type(rep)(TENANT, REP, "Rita", "rita@contoso.example", "rep", frozenset({REP}), "America/Los_Angeles")
    directory = FakeDirectory(users={REP: rep}, tenants={TENANT})
    access = access if access is not None else FakeAccess({LEWIS.email: {REP}, BAKER.email: {REP}})
    table, actions = wire(Features(notes=analyzer, graph_writes=writes or FakeWrites(), people=people,
                                   access=access), conversations=FakeConversations(), secret_key=KEY)
    return ConversationService(directory, FakeConversations(), table, KEY, clock=lambda: NOW,
                               monotonic=lambda: 0.0, actions=actions)


def _cards(service: ConversationService, text: str, locale: str = "en-US") -> list[dict[str, Any]]:
    return [card_of(a) for a in say(adapter_for(service, REP, tenant=TENANT, locale=locale), text, locale=locale)]


def _values(card: dict[str, Any]) -> dict[str, Any]:
    return {e["id"]: e.get("value", "") for e in card["body"] if str(e.get("type", "")).startswith("Input.")}


def _of(cards: list[dict[str, Any]], verb: str) -> list[dict[str, Any]]:
    return [c for c in cards if c.get("actions") and c["actions"][0]["verb"] == verb]


def test_a_known_address_prefills_name_and_company_and_is_not_called_new(analyzer: NoteAnalyzer) -> None:
    service = _service(analyzer, FakePeople())
    cards = _cards(service, "note: lunch with kwame.lewis@crescenthealth-00164.com, he wants a quote by Friday")
    [contact] = _of(cards, "notes.contact")
    assert not list(VALIDATOR.iter_errors(contact))
    assert _values(contact) | {"phone": "", "job_title": ""} == {
        "name": "Kwame Lewis", "email": LEWIS.email, "phone": "", "job_title": "", "company": "Crescent Health"}
    text = str(contact)
    assert "New contact" not in text and "Save a known contact in Outlook" in text
    assert "already knows Kwame Lewis (Crescent Health)" in text
    assert contact["actions"][0]["title"] == "Add to my Outlook contacts"
    # The lunch happened (12:00 Saturday, written at 17:00): no meeting in the past is suggested.
    assert _of(cards, "notes.event") == []


def test_an_unknown_address_is_a_new_contact_and_chinese_says_outlook(analyzer: NoteAnalyzer) -> None:
    service = _service(analyzer, FakePeople())
    [contact] = _of(_cards(service, "note: new contact anna@fabrikam.example"), "notes.contact")
    assert "New contact" in str(contact) and _values(contact)["name"] == ""
    [contact] = _of(_cards(service, "笔记：联系人 kwame.lewis@crescenthealth-00164.com", locale="zh-CN"),
                    "notes.contact")
    assert "将已知联系人保存到 Outlook" in str(contact) and contact["actions"][0]["title"] == "添加到我的 Outlook 联系人"
    assert _values(contact)["name"] == "Kwame Lewis"


def test_a_call_about_him_is_with_the_note_s_person_and_says_so(analyzer: NoteAnalyzer) -> None:
    note = ("note: Met Kwame Baker (kwame.baker@falconrobotics-00063.com) today. "
            "Call him next Tuesday at 3pm about pricing.")
    [call] = _of(_cards(_service(analyzer, None), note), "notes.event")
    assert _values(call)["attendees"] == BAKER.email
    assert "taken from the rest of the note: Kwame Baker" in str(call)


def test_a_name_resolves_to_an_address_only_when_unique_and_visible(analyzer: NoteAnalyzer) -> None:
    note = "note: Call Kwame Lewis tomorrow at 10 about the renewal"
    [call] = _of(_cards(_service(analyzer, FakePeople()), note), "notes.event")
    assert _values(call)["attendees"] == LEWIS.email
    assert "Address from Rapport's contacts: Kwame Lewis" in str(call)
    hidden = _service(analyzer, FakePeople(), access=FakeAccess({}))
    [call] = _of(_cards(hidden, note), "notes.event")
    assert _values(call)["attendees"] == ""  # the sharing rules hide this contact: its address is not shown
    twins = FakePeople((LEWIS, KnownPerson("k.lewis@other.example", "Kwame Lewis", None)))
    [call] = _of(_cards(_service(analyzer, twins, access=FakeAccess({LEWIS.email: {REP},
                                                                     "k.lewis@other.example": {REP}})), note),
                 "notes.event")
    assert _values(call)["attendees"] == ""  # two contacts of that name: none is guessed


def test_the_form_returned_with_an_error_keeps_the_known_wording(analyzer: NoteAnalyzer) -> None:
    writes = FakeWrites()
    service = _service(analyzer, FakePeople(), writes=writes)
    [contact] = _of(_cards(service, "note: lunch with kwame.lewis@crescenthealth-00164.com"), "notes.contact")
    [action] = contact["actions"]
    data = {**action["data"], **_values(contact), "name": ""}  # the user cleared the name
    adapter = adapter_for(service, REP, tenant=TENANT)

    async def press() -> dict[str, Any]:
        await adapter.receive_activity(Activity(type="invoke", name="adaptiveCard/action", value={
            "action": {"type": "Action.Execute", "verb": action["verb"], "data": data}, "trigger": "manual"}))
        [response] = [a for a in adapter.activity_buffer if a.type == "invokeResponse"]
        return response.value.body  # type: ignore[no-any-return]
    body = asyncio.run(press())
    assert "Save a known contact in Outlook" in str(body) and "already knows Kwame Lewis" in str(body)
    assert writes.made == []


def test_known_people_reads_contacts_and_their_account_from_the_store(engine: Engine, tenant_id: str) -> None:
    from analytics.store.queries_relationships import ACCOUNT, ACCOUNT_DOMAIN, CONTACT
    with engine.begin() as conn:
        conn.execute(ACCOUNT.insert(), [
            {"tenant_id": tenant_id, "account_id": "P-1", "name": "Crescent Health", "fields": {}},
            {"tenant_id": tenant_id, "account_id": "P-2", "name": "Fabrikam", "fields": {}}])
        conn.execute(ACCOUNT_DOMAIN.insert(), [
            {"tenant_id": tenant_id, "domain": "fabrikam.example", "account_id": "P-2"}])
        conn.execute(CONTACT.insert(), [
            {"tenant_id": tenant_id, "contact_id": 1, "email": LEWIS.email, "domain": "crescenthealth-00164.com",
             "display_name": "Kwame Lewis", "account_id": "P-1", "sender_class": "person", "fields": {}},
            {"tenant_id": tenant_id, "contact_id": 2, "email": "anna@fabrikam.example", "domain": "fabrikam.example",
             "display_name": "", "account_id": None, "sender_class": "person", "fields": {}},
            {"tenant_id": tenant_id, "contact_id": 3, "email": "kwame@other.example", "domain": "other.example",
             "display_name": "Kwame", "account_id": None, "sender_class": "person", "fields": {}}])
    queries = RelationshipQueries(engine, Settings())
    assert queries.known_people(tenant_id, [LEWIS.email.upper(), "anna@fabrikam.example"], []) == [
        KnownPerson("anna@fabrikam.example", None, "Fabrikam"), LEWIS]  # the company through the domain
    assert queries.known_people(tenant_id, [], ["kwame  lewis"]) == [LEWIS]  # whole names, any spacing
    assert queries.known_people(tenant_id, [], ["Lewis"]) == []

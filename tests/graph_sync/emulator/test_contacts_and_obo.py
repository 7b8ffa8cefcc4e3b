"""Contacts (create, get, list with ``$filter`` on an extended property) and delegated access (on-behalf-of, /me)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import jwt

from graph_sync.emulator import EmulatorState
from graph_sync.emulator.delegated import OBO_GRANT, user_assertion
from tests.graph_sync.emulator.conftest import FakeClock
from tests.graph_sync.emulator.helpers import GRAPH, authed_client
from tests.graph_sync.emulator.tenant_factory import ALICE, BOB

LOGIN = "https://login.microsoftonline.com"
PROP = "String {66f5a359-4659-4830-9070-00040ec6ac6e} Name RapportKey"


def _contact(key: str, name: str = "Jane Doe") -> dict[str, Any]:
    given, surname = name.split()
    return {"@odata.type": "#microsoft.graph.contact", "givenName": given, "surname": surname,
            "emailAddresses": [{"address": f"{given.lower()}@fabrikam.example", "name": name}],
            "businessPhones": ["+1 425 555 0100"], "companyName": "Fabrikam", "jobTitle": "VP Sales",
            "singleValueExtendedProperties": [{"id": PROP, "value": key}]}


def _filter(key: str) -> str:
    return f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq '{key}')"


def test_contacts_are_created_read_and_found_by_extended_property(state: EmulatorState) -> None:
    async def run() -> None:
        client = await authed_client(state)
        made = await client.post(f"{GRAPH}/users/{ALICE}/contacts", json=_contact("k-1"))
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["@odata.context"].endswith(f"users('{ALICE}')/contacts/$entity")
        assert body["displayName"] == "Jane Doe" and body["emailAddresses"][0]["address"] == "jane@fabrikam.example"
        assert body["@odata.etag"] and body["changeKey"] and body["mobilePhone"] is None
        assert "singleValueExtendedProperties" not in body  # only with $expand, as Graph
        await client.post(f"{GRAPH}/users/{ALICE}/contacts", json=_contact("k-2", "John Roe"))
        got = (await client.get(f"{GRAPH}/users/{ALICE}/contacts/{body['id']}", params={
            "$expand": f"singleValueExtendedProperties($filter=id eq '{PROP}')"})).json()
        assert got["singleValueExtendedProperties"] == [{"id": PROP, "value": "k-1"}]
        found = (await client.get(f"{GRAPH}/users/{ALICE}/contacts", params={"$filter": _filter("K-2")})).json()
        assert [c["displayName"] for c in found["value"]] == ["John Roe"]  # value compared case-insensitively
        other_name = _filter("k-2").replace("RapportKey", "rapportkey")
        assert (await client.get(f"{GRAPH}/users/{ALICE}/contacts", params={"$filter": other_name})
                ).json()["value"] == []  # the property name is case-sensitive
        assert (await client.get(f"{GRAPH}/users/{BOB}/contacts", params={"$filter": _filter("k-1")})
                ).json()["value"] == []  # per mailbox
        by_mail = (await client.get(f"{GRAPH}/users/{ALICE}/contacts", params={
            "$filter": "emailAddresses/any(a:a/address eq 'JANE@fabrikam.example')"})).json()["value"]
        assert [c["id"] for c in by_mail] == [body["id"]]
        page = (await client.get(f"{GRAPH}/users/{ALICE}/contacts", params={"$top": "1"})).json()
        assert len(page["value"]) == 1 and "$skiptoken" in page["@odata.nextLink"]
        rest = (await client.get(page["@odata.nextLink"])).json()
        assert len(rest["value"]) == 1 and "@odata.nextLink" not in rest
        bad = await client.get(f"{GRAPH}/users/{ALICE}/contacts", params={"$filter": "displayName eq 'x'"})
        assert bad.status_code == 400 and "does not support" in bad.json()["error"]["message"]
        bad_id = await client.post(f"{GRAPH}/users/{ALICE}/contacts", json={
            "givenName": "X", "singleValueExtendedProperties": [{"id": "nonsense", "value": "1"}]})
        assert bad_id.status_code == 400
        unknown = await client.post(f"{GRAPH}/users/{ALICE}/contacts", json={"givenName": "X", "shoeSize": 9})
        assert unknown.status_code == 400 and "shoeSize" in unknown.json()["error"]["message"]
        missing = await client.get(f"{GRAPH}/users/{ALICE}/contacts/nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "ErrorItemNotFound"
        assert len(state.mailboxes[ALICE].contacts) == 2
    asyncio.run(run())


async def _obo(client: httpx.AsyncClient, state: EmulatorState, assertion: str, *, client_id: str,
               secret: str, scope: str = "https://graph.microsoft.com/.default") -> httpx.Response:
    return await client.post(f"{LOGIN}/{state.tenant_id}/oauth2/v2.0/token", data={
        "grant_type": OBO_GRANT, "client_id": client_id, "client_secret": secret, "assertion": assertion,
        "scope": scope, "requested_token_use": "on_behalf_of"})


def test_on_behalf_of_gives_a_delegated_token_for_the_same_user(state: EmulatorState, clock: FakeClock) -> None:
    app = state.register_app(roles=())  # no application permission at all: delegated only
    sso = user_assertion(state, ALICE, f"api://botid-{app.client_id}")

    async def run() -> None:
        client = httpx.AsyncClient(transport=state.mock_transport())
        answer = await _obo(client, state, sso, client_id=app.client_id, secret=app.client_secret)
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["oid"] == ALICE and claims["idtyp"] == "user" and "Contacts.ReadWrite" in claims["scp"]
        assert claims["aud"] == "https://graph.microsoft.com" and claims["appid"] == app.client_id
        client.headers["Authorization"] = "Bearer " + token
        made = await client.post(f"{GRAPH}/me/contacts", json=_contact("k-9"))
        assert made.status_code == 201 and made.json()["id"] in state.mailboxes[ALICE].contacts
        found = (await client.get(f"{GRAPH}/me/contacts", params={"$filter": _filter("k-9")})).json()["value"]
        assert len(found) == 1
        event = await client.post(f"{GRAPH}/me/events", json={
            "subject": "x", "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-01T10:30:00", "timeZone": "UTC"}})
        assert event.status_code == 201
        assert (await client.get(f"{GRAPH}/me/todo/lists")).status_code == 200
        # A delegated token reaches only its own user's mailbox, and only what its scopes allow.
        other = await client.post(f"{GRAPH}/users/{BOB}/contacts", json=_contact("k-10"))
        assert other.status_code == 403
        assert (await client.get(f"{GRAPH}/users/{BOB}/mailFolders")).status_code == 403
        assert (await client.get(f"{GRAPH}/users")).status_code == 403
    asyncio.run(run())


def test_on_behalf_of_refuses_bad_assertions_and_unconsented_scopes(state: EmulatorState, clock: FakeClock) -> None:
    app = state.register_app()
    narrow = state.register_app(roles=())
    narrow = type(narrow)(narrow.client_id, narrow.client_secret, (), scopes=("User.Read",))
    state.authority.apps[narrow.client_id] = narrow
    good = user_assertion(state, ALICE, app.client_id)

    async def run() -> None:
        client = httpx.AsyncClient(transport=state.mock_transport())

        async def code(assertion: str, **kw: Any) -> tuple[int, list[int]]:
            kw = {"client_id": app.client_id, "secret": app.client_secret, **kw}
            answer = await _obo(client, state, assertion, **kw)
            return answer.status_code, answer.json().get("error_codes", [])
        assert await code(good, secret="wrong") == (401, [7000215])
        assert await code(user_assertion(state, ALICE, "api://botid-someone-else")) == (400, [50013])
        forged = jwt.encode(jwt.decode(good, options={"verify_signature": False}), "k" * 32, algorithm="HS256")
        assert await code(forged) == (400, [50013])
        assert await code(good, scope="https://graph.microsoft.com/Mail.Send") == (400, [65001])
        assert (await code(good, scope="https://graph.microsoft.com/Calendars.ReadWrite"))[0] == 200
        narrow_token = user_assertion(state, ALICE, narrow.client_id)
        assert await code(narrow_token, client_id=narrow.client_id, secret=narrow.client_secret,
                          scope="https://graph.microsoft.com/Contacts.ReadWrite") == (400, [65001])
        clock.advance(3601)
        assert await code(good) == (400, [500133])  # the SSO token expired
        # /me with an app-only token is Graph's 400.
        app_client = await authed_client(state)
        me = await app_client.get(f"{GRAPH}/me/contacts")
        assert me.status_code == 400 and "delegated" in me.json()["error"]["message"]
        meta = (await client.get(f"{LOGIN}/{state.tenant_id}/v2.0/.well-known/openid-configuration")).json()
        assert OBO_GRANT in meta["grant_types_supported"]
    asyncio.run(run())

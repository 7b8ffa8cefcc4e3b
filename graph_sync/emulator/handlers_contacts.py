"""Outlook contacts: ``POST``/``GET /users/{id}/contacts`` and ``GET /users/{id}/contacts/{id}``.

Wire format as Graph's ``contact`` resource: every property present (``null`` or empty when unknown), an
``@odata.etag``, ``changeKey``, ``parentFolderId``; single-value extended properties are stored but returned only
when asked for with ``$expand=singleValueExtendedProperties($filter=id eq '…')``, as Graph does.

``$filter`` understands the two forms a client needs to find its own contacts again, and answers 400 to any
other (rather than silently returning everything):

* ``singleValueExtendedProperties/any(ep: ep/id eq '{id}' and ep/value eq '{value}')`` — the property id's
  name is compared case-sensitively, the value case-insensitively (Graph's documented rules);
* ``emailAddresses/any(a: a/address eq '{address}')`` (case-insensitive).
"""

from __future__ import annotations

import json
import re
from typing import Any

from graph_sync.emulator.context import Ctx, link, read_skip_token, skip_token
from graph_sync.emulator.errors import GraphError
from graph_sync.emulator.wire import EmulatorResponse, iso, json_response, parse_top

CONTACT_PROPERTIES: dict[str, Any] = {
    "birthday": None, "fileAs": "", "displayName": "", "givenName": None, "initials": None, "middleName": None,
    "nickName": None, "surname": None, "title": None, "yomiGivenName": None, "yomiSurname": None,
    "yomiCompanyName": None, "generation": None, "imAddresses": [], "jobTitle": None, "companyName": None,
    "department": None, "officeLocation": None, "profession": None, "businessHomePage": None,
    "assistantName": None, "manager": None, "homePhones": [], "mobilePhone": None, "businessPhones": [],
    "spouseName": None, "personalNotes": "", "children": [], "emailAddresses": [], "homeAddress": {},
    "businessAddress": {}, "otherAddress": {}, "categories": [],
}
WRITABLE = frozenset(CONTACT_PROPERTIES) | {"singleValueExtendedProperties"}
EXTENDED = "singleValueExtendedProperties"
DEFAULT_PAGE = 10  # Graph's default page size for contacts
MAX_PAGE = 1000

_STRING = r"'((?:[^']|'')*)'"
_PROPERTY_ID = re.compile(r"^(?P<type>String|Integer|Boolean|SystemTime|Double|Binary|Long|Short|Float|Currency"
                          r"|CLSID)\s+(?P<set>\{[0-9A-Fa-f-]{36}\})\s+(?P<kind>Name|Id)\s+(?P<name>\S.*)$")
_FILTER_EXTENDED = re.compile(
    rf"^\s*singleValueExtendedProperties/any\(\s*(?P<v>\w+)\s*:\s*(?P=v)/id\s+eq\s+{_STRING}\s+and\s+"
    rf"(?P=v)/value\s+eq\s+{_STRING}\s*\)\s*$", re.IGNORECASE)
_FILTER_EMAIL = re.compile(rf"^\s*emailAddresses/any\(\s*(?P<v>\w+)\s*:\s*(?P=v)/address\s+eq\s+{_STRING}\s*\)\s*$",
                           re.IGNORECASE)
_EXPAND = re.compile(rf"^\s*singleValueExtendedProperties\(\s*\$filter\s*=\s*id\s+eq\s+{_STRING}\s*\)\s*$",
                     re.IGNORECASE)


def _unquote(value: str) -> str:
    return value.replace("''", "'")


def _property_key(property_id: str) -> tuple[str, str, str, str]:
    """A comparable form of an extended property id: type, property set (GUID, any case), kind, name."""
    found = _PROPERTY_ID.match(property_id.strip())
    if found is None:
        raise GraphError(400, "ErrorInvalidExtendedPropertyValue",
                         f"The extended property id '{property_id}' is not valid.")
    return (found.group("type").lower(), found.group("set").lower(), found.group("kind").lower(),
            found.group("name"))


def _contacts(ctx: Ctx) -> dict[str, dict[str, Any]]:
    return ctx.box().contacts


def _render(ctx: Ctx, contact: dict[str, Any], expand: tuple[str, str, str, str] | None) -> dict[str, Any]:
    out = {k: v for k, v in contact.items() if k != EXTENDED}
    if expand is not None:
        out[EXTENDED] = [p for p in contact.get(EXTENDED, []) if _property_key(p["id"]) == expand]
    return out


def _expand_of(ctx: Ctx) -> tuple[str, str, str, str] | None:
    raw = ctx.request.query.get("$expand")
    if not raw:
        return None
    found = _EXPAND.match(raw)
    if found is None:
        raise GraphError(400, "BadRequest", f"Parsing OData Select and Expand failed: unsupported $expand '{raw}'.")
    return _property_key(_unquote(found.group(1)))


def _matches(ctx: Ctx) -> Any:
    raw = ctx.request.query.get("$filter")
    if not raw:
        return lambda _c: True
    found = _FILTER_EXTENDED.match(raw)
    if found is not None:
        key, value = _property_key(_unquote(found.group(2))), _unquote(found.group(3)).lower()
        return lambda c: any(_property_key(p["id"]) == key and str(p.get("value", "")).lower() == value
                             for p in c.get(EXTENDED, []))
    found = _FILTER_EMAIL.match(raw)
    if found is not None:
        address = _unquote(found.group(2)).lower()
        return lambda c: any(str(e.get("address", "")).lower() == address for e in c.get("emailAddresses") or [])
    raise GraphError(400, "BadRequest", f"Invalid filter clause: the emulator does not support '{raw[:200]}'.")


def create_contact(ctx: Ctx) -> EmulatorResponse:
    """``POST /users/{id}/contacts``: a new contact in the default Contacts folder."""
    box = ctx.box()
    body = ctx.request.json()
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    fields = {k: v for k, v in body.items() if not k.startswith("@odata.")}
    unknown = sorted(set(fields) - WRITABLE)
    if unknown:
        raise GraphError(400, "RequestBodyRead",
                         f"The property '{unknown[0]}' does not exist on type 'microsoft.graph.contact'.")
    extended = fields.get(EXTENDED) or []
    if not isinstance(extended, list) or not all(isinstance(p, dict) and isinstance(p.get("id"), str)
                                                 for p in extended):
        raise GraphError(400, "RequestBodyRead", "singleValueExtendedProperties must be a list of {id, value}.")
    for p in extended:
        _property_key(p["id"])
    emails = fields.get("emailAddresses") or []
    if not isinstance(emails, list) or not all(isinstance(e, dict) for e in emails):
        raise GraphError(400, "RequestBodyRead", "emailAddresses must be a list of emailAddress objects.")
    stamp = iso(ctx.now)
    contact_id = ctx.state.new_id()
    change = contact_id[-24:]
    display = fields.get("displayName") or " ".join(
        str(x) for x in (fields.get("givenName"), fields.get("surname")) if x) or ""
    contact = {
        "@odata.etag": f'W/"{change}"', "id": contact_id, "createdDateTime": stamp, "lastModifiedDateTime": stamp,
        "changeKey": change, "parentFolderId": box.folder_ids.get("contacts") or f"contacts-{box.user_id}",
        **CONTACT_PROPERTIES, **fields, "displayName": display, "fileAs": fields.get("fileAs") or display,
        EXTENDED: [{"id": p["id"], "value": None if p.get("value") is None else str(p["value"])}
                   for p in extended],
    }
    box.contacts[contact_id] = contact
    context = f"{ctx.graph_base}/$metadata#users('{box.user_id}')/contacts/$entity"
    return json_response(201, {"@odata.context": context, **_render(ctx, contact, None)})


def get_contact(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/contacts/{id}`` (``$expand`` of one extended property)."""
    contact = _contacts(ctx).get(ctx.params["contact"])
    if contact is None:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    context = f"{ctx.graph_base}/$metadata#users('{ctx.box().user_id}')/contacts/$entity"
    return json_response(200, {"@odata.context": context, **_render(ctx, contact, _expand_of(ctx))})


def list_contacts(ctx: Ctx) -> EmulatorResponse:
    """``GET /users/{id}/contacts``: paged (``$top``, ``Prefer: odata.maxpagesize``), ``$filter``, ``$expand``."""
    box = ctx.box()
    expand = _expand_of(ctx)
    matches = _matches(ctx)
    chosen = [c for c in box.contacts.values() if matches(c)]
    token = ctx.request.query.get("$skiptoken")
    offset = int(read_skip_token(token)["o"]) if token else 0
    size = parse_top(ctx.request, MAX_PAGE) or ctx.prefs.max_page_size or DEFAULT_PAGE
    page = chosen[offset:offset + size]
    links: dict[str, str] = {}
    if offset + size < len(chosen):
        query = {k: v for k, v in ctx.request.query.items() if k != "$skiptoken"}
        links["@odata.nextLink"] = link(ctx.graph_base, f"/users/{box.user_id}/contacts", **query,
                                        **{"$skiptoken": skip_token(offset + size, {})})
    items = [json.dumps(_render(ctx, c, expand)).encode() for c in page]
    return ctx.page_response(items, f"{ctx.graph_base}/$metadata#users('{box.user_id}')/contacts", links,
                             page_size_used=ctx.prefs.max_page_size is not None)

"""The generated directory follows the tenant directory contract (docs/tenant-directory.md)."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from analytics.scoring.importer import parse_file
from analytics.scoring.mapping import load_mapping
from graph_sync.emulator.generator import REFERENCE_NOW
from graph_sync.emulator.tenant import load_tenant
from tests.graph_sync.emulator.generator.conftest import read_jsonl

MESSAGE_PROPERTIES = {
    "id", "internetMessageId", "conversationId", "subject", "from", "sender", "toRecipients", "ccRecipients",
    "bccRecipients", "replyTo", "sentDateTime", "receivedDateTime", "createdDateTime", "lastModifiedDateTime",
    "isRead", "isDraft", "importance", "inferenceClassification", "hasAttachments", "categories",
    "parentFolderId",
}
EVENT_PROPERTIES = {
    "id", "iCalUId", "subject", "start", "end", "organizer", "attendees", "isOrganizer", "isCancelled",
    "isAllDay", "isOnlineMeeting", "showAs", "type", "seriesMasterId", "responseStatus", "createdDateTime",
    "lastModifiedDateTime",
}


def _users(root: Path) -> list[dict[str, Any]]:
    return read_jsonl(root / "users.jsonl")


def test_organization_domains_and_users_have_graph_shapes(small_tenant: Path) -> None:
    org = json.loads((small_tenant / "organization.json").read_text(encoding="utf-8"))
    assert org["@rapport.referenceNow"] == REFERENCE_NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [d["isDefault"] for d in org["verifiedDomains"]].count(True) == 1
    domains = read_jsonl(small_tenant / "domains.jsonl")
    assert {d["id"] for d in domains} == {d["name"] for d in org["verifiedDomains"]}
    users = _users(small_tenant)
    ids = {u["id"] for u in users}
    purposes = {u["mailboxSettings"]["userPurpose"] for u in users}
    assert purposes == {"user", "shared", "room"}
    assert any(not u["accountEnabled"] and u["mailboxSettings"]["userPurpose"] == "user" for u in users)
    managed = [u for u in users if "manager" in u]
    assert managed and all(u["manager"]["id"] in ids for u in managed)


def test_every_message_has_the_contract_properties_and_a_known_folder(small_tenant: Path) -> None:
    for user in _users(small_tenant):
        for message in read_jsonl(small_tenant / "mail" / f"{user['id']}.jsonl"):
            assert set(message) >= MESSAGE_PROPERTIES, MESSAGE_PROPERTIES - set(message)
            assert message["parentFolderId"] in ("inbox", "sentitems")
            assert message["sentDateTime"].endswith("Z") and message["receivedDateTime"] >= message["sentDateTime"]
            if message["parentFolderId"] == "sentitems":
                assert message["from"]["emailAddress"]["address"] == user["mail"]


def test_message_ids_are_unique_per_mailbox_and_internet_message_ids_are_shared_by_copies(
        small_tenant: Path) -> None:
    copies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    all_ids: set[str] = set()
    for user in _users(small_tenant):
        messages = read_jsonl(small_tenant / "mail" / f"{user['id']}.jsonl")
        ids = [m["id"] for m in messages]
        assert len(ids) == len(set(ids))
        assert not all_ids & set(ids)  # copies in different mailboxes have different ids too
        all_ids |= set(ids)
        for m in messages:
            copies[m["internetMessageId"]].append(m)
    shared = [group for group in copies.values() if len(group) > 1]
    assert shared, "internal mail must appear in several mailboxes"
    for group in shared:
        assert len({(m["subject"], m["sentDateTime"], m["conversationId"]) for m in group}) == 1
        assert sum(m["parentFolderId"] == "sentitems" for m in group) <= 1


def test_meetings_share_ical_uid_across_calendars_and_mark_the_organizer(small_tenant: Path) -> None:
    by_uid: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for user in _users(small_tenant):
        events = read_jsonl(small_tenant / "events" / f"{user['id']}.jsonl")
        assert len({e["id"] for e in events}) == len(events)
        for e in events:
            assert set(e) >= EVENT_PROPERTIES, EVENT_PROPERTIES - set(e)
            assert e["start"]["timeZone"] == "UTC" and e["start"]["dateTime"] < e["end"]["dateTime"]
            assert e["isOrganizer"] == (e["organizer"]["emailAddress"]["address"] == user["mail"])
            by_uid[e["iCalUId"]].append(e)
    assert any(len(group) > 1 for group in by_uid.values())
    assert any(e["type"] == "occurrence" and e["seriesMasterId"] for g in by_uid.values() for e in g)
    assert any(e["start"]["dateTime"] > REFERENCE_NOW.strftime("%Y-%m-%dT%H:%M:%S") for g in by_uid.values()
               for e in g)


def test_ground_truth_counts_match_the_files(small_tenant: Path, truth: dict[str, Any]) -> None:
    counts = truth["counts"]
    imids, uids = set(), set()
    for user in _users(small_tenant):
        messages = read_jsonl(small_tenant / "mail" / f"{user['id']}.jsonl")
        per_folder = {"inbox": 0, "sentitems": 0}
        for m in messages:
            per_folder[m["parentFolderId"]] += 1
            imids.add(m["internetMessageId"])
        assert counts["messages_per_mailbox"][user["id"]] == per_folder
        events = read_jsonl(small_tenant / "events" / f"{user['id']}.jsonl")
        assert counts["events_per_calendar"][user["id"]] == len(events)
        uids |= {e["iCalUId"] for e in events}
    assert counts["unique_internet_message_ids"] == len(imids)
    assert counts["unique_ical_uids"] == len(uids)
    assert counts["users"] == len(_users(small_tenant))


def test_noise_is_present_and_declared(small_tenant: Path, truth: dict[str, Any]) -> None:
    senders: set[str] = set()
    classifications: set[str] = set()
    recipients: set[str] = set()
    for user in _users(small_tenant):
        for m in read_jsonl(small_tenant / "mail" / f"{user['id']}.jsonl"):
            senders.add(m["from"]["emailAddress"]["address"])
            classifications.add(m["inferenceClassification"])
            recipients |= {r["emailAddress"]["address"] for r in m["toRecipients"] + m["ccRecipients"]}
    assert set(truth["bulk_senders"]) & senders
    assert classifications == {"focused", "other"}
    assert set(truth["distribution_lists"]["internal"]) <= recipients
    assert set(truth["distribution_lists"]["external"]) & recipients
    assert {s.rsplit("@", 1)[1] for s in senders} & set(truth["free_mail_domains"])
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in s) for s in senders | recipients) or any(
        "\u4e00" <= ch <= "\u9fff" for c in truth["contacts"] for ch in c["name"])


def test_the_emulator_loads_the_generated_directory(small_tenant: Path, truth: dict[str, Any]) -> None:
    data = load_tenant(small_tenant)
    assert data.tenant_id == truth["tenant"]["id"]


def test_crm_mapping_files_parse_and_name_every_column(small_tenant: Path) -> None:
    crm = small_tenant / "crm"
    for name in ("leads", "opportunities"):
        mapping = load_mapping(crm / f"{name}.mapping.toml")
        with open(crm / f"{name}.csv", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert set(rows[0]) == mapping.known_columns()
        assert {mapping.label.outcome(r[mapping.label.column]) for r in rows} == {"positive", "negative", "open"}
        post = {f.column for f in mapping.fields if f.post_outcome}
        assert post, "the leaky post-outcome field must be marked"
        records, stages = parse_file(crm / f"{name}.csv", mapping, mapping.record_type)
        assert len(records) == len(rows)
        assert bool(stages) == (name == "opportunities")
    with open(crm / "opportunity_stages.csv", encoding="utf-8") as f:
        stages = list(csv.DictReader(f))
    assert {s["stage"] for s in stages} == {"Qualify", "Develop", "Propose", "Close"}


def test_opportunity_names_are_unique_and_name_the_quarter_opened(small_tenant: Path) -> None:
    """A rep asks for a deal by name: two "Fjord Foods - Platform" deals made the name ambiguous."""
    with open(small_tenant / "crm" / "opportunities.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = [r["name"] for r in rows]
    assert len(set(names)) == len(names)
    for row in rows:
        year, month = int(row["created_on"][:4]), int(row["created_on"][5:7])
        assert row["name"].startswith(f"{row['account_name']} - {row['product']} Q{(month - 1) // 3 + 1} {year}")

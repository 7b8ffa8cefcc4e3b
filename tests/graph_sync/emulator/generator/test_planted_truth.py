"""What ground_truth.json claims is what the mail and calendar files show, recounted from the files."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from graph_sync.emulator.generator.crm_model import (
    LEAD_COEFFICIENTS,
    LEAD_INTERCEPT,
    OPPORTUNITY_COEFFICIENTS,
    OPPORTUNITY_INTERCEPT,
    probability,
)
from tests.graph_sync.emulator.generator.conftest import read_jsonl, unique_mail

Pair = tuple[str, str]  # (user mail, contact email)


def _addr(r: dict[str, Any]) -> str:
    return str(r["emailAddress"]["address"])


@pytest.fixture(scope="module")
def recount(small_tenant: Path, truth: dict[str, Any]) -> dict[Pair, list[str]]:
    """Times (ISO) of every interaction between each planted pair, recounted from the files."""
    mail_of = {u["id"]: u["mail"] for u in truth["users"]}
    pairs = {(mail_of[r["user_id"]], r["contact_email"]) for r in truth["relationships"]}
    seen_events: set[str] = set()
    times: dict[Pair, list[str]] = defaultdict(list)
    for m in unique_mail(small_tenant, mail_of):
        sender = _addr(m["from"])
        for rcpt in (_addr(r) for r in m["toRecipients"] + m["ccRecipients"]):
            for pair in ((sender, rcpt), (rcpt, sender)):
                if pair in pairs:
                    times[pair].append(m["sentDateTime"])
    for user_id in mail_of:
        for e in read_jsonl(small_tenant / "events" / f"{user_id}.jsonl"):
            if e["iCalUId"] in seen_events or e["isCancelled"]:
                continue
            seen_events.add(e["iCalUId"])
            end = e["end"]["dateTime"][:19] + "Z"
            if end > truth["reference_now"]:
                continue
            people = {_addr(e["organizer"]), *(_addr(a) for a in e["attendees"])}
            for pair in pairs:
                if pair[0] in people and pair[1] in people:
                    times[pair].append(e["start"]["dateTime"][:19] + "Z")
    return times


def _classify(before: int, recent: int, truth: dict[str, Any]) -> str:
    rule = truth["trajectory_rule"]
    if recent == 0:
        return "dormant" if before else "none"
    if before == 0:
        return "new"
    span = (_days(truth["windows"]["recent_start"]) - _days(truth["windows"]["span_start"]))
    ratio = (recent / truth["windows"]["recent_days"]) / (before / span)
    if ratio >= rule["improving_at_least"]:
        return "improving"
    if ratio <= rule["declining_at_most"]:
        return "declining"
    low, high = rule["steady_between"]
    return "steady" if low <= ratio <= high else "ambiguous"


def _days(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() / 86400


def test_realised_counts_in_ground_truth_equal_a_recount_of_the_files(
        recount: dict[Pair, list[str]], truth: dict[str, Any]) -> None:
    mail_of = {u["id"]: u["mail"] for u in truth["users"]}
    recent_start = truth["windows"]["recent_start"]
    for r in truth["relationships"]:
        times = recount[(mail_of[r["user_id"]], r["contact_email"])]
        realised = r["realised"]
        assert len(times) == realised["interactions_before"] + realised["interactions_recent"]
        assert sum(t >= recent_start for t in times) == realised["interactions_recent"]
        assert max(times) == realised["last_interaction"]


def test_planted_trajectories_show_in_the_recounted_interactions(
        recount: dict[Pair, list[str]], truth: dict[str, Any]) -> None:
    mail_of = {u["id"]: u["mail"] for u in truth["users"]}
    recent_start = truth["windows"]["recent_start"]
    shown = 0
    # A handed-over relationship is one process in two halves: its plan shows in the halves together.
    processes: dict[tuple[str, str], list[str]] = defaultdict(list)
    planted: dict[tuple[str, str], str] = {}
    for r in truth["relationships"]:
        key = (r["contact_email"], "handover") if r["handover"] else (r["contact_email"], r["user_id"])
        processes[key] += recount[(mail_of[r["user_id"]], r["contact_email"])]
        planted[key] = r["trajectory"]
    for key, times in processes.items():
        recent = sum(t >= recent_start for t in times)
        shown += _classify(len(times) - recent, recent, truth) == planted[key]
    assert shown / len(processes) >= 0.97
    assert {r["trajectory"] for r in truth["relationships"]} == {"improving", "steady", "declining", "dormant",
                                                                  "new"}
    accounts = truth["accounts"]
    assert sum(a["realised"]["trajectory"] == a["trajectory"] for a in accounts) / len(accounts) >= 0.9


def test_each_contacts_strongest_connector_is_most_frequent_most_recent_and_two_way(
        recount: dict[Pair, list[str]], truth: dict[str, Any]) -> None:
    mail_of = {u["id"]: u["mail"] for u in truth["users"]}
    by_contact: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in truth["relationships"]:
        by_contact[r["contact_email"]].append(r)
    handed_over = 0
    for contact in truth["contacts"]:
        rels = by_contact[contact["email"]]
        strongest = next(r for r in rels if r["user_id"] == contact["strongest_connector"])
        top = recount[(mail_of[strongest["user_id"]], contact["email"])]
        previous = [r for r in rels if r["handover"] and r is not strongest]
        if contact["handed_over_from"]:  # the owner took over from the previous owner: count both halves
            handed_over += 1
            (half,) = previous
            assert half["user_id"] == contact["handed_over_from"] and strongest["handover"]["role"] == "owner"
            earlier = recount[(mail_of[half["user_id"]], contact["email"])]
            assert max(earlier) < max(top)
            top = top + earlier
        else:
            assert previous == [] and contact["ranked_connectors"][0] == contact["strongest_connector"]
        for other in rels:
            if other is strongest or other in previous:
                continue
            theirs = recount[(mail_of[other["user_id"]], contact["email"])]
            assert len(top) > len(theirs) and max(top) > max(theirs)
        assert strongest["realised"]["messages_user_to_contact"] > 0
        assert strongest["realised"]["messages_contact_to_user"] > 0
    assert handed_over > 0


def test_handovers_split_the_strongest_relationship_at_the_handover_date(
        recount: dict[Pair, list[str]], truth: dict[str, Any]) -> None:
    mail_of = {u["id"]: u["mail"] for u in truth["users"]}
    handovers = {h["account_id"]: h for h in truth["handovers"]}
    halves = [r for r in truth["relationships"] if r["handover"]]
    assert halves and len(halves) % 2 == 0
    for r in halves:
        h = handovers[r["account_id"]]
        assert r["handover"]["at"] == h["at"]
        times = recount[(mail_of[r["user_id"]], r["contact_email"])]
        if r["handover"]["role"] == "owner":
            assert r["user_id"] == h["owner_id"] and min(times) >= h["at"]
        else:
            assert r["user_id"] == h["previous_owner_id"] and max(times) < h["at"]


def test_one_way_sequences_are_never_answered(small_tenant: Path, truth: dict[str, Any]) -> None:
    mail_of = {u["id"]: u["mail"] for u in truth["users"]}
    sequences = {(mail_of[w["user_id"]], w["contact_email"]): w for w in truth["outreach"]}
    assert sequences
    connectors = {(r["user_id"], r["contact_email"]) for r in truth["relationships"]}
    assert not connectors & {(w["user_id"], w["contact_email"]) for w in truth["outreach"]}
    sent: dict[Pair, int] = defaultdict(int)
    for m in unique_mail(small_tenant, mail_of):
        sender = _addr(m["from"])
        for rcpt in (_addr(r) for r in m["toRecipients"]):
            assert (rcpt, sender) not in sequences  # the contact never writes back
            if (sender, rcpt) in sequences:
                sent[(sender, rcpt)] += 1
    for pair, w in sequences.items():
        assert sent[pair] == w["messages"] == w["interactions_before"] + w["interactions_recent"]


def test_realised_response_times_follow_the_planted_medians(truth: dict[str, Any]) -> None:
    close = total = 0
    for r in truth["relationships"]:
        for side in ("user", "contact"):
            realised = r["realised"][f"{side}_median_first_response_minutes"]
            if r["realised"][f"{side}_replies"] >= 7:
                planted = r["response"][side]["median_first_response_minutes"]
                total += 1
                close += abs(math.log(realised / planted)) < 0.7
    assert total > 50 and close / total >= 0.85


def _auc(scores: list[float], labels: list[bool]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@pytest.mark.parametrize(("kind", "intercept", "coefficients", "positive"), [
    ("leads", LEAD_INTERCEPT, LEAD_COEFFICIENTS, "Qualified"),
    ("opportunities", OPPORTUNITY_INTERCEPT, OPPORTUNITY_COEFFICIENTS, "Won"),
])
def test_crm_outcomes_follow_the_published_logistic_model(
        small_tenant: Path, truth: dict[str, Any], kind: str, intercept: float,
        coefficients: dict[str, float], positive: str) -> None:
    planted = truth["crm"][kind]
    assert planted["coefficients"] == coefficients and planted["intercept"] == intercept
    with open(small_tenant / "crm" / f"{kind}.csv", encoding="utf-8") as f:
        rows = {r[next(iter(r))]: r for r in csv.DictReader(f)}
    scores, labels = [], []
    for record in planted["records"]:
        assert record["probability"] == pytest.approx(probability(intercept, coefficients, record["features"]),
                                                      abs=2e-3)
        status = rows[record["id"]]["status"]
        if status != "Open":
            scores.append(record["probability"])
            labels.append(status == positive)
    assert 40 <= sum(labels) <= len(labels) - 40  # enough of each class to train on, as scoring requires
    assert _auc(scores, labels) >= 0.65


def test_lead_reply_count_driver_is_measurable_from_the_owners_inbox(small_tenant: Path,
                                                                     truth: dict[str, Any]) -> None:
    id_of = {u["mail"]: u["id"] for u in truth["users"]}
    with open(small_tenant / "crm" / "leads.csv", encoding="utf-8") as f:
        leads = list(csv.DictReader(f))
    inbox_cache: dict[str, list[dict[str, Any]]] = {}
    features = {r["id"]: r["features"] for r in truth["crm"]["leads"]["records"]}
    for lead in leads[:60]:
        owner = id_of[lead["owner_email"]]
        inbox = inbox_cache.setdefault(owner, read_jsonl(small_tenant / "mail" / f"{owner}.jsonl"))
        end = lead["closed_on"] or truth["reference_now"]
        replies = sum(1 for m in inbox if _addr(m["from"]) == lead["contact_email"] and m["sentDateTime"] <= end)
        assert features[lead["lead_id"]]["lead_reply_count"] == min(replies, 4)

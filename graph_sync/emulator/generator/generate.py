"""``generate_tenant``: write a deterministic synthetic tenant directory with its ground truth."""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from graph_sync.emulator.generator import crm, crm_model, vocab
from graph_sync.emulator.generator.graphjson import iso, user_resource
from graph_sync.emulator.generator.ids import IdFactory
from graph_sync.emulator.generator.mapping import write_mappings
from graph_sync.emulator.generator.model import Contact, RelationshipPlan, User
from graph_sync.emulator.generator.org import (
    INITIAL_DOMAIN,
    TENANT_DOMAIN,
    TENANT_NAME,
    build_accounts,
    build_contacts,
    build_users,
)
from graph_sync.emulator.generator.relationships import (
    ContactRealiser,
    choose_connectors,
    plan_handovers,
    realise_account,
)
from graph_sync.emulator.generator.simulate import DAY, Clock, RelationshipSimulator
from graph_sync.emulator.generator.sink import TenantSink
from graph_sync.emulator.generator.sizes import Size, profile
from graph_sync.emulator.generator.traffic import (
    internal_lists,
    internal_mail,
    newsletters,
    support_mail,
    team_meetings,
)
from graph_sync.emulator.generator.truth import TruthBuilder
from graph_sync.emulator.generator.version import GENERATOR_VERSION

REFERENCE_NOW = datetime(2026, 11, 1, tzinfo=UTC)
LINK_CUT_DAYS = 60
FORMAT = "rapport-synthetic-tenant/1"


@dataclass(frozen=True)
class GenerationReport:
    """What ``generate_tenant`` wrote."""

    out_dir: Path
    seed: int
    size: str
    tenant_id: str
    users: int
    messages: int  # distinct internetMessageIds
    mail_lines: int  # mailbox copies
    meetings: int  # distinct iCalUIds
    event_lines: int
    leads: int
    opportunities: int
    seconds: float


def _write_json(path: Path, obj: Any, indent: int | None = None) -> None:
    with open(path, "w", encoding="utf-8") as f:  # json.dump streams chunks: no second copy as one string
        json.dump(obj, f, ensure_ascii=False, indent=indent)
        f.write("\n")


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def generate_tenant(out_dir: Path, *, seed: int, size: Size, clock: Any = time.perf_counter) -> GenerationReport:
    """Write a synthetic tenant directory for ``seed`` and ``size`` into ``out_dir`` (created if needed).

    The same seed and size give byte-identical files. ``clock`` only times the run for the report.
    """
    started = clock()
    p = profile(size)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    ids = IdFactory(random.Random(seed * 1_000_003 + 17))  # its own stream: ids never shift the simulation
    now = REFERENCE_NOW.timestamp()
    frame = Clock(now=now, span_start=now - p.span_days * DAY, recent_start=now - p.recent_days * DAY,
                  link_cut=now - LINK_CUT_DAYS * DAY, future_end=now + p.future_days * DAY)
    tenant_id = ids.guid()

    users, teams = build_users(ids, rng, p)
    accounts = build_accounts(ids, rng, p, teams)
    contacts = build_contacts(rng, p, accounts)
    by_id = {u.id: u for u in users}
    people = [u for u in users if u.purpose == "user" and u.enabled]
    rooms = [u for u in users if u.purpose == "room"]
    shared = {u.mail.split("@")[0]: u for u in users if u.purpose == "shared"}

    _write_json(out_dir / "organization.json", {
        "id": tenant_id, "displayName": TENANT_NAME, "countryLetterCode": "US",
        "createdDateTime": "2019-04-01T00:00:00Z",
        "verifiedDomains": [
            {"name": TENANT_DOMAIN, "type": "Managed", "isDefault": True, "isInitial": False,
             "capabilities": "Email, OfficeCommunicationsOnline"},
            {"name": INITIAL_DOMAIN, "type": "Managed", "isDefault": False, "isInitial": True,
             "capabilities": "Email, OfficeCommunicationsOnline"},
        ],
        "@rapport.referenceNow": iso(now),
    })
    _write_jsonl(out_dir / "domains.jsonl", [
        {"id": TENANT_DOMAIN, "authenticationType": "Managed", "isAdminManaged": True, "isDefault": True,
         "isInitial": False, "isRoot": True, "isVerified": True, "supportedServices": ["Email", "OfficeCommunicationsOnline"]},
        {"id": INITIAL_DOMAIN, "authenticationType": "Managed", "isAdminManaged": True, "isDefault": False,
         "isInitial": True, "isRoot": True, "isVerified": True, "supportedServices": ["Email", "OfficeCommunicationsOnline"]},
    ])
    _write_jsonl(out_dir / "users.jsonl", [user_resource(u) for u in users])

    lists = internal_lists(people, teams)
    sink = TenantSink(out_dir, users, lists, now=now, ids=ids, rng=random.Random(seed * 7 + 3))
    sim = RelationshipSimulator(clock=frame, rng=rng, nprng=nprng, ids=ids, tenant_name=TENANT_NAME, rooms=rooms)
    owner_team = {rep: t for t in teams for rep in t.rep_ids}
    handovers = plan_handovers(rng, accounts, owner_team, frame, p.dynamics)
    realiser = ContactRealiser(sim, p.strongest_threads_per_30d, dynamics=p.dynamics, handovers=handovers,
                               users=by_id, outreach_senders=[u for u in people if u.role in ("rep", "manager")])
    truth = TruthBuilder(frame)
    plans: dict[tuple[str, str], RelationshipPlan] = {}
    account_by_id = {a.id: a for a in accounts}
    try:
        members: dict[str, list[tuple[Contact, list[User]]]] = {}
        for contact in contacts:
            account = account_by_id[contact.account_id]
            team = teams[by_id[account.owner_id].team or 0]
            handover = handovers.get(account.id)
            exclude = frozenset({handover.previous_owner_id}) if handover else frozenset()
            connectors = [by_id[u] for u in choose_connectors(rng, contact, account, team, exclude)]
            members.setdefault(account.id, []).append((contact, connectors))
        for account in accounts:
            drawn, account_ok = realise_account(realiser, account, members.get(account.id, []))
            truth.account_matches[account.id] = account_ok
            for (contact, _), outcome in zip(members.get(account.id, []), drawn, strict=True):
                for o in outcome.relationships:
                    plans[(o.plan.user_id, o.plan.contact_email)] = o.plan
                    for mail in sim.mails(o.realised, by_id[o.plan.user_id], contact, account):
                        sink.write_mail(mail)
                    for meeting in o.realised.meetings:
                        sink.write_meeting(meeting)
                    o.realised.threads.clear()  # written: let them go, the large size must stay flat in memory
                    o.realised.meetings.clear()
                for w in outcome.outreach:
                    for mail in sim.mails(w.realised, by_id[w.user_id], contact, account):
                        sink.write_mail(mail)
                    w.realised.threads.clear()
                truth.add_contact(contact, outcome)
        vp = next(u for u in users if u.role == "vp")
        for mail in internal_mail(sim, people, teams, vp, p.internal_threads_per_user_per_30d):
            sink.write_mail(mail)
        for mail in newsletters(sim, [*people, *shared.values()], p.newsletters_per_user_per_30d):
            sink.write_mail(mail)
        if "support" in shared:
            for mail in support_mail(sim, contacts, shared["support"]):
                sink.write_mail(mail)
        for meeting in team_meetings(sim, people, teams, rooms):
            sink.write_meeting(meeting)
        reps = [u for u in people if u.role == "rep"]
        leads = crm.generate_leads(sim, reps, shared.get("info"), p.leads, sink.write_mail)
        opportunities, stages = crm.generate_opportunities(sim, accounts, contacts, by_id, plans, p.opportunities)
    finally:
        sink.close()

    crm_dir = out_dir / "crm"
    crm_dir.mkdir(exist_ok=True)
    crm.write_csv(crm_dir / "leads.csv", [r.row for r in leads])
    crm.write_csv(crm_dir / "opportunities.csv", [r.row for r in opportunities])
    crm.write_csv(crm_dir / "opportunity_stages.csv", stages)
    crm.write_csv(crm_dir / "accounts.csv", [
        {"account_id": a.id, "name": a.name, "domain": a.domain, "industry": a.industry,
         "company_size": a.size_bucket, "country": a.country, "owner_email": by_id[a.owner_id].mail}
        for a in accounts])
    crm.write_csv(crm_dir / "contacts.csv", [
        {"email": c.email, "name": c.name, "title": c.title, "account_id": c.account_id} for c in contacts])
    write_mappings(crm_dir)

    mail_lines = sum(sink.mail_copies.values())
    event_lines = sum(sink.event_copies.values())
    counts: dict[str, Any] = {
        "users": len(users),
        "mailboxes_with_mail": sum(1 for u in users if sink.mail_copies[f"{u.id}/inbox"]
                                   + sink.mail_copies[f"{u.id}/sentitems"]),
        "messages_per_mailbox": {u.id: {"inbox": sink.mail_copies[f"{u.id}/inbox"],
                                        "sentitems": sink.mail_copies[f"{u.id}/sentitems"]} for u in users},
        "mail_lines": mail_lines,
        "unique_internet_message_ids": sink.messages,
        "events_per_calendar": {u.id: sink.event_copies[u.id] for u in users},
        "event_lines": event_lines,
        "unique_ical_uids": sink.meetings,
    }
    ground_truth = {
        "format": FORMAT,
        "generator": {"seed": seed, "size": size, "version": GENERATOR_VERSION},
        "tenant": {"id": tenant_id, "name": TENANT_NAME, "domains": [TENANT_DOMAIN, INITIAL_DOMAIN]},
        "reference_now": iso(now),
        "windows": {"span_start": iso(frame.span_start), "recent_start": iso(frame.recent_start),
                    "recent_days": p.recent_days, "link_cut": iso(frame.link_cut),
                    "future_end": iso(frame.future_end)},
        "trajectory_rule": truth.rules(),
        "users": [{"id": u.id, "mail": u.mail, "display_name": u.display_name, "role": u.role,
                   "purpose": u.purpose, "enabled": u.enabled, "team": u.team, "manager_id": u.manager_id}
                  for u in users],
        "teams": [{"name": t.name, "manager_id": t.manager_id, "rep_ids": list(t.rep_ids),
                   "distribution_list": t.dl_address} for t in teams],
        "distribution_lists": {"internal": lists,
                               "external": sorted({a.list_address for a in accounts})},
        "bulk_senders": sorted({f"{n[1]}@{n[2]}" for n in vocab.NEWSLETTERS}),
        "free_mail_domains": list(vocab.FREE_MAIL_DOMAINS),
        "accounts": truth.accounts(accounts),
        "contacts": truth.contacts,
        "relationships": truth.relationships,
        "handovers": [{"account_id": a, "previous_owner_id": h.previous_owner_id, "owner_id": h.owner_id,
                       "at": iso(h.at)} for a, h in sorted(handovers.items())],
        "outreach": truth.outreach,
        "dynamics": asdict(p.dynamics),
        "crm": {
            "leads": {"label": {"column": "status", "positive": "Qualified", "negative": "Disqualified"},
                      "intercept": crm_model.LEAD_INTERCEPT, "coefficients": crm_model.LEAD_COEFFICIENTS,
                      "post_outcome_columns": ["status", "closed_on", "status_reason"],
                      "records": [{"id": r.row["lead_id"], "probability": r.probability, "features": r.features}
                                  for r in leads]},
            "opportunities": {"label": {"column": "status", "positive": "Won", "negative": "Lost"},
                              "intercept": crm_model.OPPORTUNITY_INTERCEPT,
                              "coefficients": crm_model.OPPORTUNITY_COEFFICIENTS,
                              "post_outcome_columns": ["status", "actual_close_date", "closed_reason", "stage"],
                              "lost_stage_slowdown": crm.LOST_STAGE_SLOWDOWN,
                              "stage_median_days": dict(zip(vocab.STAGES, crm.STAGE_MEDIAN_DAYS, strict=True)),
                              "records": [{"id": r.row["opportunity_id"], "probability": r.probability,
                                           "features": r.features} for r in opportunities]},
            "feature_definitions": crm_model.FEATURE_DEFINITIONS,
        },
        "counts": counts,
    }
    _write_json(out_dir / "ground_truth.json", ground_truth, indent=1)
    return GenerationReport(
        out_dir=out_dir, seed=seed, size=size, tenant_id=tenant_id, users=len(users), messages=sink.messages,
        mail_lines=mail_lines, meetings=sink.meetings, event_lines=event_lines,
        leads=len(leads), opportunities=len(opportunities), seconds=round(clock() - started, 2),
    )

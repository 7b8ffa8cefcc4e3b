"""CRM records: leads (with their mail) and opportunities (with stage history), outcomes drawn from the
planted logistic models in :mod:`crm_model`, written as CSV with TOML mapping files."""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph_sync.emulator.generator import vocab
from graph_sync.emulator.generator.crm_model import (
    LEAD_COEFFICIENTS,
    LEAD_INTERCEPT,
    LEAD_REPLY_CAP,
    OPPORTUNITY_COEFFICIENTS,
    OPPORTUNITY_INTERCEPT,
    probability,
)
from graph_sync.emulator.generator.graphjson import iso
from graph_sync.emulator.generator.model import Account, Contact, Mail, RelationshipPlan, User
from graph_sync.emulator.generator.simulate import DAY, RelationshipSimulator

STAGE_MEDIAN_DAYS = (10.0, 18.0, 14.0, 7.0)  # Qualify, Develop, Propose, Close
LOST_STAGE_SLOWDOWN = 1.8  # lost deals linger this much longer in every stage they reach


@dataclass
class CrmRecord:
    """One lead or opportunity: its CSV row, its planted features and probability."""

    row: dict[str, Any]
    features: dict[str, float]
    probability: float


def _date(ts: float) -> str:
    return iso(ts)


def _source_features(source: str, known: tuple[str, ...]) -> dict[str, float]:
    return {f"source_is_{s}": float(source == s) for s in known}


def generate_leads(sim: RelationshipSimulator, reps: list[User], info: User | None, count: int,
                   write: Callable[[Mail], int]) -> list[CrmRecord]:
    """Leads with outreach threads to prospects; outcome drawn after the mail is known."""
    c, rng = sim.clock, sim.rng
    records = []
    for i in range(count):
        owner = rng.choice(reps)
        created = rng.uniform(c.span_start, c.now - 5 * DAY)
        decided = created + rng.uniform(14, 75) * DAY
        closed = decided <= c.now
        end = decided if closed else c.now
        chinese = rng.random() < 0.06
        if chinese:
            display, given, family = rng.choice(vocab.CHINESE_NAMES)
            local = f"{given}.{family}"
        else:
            first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
            display, local = f"{first} {last}", f"{first}.{last}".lower()
        company = f"{rng.choice(vocab.COMPANY_WORDS)} {rng.choice(vocab.COMPANY_SUFFIXES)}"
        free = rng.random() < 0.2
        if free:
            domain = rng.choice(("qq.com", "163.com") if chinese else vocab.FREE_MAIL_DOMAINS)
            email = f"{local.replace('.', '')}{i}@{domain}"
            account_id = ""
        else:
            # Prospect domains are numbered so they never collide with customer accounts.
            domain = f"{company.replace(' ', '').lower()}-{i:05d}.com"
            email = f"{local}@{domain}"
            account_id = f"P-{i + 1:05d}"
        source = rng.choice(vocab.LEAD_SOURCES)
        title = rng.choice(vocab.CONTACT_TITLES)
        size_index = rng.randrange(len(vocab.COMPANY_SIZES))
        industry = rng.choice(vocab.INDUSTRIES)
        budget = round(math.exp(rng.uniform(math.log(5000), math.log(500000))), -2) if rng.random() < 0.6 else None
        reply_rate = rng.uniform(0.05, 0.85)
        median_minutes = math.exp(rng.gauss(math.log(240), 1.0))
        replies, delays = _lead_thread(sim, owner, (display, email), info if source == "web" else None,
                                       created, end, reply_rate, median_minutes, write)
        features = {
            **_source_features(source, ("referral", "partner", "event", "paid_ads", "cold_outreach")),
            "email_is_free_mail": float(free),
            "title_is_senior": float(title.startswith(vocab.SENIOR_TITLE_PREFIXES)),
            "company_size_index": float(size_index),
            "has_budget": float(budget is not None),
            "industry_is_software": float(industry == "software"),
            "lead_reply_count": float(min(replies, LEAD_REPLY_CAP)),
            "log1p_lead_response_hours": math.log1p(sorted(delays)[len(delays) // 2] / 60) if delays else 0.0,
        }
        p = probability(LEAD_INTERCEPT, LEAD_COEFFICIENTS, features)
        status = "Open"
        reason = ""
        if closed:
            status = "Qualified" if rng.random() < p else "Disqualified"
            reason = ("Converted to opportunity" if status == "Qualified" else
                      "No response" if replies == 0 else
                      rng.choice(("No budget", "Not interested", "Went with competitor", "Bad timing")))
        row = {
            "lead_id": f"L-{i + 1:06d}", "created_on": _date(created), "owner_email": owner.mail,
            "contact_name": display, "contact_email": email, "title": title,
            "company": company, "account_id": account_id, "industry": industry,
            "company_size": vocab.COMPANY_SIZES[size_index], "country": "CN" if chinese else rng.choice(
                vocab.COUNTRIES), "source": source, "budget": "" if budget is None else f"{budget:.0f}",
            "status": status, "closed_on": _date(decided) if closed else "", "status_reason": reason,
        }
        records.append(CrmRecord(row, {k: round(v, 4) for k, v in features.items()}, round(p, 4)))
    return records


def _lead_thread(sim: RelationshipSimulator, owner: User, lead: tuple[str, str], info: User | None,
                 created: float, end: float, reply_rate: float, median_minutes: float,
                 write: Callable[[Mail], int]) -> tuple[int, list[float]]:
    """Outreach from the owner until the lead closes; returns the lead's replies and reply delays (minutes)."""
    rng, ids = sim.rng, sim.ids
    conversation = ids.conversation_id()
    subject = rng.choice(("Introduction to Fabrikam", "Following up on your inquiry", "Quick question",
                          "Fabrikam demo?"))
    t = created + rng.uniform(0.01, 1) * DAY
    if info is not None:  # a web lead starts with a form mail to the shared info@ mailbox
        write(Mail(ids.internet_message_id(lead[1].rsplit("@", 1)[1]), ids.conversation_id(),
                   "Website inquiry", lead, [info.address], created))
    replies, delays = 0, []
    prefix = ""
    for _ in range(1 + int(sim.nprng.poisson(1.5))):
        if t >= end:
            break
        write(Mail(ids.internet_message_id("PH0PR11MB4965.namprd11.prod.outlook.com"), conversation,
                   prefix + subject, owner.address, [lead], t))
        if rng.random() < reply_rate:
            delay = sim.delay_minutes(median_minutes)
            if t + delay * 60 < end:
                replies += 1
                delays.append(delay)
                t += delay * 60
                write(Mail(ids.internet_message_id(lead[1].rsplit("@", 1)[1]), conversation, "Re: " + subject,
                           lead, [owner.address], t))
                prefix = "RE: "
        t += rng.uniform(2, 10) * DAY
    return replies, delays


def _opportunity_name(taken: set[str], account: str, product: str, created: float) -> str:
    """"Account - Product Qn YYYY" by the quarter it was opened in, as CRMs name deals, so that a rep can ask
    for one by name: an account often buys the same product more than once. A second deal of the same name in
    one quarter gets " (2)", and so on."""
    opened = time.gmtime(created)
    name = base = f"{account} - {product} Q{(opened.tm_mon - 1) // 3 + 1} {opened.tm_year}"
    n = 1
    while name in taken:
        n += 1
        name = f"{base} ({n})"
    taken.add(name)
    return name


def generate_opportunities(sim: RelationshipSimulator, accounts: list[Account], contacts: list[Contact],
                           users: dict[str, User], plans: dict[tuple[str, str], RelationshipPlan],
                           count: int) -> tuple[list[CrmRecord], list[dict[str, Any]]]:
    """Opportunities on customer accounts and their stage history."""
    c, rng = sim.clock, sim.rng
    by_account: dict[str, list[Contact]] = {}
    for contact in contacts:
        if (accounts_owner := _owner_of(accounts, contact.account_id)) and (accounts_owner, contact.email) in plans:
            by_account.setdefault(contact.account_id, []).append(contact)
    eligible = [a for a in accounts if a.id in by_account]
    records, stages = [], []
    names: set[str] = set()
    for i in range(count):
        account = rng.choice(eligible)
        primary = rng.choice(by_account[account.id])
        plan = plans[(account.owner_id, primary.email)]
        product = rng.choice(vocab.PRODUCTS)
        source = rng.choice(vocab.OPPORTUNITY_SOURCES)
        median = {"Platform": 60000.0, "Add-on": 15000.0, "Services": 30000.0}[product]
        amount = round(median * math.exp(rng.gauss(0, 0.6)), -2)
        features = {
            "log_amount_over_30k": math.log(amount / 30000),
            "product_is_addon": float(product == "Add-on"),
            "product_is_services": float(product == "Services"),
            **_source_features(source, ("existing_customer", "referral", "event", "cold_outreach")),
            "primary_contact_reply_rate": plan.contact_reply_rate_before,
            "log1p_primary_contact_response_hours": math.log1p(plan.contact_median_minutes / 60),
            "account_is_improving": float(account.trajectory == "improving"),
            "account_is_declining": float(account.trajectory == "declining"),
            "account_is_dormant": float(account.trajectory == "dormant"),
        }
        p = probability(OPPORTUNITY_INTERCEPT, OPPORTUNITY_COEFFICIENTS, features)
        won = rng.random() < p
        created = rng.uniform(c.span_start, c.now - 10 * DAY)
        reach = len(vocab.STAGES) if won else rng.randint(1, len(vocab.STAGES))
        entered, t = [], created
        for s in range(reach):
            entered.append((vocab.STAGES[s], t))
            slow = 1.0 if won else LOST_STAGE_SLOWDOWN
            t += STAGE_MEDIAN_DAYS[s] * slow * math.exp(rng.gauss(0, 0.5)) * DAY
        closed = t <= c.now
        entered = [(name, when) for name, when in entered if when <= c.now]
        status = ("Won" if won else "Lost") if closed else "Open"
        reason = ""
        if closed:
            reason = "Won: contract signed" if won else rng.choice(
                ("Lost: price", "Lost: competitor", "Lost: no decision", "Lost: budget cut"))
        opp_id = f"OPP-{i + 1:05d}"
        row = {
            "opportunity_id": opp_id, "name": _opportunity_name(names, account.name, product, created), "account_id": account.id,
            "account_name": account.name, "owner_email": users[account.owner_id].mail,
            "primary_contact_email": primary.email, "industry": account.industry,
            "company_size": account.size_bucket, "country": account.country, "source": source, "product": product,
            "amount": f"{amount:.0f}", "currency": "USD", "created_on": _date(created),
            "estimated_close_date": _date(created + rng.uniform(45, 90) * DAY), "stage": entered[-1][0],
            "status": status, "actual_close_date": _date(t) if closed else "", "closed_reason": reason,
        }
        records.append(CrmRecord(row, {k: round(v, 4) for k, v in features.items()}, round(p, 4)))
        stages += [{"opportunity_id": opp_id, "seq": n + 1, "stage": name, "entered_on": _date(when)}
                   for n, (name, when) in enumerate(entered)]
    return records, stages


def _owner_of(accounts: list[Account], account_id: str) -> str | None:
    # Account ids are "ACC-<n>" with n the 1-based position, so this is a direct lookup.
    index = int(account_id.split("-")[1]) - 1
    return accounts[index].owner_id if 0 <= index < len(accounts) else None


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` (all with the same keys, in order) as UTF-8 CSV with a header line."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


"""Small synthetic CRM data with known drivers, for fast tests (the generator's tenants test the real thing)."""

from __future__ import annotations

import csv
import io
import math
import random
from datetime import UTC, datetime, timedelta

from analytics.scoring.records import ScoringRecord

NOW = datetime(2026, 11, 1, tzinfo=UTC)
INDUSTRY_EFFECT = {"finance": 2.0, "software": 0.8, "retail": -0.6, "energy": -2.0}


def lead_rows(n: int, seed: int = 1, *, start: datetime = NOW - timedelta(days=600),
              open_share: float = 0.1) -> list[dict[str, str]]:
    """Lead CSV rows: industry and free-mail drive qualification, country is noise."""
    rng = random.Random(seed)
    rows = []
    span = (NOW - start).total_seconds()
    for i in range(n):
        created = start + timedelta(seconds=span * i / n)
        industry = rng.choice(list(INDUSTRY_EFFECT))
        free = rng.random() < 0.3
        country = rng.choice(["FR", "DE", "US"])
        visits = rng.randint(0, 20)
        z = 0.2 + INDUSTRY_EFFECT[industry] - 1.5 * free + 0.15 * (visits - 10)
        is_open = rng.random() < open_share and created > NOW - timedelta(days=60)
        outcome = "Open" if is_open else ("Qualified" if rng.random() < 1 / (1 + math.exp(-z)) else "Disqualified")
        closed = "" if is_open else (created + timedelta(days=rng.randint(3, 30))).strftime("%Y-%m-%dT%H:%M:%SZ")
        if closed and closed > NOW.strftime("%Y-%m-%dT%H:%M:%SZ"):
            outcome, closed = "Open", ""
        rows.append({
            "Lead Id": f"L{i:05d}", "Created": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "Closed": closed,
            "Owner": rng.choice(["ann@contoso.com", "bo@contoso.com"]),
            "Email": f"p{i}@{'gmail.com' if free else f'co{i}.com'}", "Name": rng.choice(["Ada Lovelace", "Li Wei"]),
            "Company": f"C{i}", "Industry": industry, "Country": country, "Visits": str(visits),
            "Status": outcome, "Reason": "" if outcome == "Open" else f"{outcome} by sales",
        })
    return rows


LEAD_MAPPING = """
record_type = "lead"

[record]
id = "Lead Id"
created_at = "Created"
closed_at = "Closed"
owner = "Owner"
contact_email = "Email"
contact_name = "Name"
account_id = "Company"

[label]
column = "Status"
positive = ["Qualified"]
negative = ["Disqualified"]
open = ["Open"]

[fields.industry]
column = "Industry"
on = "account"

[fields.country]
column = "Country"

[fields.visits]
column = "Visits"
kind = "number"

[fields.reason]
column = "Reason"
post_outcome = true
"""


def to_csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def records(n: int, seed: int = 1, positive_share: float | None = None) -> list[ScoringRecord]:
    """In-memory records with the same planted drivers (industry, free mail, visits)."""
    rng = random.Random(seed)
    out = []
    for i, row in enumerate(lead_rows(n, seed)):
        label = {"Qualified": 1, "Disqualified": 0}.get(row["Status"])
        if positive_share is not None and label is not None:
            label = int(rng.random() < positive_share)
        closed = datetime.fromisoformat(row["Closed"]) if row["Closed"] else None
        out.append(ScoringRecord(
            record_id=row["Lead Id"], created_at=datetime.fromisoformat(row["Created"]), label=label,
            closed_at=closed, owner=row["Owner"], fields={"country": row["Country"], "visits": float(row["Visits"])},
            contact_email=row["Email"], contact_name=row["Name"], account_fields={"industry": row["Industry"]},
        ))
        del i
    return out

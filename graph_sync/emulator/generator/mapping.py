"""The TOML mapping files that tell the CRM importer how to read each CSV.

They follow the mapping format of ``analytics/scoring/mapping.py`` (documented in ``docs/scoring.md`` and
summarised in ``docs/synthetic-tenant.md``), so ``parse_mapping`` reads them as they are.
"""

from __future__ import annotations

from pathlib import Path

LEADS_MAPPING = '''\
# How the columns of leads.csv become Rapport lead records.
record_type = "lead"
unknown_columns = "error"

[record]
id = "lead_id"
created_at = "created_on"               # ISO 8601 UTC, e.g. 2026-03-14T09:30:00Z
closed_at = "closed_on"                 # empty while open
owner = "owner_email"                   # the owning user's mail / userPrincipalName
contact_email = "contact_email"
contact_name = "contact_name"
account_id = "account_id"               # "P-…" prospect key; empty for free-mail prospects
account_name = "company"

[label]
column = "status"
positive = ["Qualified"]
negative = ["Disqualified"]
open = ["Open"]

[fields.title]
column = "title"
kind = "category"
on = "contact"

[fields.industry]
column = "industry"
kind = "category"
on = "account"

[fields.company_size]
column = "company_size"
kind = "category"
on = "account"

[fields.country]
column = "country"
kind = "category"
on = "account"

[fields.source]
column = "source"
kind = "category"

[fields.budget]
column = "budget"
kind = "number"

[fields.status_reason]                  # written when the lead closes: it gives the outcome away
column = "status_reason"
kind = "category"
post_outcome = true
'''

OPPORTUNITIES_MAPPING = '''\
# How the columns of opportunities.csv (and opportunity_stages.csv) become Rapport opportunity records.
# `stage` is the current stage: for a closed record, the stage it closed in (every won deal closes in Close).
record_type = "opportunity"
unknown_columns = "error"
ignore = ["currency"]

[record]
id = "opportunity_id"
created_at = "created_on"
closed_at = "actual_close_date"         # empty while open
owner = "owner_email"
contact_email = "primary_contact_email"
account_id = "account_id"
account_name = "account_name"
stage = "stage"
amount = "amount"

[label]
column = "status"
positive = ["Won"]
negative = ["Lost"]
open = ["Open"]

[fields.name]                           # what the deal is called on cards; free text, never a feature
column = "name"
kind = "text"

[fields.industry]
column = "industry"
kind = "category"
on = "account"

[fields.company_size]
column = "company_size"
kind = "category"
on = "account"

[fields.country]
column = "country"
kind = "category"
on = "account"

[fields.source]
column = "source"
kind = "category"

[fields.product]
column = "product"
kind = "category"

[fields.estimated_close_date]
column = "estimated_close_date"
kind = "date"

[fields.closed_reason]                  # written when the deal closes: it gives the outcome away
column = "closed_reason"
kind = "category"
post_outcome = true

[stages]
file = "opportunity_stages.csv"
id = "opportunity_id"
stage = "stage"
entered_at = "entered_on"
'''


def write_mappings(crm_dir: Path) -> None:
    """Write ``leads.mapping.toml`` and ``opportunities.mapping.toml`` next to the CSVs."""
    (crm_dir / "leads.mapping.toml").write_text(LEADS_MAPPING, encoding="utf-8")
    (crm_dir / "opportunities.mapping.toml").write_text(OPPORTUNITIES_MAPPING, encoding="utf-8")

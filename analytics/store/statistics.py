"""Planner statistics after a bulk load, on PostgreSQL.

Every table leads with ``tenant_id``, and most reads filter on it first. PostgreSQL estimates those filters from
the statistics its last ``ANALYZE`` gathered: a tenant onboarded after that (its first sync adds hundreds of
thousands of rows) is estimated at one row per table until autovacuum analyses again, which on a large shared
table waits for 10 % of it to change. With one-row estimates the planner nests loops over whole tables: a
scoring read of a freshly synced tenant took minutes instead of milliseconds (seen in the test suite, where an
earlier test's tenant had been analysed). A pass that loaded many rows therefore refreshes the statistics of the
tables it wrote, as autovacuum would, at once. SQLite plans without such statistics: nothing to do there.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

# Rows a tenant's pass must have written before its tables are analysed: a first sync of a mailbox or more, not
# the few hundred items of a watching sync's rounds (ANALYZE samples ~30,000 rows a table: about a second).
BULK_LOAD_ROWS = 20_000
# The tables a sync pass fills, and the per-contact reads of the analytics and scoring join.
SYNCED_TABLES = ("activity", "activity_source", "activity_participant", "interaction_rollup", "contact",
                 "rollup_change")
# The tables a CRM import fills: training and scoring read them per tenant right after the import.
CRM_TABLES = ("lead", "opportunity", "opportunity_stage", "crm_member", "contact", "account", "account_domain")


def analyze_after_bulk_load(engine: Engine, tables: tuple[str, ...] = SYNCED_TABLES) -> bool:
    """``ANALYZE`` these tables on PostgreSQL; whether it ran."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.begin() as conn:
        conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}")
    return True

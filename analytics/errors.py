"""Errors raised by the analytics core and its store.

::

    RapportError                 root of every error Rapport raises on purpose
    ├── ConfigError              a setting has a wrong value (names the variable and what it expects)
    ├── StoreError               the store cannot do what was asked
    │   ├── SchemaNotCurrent     the database is not at the latest migration
    │   ├── IngestError          an activity batch was rejected; nothing of it was written
    │   └── TenantBeingSynced    a tenant cannot be removed: a sync holds leases on its mailboxes
    └── NotFound                 a tenant, user, contact or record does not exist
"""

from __future__ import annotations

from datetime import datetime


class RapportError(Exception):
    """Root of every error Rapport raises on purpose."""


class ConfigError(RapportError):
    """A configuration value is wrong. Carries the variable (or file:key), what is expected and what was given."""

    def __init__(self, variable: str, expected: str, given: str) -> None:
        self.variable = variable
        self.expected = expected
        self.given = given
        super().__init__(f"{variable}: expected {expected}, got {given}")


class StoreError(RapportError):
    """The store cannot do what was asked."""


class SchemaNotCurrent(StoreError):
    """The database schema is behind the code's migrations."""

    def __init__(self, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        super().__init__(
            f"database schema is at {current or 'nothing'}, code expects {head}: run `rapport db upgrade`"
        )


class IngestError(StoreError):
    """An ingest batch was rejected as a whole."""


class TenantBeingSynced(StoreError):
    """A tenant's removal was refused: a sync holds unexpired leases on ``mailboxes`` until ``until`` at most."""

    def __init__(self, tenant_id: str, mailboxes: tuple[str, ...], owners: tuple[str, ...], until: datetime) -> None:
        self.tenant_id = tenant_id
        self.mailboxes = mailboxes
        self.owners = owners
        self.until = until
        super().__init__(f"a sync ({', '.join(owners)}) holds leases on {len(mailboxes)} mailboxes of tenant "
                         f"{tenant_id} until {until.isoformat(timespec='seconds')} at most")


class NotFound(RapportError):
    """Something asked for does not exist."""

"""Table models of the store.

Rules that every table here follows:

* ``tenant_id`` leads every primary key and every index, so tenants are isolated by construction and the schema
  can be distributed by tenant (Citus ``create_distributed_table(..., 'tenant_id')``) without changes.
* Rows are keyed by compact ids; long Graph identifiers live in plain columns (see :mod:`analytics.store.ids`).
* Timestamps are timezone-aware UTC (:class:`~analytics.store.types.UTCDateTime`).
* Table models never leave ``analytics/store/``: queries hand out the dataclasses of
  :mod:`analytics.store.records`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKeyConstraint, Index, LargeBinary, MetaData, Table
from sqlmodel import Field, SQLModel

from analytics.store.types import JSONDoc, Key64, UTCDateTime

# Deterministic constraint names so Alembic migrations are stable across SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata = MetaData(naming_convention=NAMING)
metadata = SQLModel.metadata


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model (for bulk statements, which bypass the ORM)."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def _json(**kw: Any) -> Any:
    return Field(sa_type=JSONDoc, **kw)


def _key(**kw: Any) -> Any:
    return Field(sa_type=Key64, **kw)


# --- Tenants and directory -------------------------------------------------------------------------------------


class Tenant(SQLModel, table=True):
    """A Microsoft 365 tenant that consented to Rapport (or the emulator's demo tenant)."""

    __tablename__ = "tenant"
    tenant_id: str = Field(primary_key=True, max_length=64)
    display_name: str = ""
    status: str = Field(default="active", max_length=16)  # active | pending | disabled
    subject_policy: str = Field(default="hash", max_length=8)  # drop | hash | keep
    client_id: str = ""
    auth_kind: str = Field(default="secret", max_length=16)  # secret | certificate | emulator
    client_secret: str | None = None
    certificate_path: str | None = None
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    authority: str = "https://login.microsoftonline.com"
    granted_scopes: list[str] = _json(default_factory=list)
    options: dict[str, Any] = _json(default_factory=dict)  # per-tenant analytics options (weights, bands, …)
    created_at: datetime = _utc()
    consented_at: datetime | None = _utc(default=None, nullable=True)


class TenantDomain(SQLModel, table=True):
    """A verified domain of the tenant: addresses in it are internal."""

    __tablename__ = "tenant_domain"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),)
    tenant_id: str = Field(primary_key=True, max_length=64)
    domain: str = Field(primary_key=True, max_length=255)
    is_default: bool = False


class InternalUser(SQLModel, table=True):
    """A user of the tenant (a mailbox owner), with their manager."""

    __tablename__ = "internal_user"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),
        Index("ix_internal_user_email", "tenant_id", "email"),
        Index("ix_internal_user_manager", "tenant_id", "manager_id"),
    )
    tenant_id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(primary_key=True, max_length=64)  # Entra object id
    email: str = Field(max_length=320)
    display_name: str = ""
    manager_id: str | None = Field(default=None, max_length=64)
    department: str | None = None
    job_title: str | None = None
    mailbox_kind: str = Field(default="user", max_length=16)  # user | shared | room | equipment
    account_enabled: bool = True
    time_zone: str | None = None
    locale: str | None = None
    updated_at: datetime | None = _utc(default=None, nullable=True)


class Account(SQLModel, table=True):
    """A customer organisation, from CRM data or inferred from an email domain."""

    __tablename__ = "account"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),
        Index("ix_account_name", "tenant_id", "name"),
    )
    tenant_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(primary_key=True, max_length=128)
    name: str
    source: str = Field(default="domain", max_length=16)  # domain | crm
    owner_id: str | None = Field(default=None, max_length=64)
    fields: dict[str, Any] = _json(default_factory=dict)
    created_at: datetime | None = _utc(default=None, nullable=True)


class AccountDomain(SQLModel, table=True):
    """Maps an email domain to the account it belongs to."""

    __tablename__ = "account_domain"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "account_id"], ["account.tenant_id", "account.account_id"],
                             ondelete="CASCADE"),
        Index("ix_account_domain_account", "tenant_id", "account_id"),
    )
    tenant_id: str = Field(primary_key=True, max_length=64)
    domain: str = Field(primary_key=True, max_length=255)
    account_id: str = Field(max_length=128)


class Contact(SQLModel, table=True):
    """An external person (an address outside the tenant's verified domains)."""

    __tablename__ = "contact"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),
        Index("ix_contact_email", "tenant_id", "email", unique=True),
        Index("ix_contact_domain", "tenant_id", "domain"),
    )
    tenant_id: str = Field(primary_key=True, max_length=64)
    contact_id: int = _key(primary_key=True)  # ids.contact_key(email)
    email: str = Field(max_length=320)
    domain: str = Field(max_length=255)
    display_name: str = ""
    account_id: str | None = Field(default=None, max_length=128)  # explicit CRM link; else by domain
    sender_class: str = Field(default="person", max_length=16)  # person | bulk | noreply | list
    fields: dict[str, Any] = _json(default_factory=dict)


# --- Activities ------------------------------------------------------------------------------------------------


class Activity(SQLModel, table=True):
    """One interaction (email, meeting, call, task), de-duplicated across the mailboxes it was seen in."""

    __tablename__ = "activity"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),
        Index("ix_activity_conversation", "tenant_id", "conversation_id"),
        Index("ix_activity_start", "tenant_id", "start_at"),
    )
    tenant_id: str = Field(primary_key=True, max_length=64)
    activity_id: int = _key(primary_key=True)  # key64 of dedup_key
    dedup_key: str  # "m:<internetMessageId>", "e:<iCalUId>", "c:<call id>" or "s:<mailbox>:<source id>"
    kind: str = Field(max_length=8)  # email | meeting | call | task
    internet_message_id: str | None = None
    ical_uid: str | None = None
    conversation_id: str | None = Field(default=None, max_length=512)
    start_at: datetime = _utc()  # sent time for mail, start for meetings and calls
    end_at: datetime | None = _utc(default=None, nullable=True)
    duration_minutes: float = 0.0
    direction: str = Field(max_length=10)  # outbound | inbound | internal | external
    initiator_side: str | None = Field(default=None, max_length=8)  # us | them
    is_reply: bool = False
    is_bulk: bool = False
    is_cancelled: bool = False
    subject: str | None = None  # kept only when the tenant's policy is "keep"
    subject_hash: str | None = Field(default=None, max_length=64)  # policy "hash"
    attributes: dict[str, Any] = _json(default_factory=dict)
    updated_at: datetime = _utc()


class ActivitySource(SQLModel, table=True):
    """Where an activity was seen: one row per mailbox copy (Graph id in that mailbox)."""

    __tablename__ = "activity_source"
    # No foreign key to activity, on purpose: on PostgreSQL each row's FK check is a separate lookup that the
    # bulk ingest pays per row (and, on a fresh table, as a sequential scan). The ingest writes and deletes
    # sightings, participants and activities together in one transaction, which keeps them consistent.
    __table_args__ = (
        Index("ix_activity_source_activity", "tenant_id", "activity_id"),
        Index("ix_activity_source_mailbox", "tenant_id", "mailbox_id", "resource"),
    )
    tenant_id: str = Field(primary_key=True, max_length=64)
    source_key: int = _key(primary_key=True)  # key64(mailbox_id, source_id)
    activity_id: int = _key()
    mailbox_id: str = Field(max_length=64)
    resource: str = Field(max_length=32)  # messages | events | callRecords
    source_id: str
    folder_id: str | None = None


class ActivityParticipant(SQLModel, table=True):
    """A person on an activity, in one role."""

    __tablename__ = "activity_participant"
    # No foreign key to activity: see ActivitySource.
    __table_args__ = (
        Index("ix_activity_participant_contact", "tenant_id", "contact_id"),
        Index("ix_activity_participant_user", "tenant_id", "user_id"),
    )
    tenant_id: str = Field(primary_key=True, max_length=64)
    activity_id: int = _key(primary_key=True)
    role: str = Field(primary_key=True, max_length=10)  # from | to | cc | bcc | organizer | attendee | caller | callee
    address: str = Field(primary_key=True, max_length=320)
    display_name: str = ""
    side: str = Field(max_length=8)  # internal | external
    user_id: str | None = Field(default=None, max_length=64)
    contact_id: int | None = _key(default=None, nullable=True)
    response_status: str | None = Field(default=None, max_length=24)


class InteractionRollup(SQLModel, table=True):
    """Per day, internal user, external contact and kind: how much each side reached out and for how long.

    Maintained by the ingest in the same transaction as the activities (see :mod:`analytics.store.rollups`).
    """

    __tablename__ = "interaction_rollup"
    __table_args__ = (
        Index("ix_interaction_rollup_contact", "tenant_id", "contact_id", "day"),
        Index("ix_interaction_rollup_user", "tenant_id", "user_id", "day"),
    )
    tenant_id: str = Field(primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    user_id: str = Field(primary_key=True, max_length=64)
    contact_id: int = _key(primary_key=True)
    kind: str = Field(primary_key=True, max_length=8)
    from_us: int = 0  # emails sent / meetings organised / calls made by the user to the contact
    from_them: int = 0  # the other way round
    minutes_us: float = 0.0
    minutes_them: float = 0.0
    last_at: datetime | None = _utc(default=None, nullable=True)


class RollupChange(SQLModel, table=True):
    """Rollup changes not yet folded into the stored health aggregates (:class:`HealthState`).

    The ingest adds each rollup difference here too, in the same transaction (summed per rollup key); an
    incremental refresh consumes the rows (``DELETE … RETURNING``) and applies them to the records' aggregates.
    A full refresh, which rebuilds the aggregates from the rollups, empties it.
    """

    __tablename__ = "rollup_change"
    tenant_id: str = Field(primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    user_id: str = Field(primary_key=True, max_length=64)
    contact_id: int = _key(primary_key=True)
    kind: str = Field(primary_key=True, max_length=8)
    from_us: int = 0
    from_them: int = 0


class HealthState(SQLModel, table=True):
    """The per-record aggregate a health score is computed from: the record's daily counts per kind and side
    over the scoring horizon, packed (see :mod:`analytics.refresh`). Rebuilt by a full refresh; what incremental
    refreshes add to it is kept beside the record's changed score (:class:`HealthScoreChange`)."""

    __tablename__ = "health_state"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),)
    tenant_id: str = Field(primary_key=True, max_length=64)
    record_type: str = Field(primary_key=True, max_length=16)  # contact | account
    record_id: str = Field(primary_key=True, max_length=128)
    series: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class HealthRefresh(SQLModel, table=True):
    """Per tenant: the first day the stored :class:`HealthState` rows cover, when they were built, and when and
    how many incremental refreshes ran since."""

    __tablename__ = "health_refresh"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),)
    tenant_id: str = Field(primary_key=True, max_length=64)
    since: date
    full_at: datetime = _utc()
    incremental_at: datetime | None = _utc(default=None, nullable=True)
    increments: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class HealthScoreChange(SQLModel, table=True):
    """A health score an incremental refresh computed since the tenant's last full refresh.

    It replaces the record's ``score`` row for every reader of health scores (``queries_relationships`` merges
    them) until the next full refresh rewrites ``score`` and empties this table. One small row per record (no
    JSON document: ``factors`` packs the numbers the ``details`` document is built from when read), so an
    incremental refresh writes a few pages of a small table instead of a scattered page of ``score`` per record;
    the same row carries the record's aggregate change since the full refresh (``series``), so that is not a
    second row per record either.
    """

    __tablename__ = "health_score_change"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),)
    tenant_id: str = Field(primary_key=True, max_length=64)
    record_type: str = Field(primary_key=True, max_length=16)  # contact | account | lead | opportunity
    record_id: str = Field(primary_key=True, max_length=128)
    value: float | None = None
    label: str | None = Field(default=None, max_length=24)
    trend: str | None = Field(default=None, max_length=24)
    computed_at: datetime = _utc()
    factors: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))  # None: closed
    # what the incremental refreshes since the full refresh added to the record's HealthState (None: a lead or
    # opportunity, scored from its people's rollups)
    series: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))



class HealthView(SQLModel, table=True):
    """A record's health answer materialised after a refresh (see :mod:`analytics.health_views`): everything
    ``RelationshipQueries.health`` returns except the asker's own connection, as of the refresh instant
    ``computed_at``, with the record's contact ids (what that connection is read for), zlib-compressed JSON."""

    __tablename__ = "health_view"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),)
    tenant_id: str = Field(primary_key=True, max_length=64)
    record_type: str = Field(primary_key=True, max_length=16)  # contact | account | domain | lead | opportunity
    record_id: str = Field(primary_key=True, max_length=320)  # contact email, account id, domain, record id
    computed_at: datetime = _utc()
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class HealthViewMark(SQLModel, table=True):
    """Per tenant: the refresh instant (``health_refresh.full_at`` or ``incremental_at``) whose records' views
    are all written. Views are served only while it equals the tenant's latest refresh instant."""

    __tablename__ = "health_view_mark"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),)
    tenant_id: str = Field(primary_key=True, max_length=64)
    refreshed_at: datetime = _utc()


class WhoKnowsView(SQLModel, table=True):
    """A record's who-knows answer materialised with its health view (see :mod:`analytics.who_knows_views`): every
    colleague's connection to the record's people before anyone is left out, and the two-hop path when nobody
    available knows them, as of the refresh instant ``computed_at``; zlib-compressed JSON. Served under the
    tenant's ``health_view_mark`` (both are written in one transaction) and the rule of
    :mod:`analytics.stored_who_knows`."""

    __tablename__ = "who_knows_view"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),)
    tenant_id: str = Field(primary_key=True, max_length=64)
    record_type: str = Field(primary_key=True, max_length=16)  # contact | account | domain | lead | opportunity
    record_id: str = Field(primary_key=True, max_length=320)  # contact email, account id, domain, record id
    computed_at: datetime = _utc()
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


# --- Sync state ------------------------------------------------------------------------------------------------


class SyncState(SQLModel, table=True):
    """Delta position, lease and health of one resource (mail folder, calendar) of one mailbox."""

    __tablename__ = "sync_state"
    __table_args__ = (Index("ix_sync_state_lease", "tenant_id", "lease_expires_at"),)
    tenant_id: str = Field(primary_key=True, max_length=64)
    mailbox_id: str = Field(primary_key=True, max_length=64)
    resource: str = Field(primary_key=True, max_length=64)  # messages:inbox | messages:sentitems | events | …
    next_link: str | None = None  # resume point inside a round
    delta_link: str | None = None  # start of the next round
    window_start: datetime | None = _utc(default=None, nullable=True)
    window_end: datetime | None = _utc(default=None, nullable=True)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = _utc(default=None, nullable=True)
    not_before: datetime | None = _utc(default=None, nullable=True)  # requeued after a long Retry-After
    last_success_at: datetime | None = _utc(default=None, nullable=True)
    last_error_at: datetime | None = _utc(default=None, nullable=True)
    last_error: str | None = None
    consecutive_errors: int = 0
    items_synced: int = 0
    items_removed: int = 0
    pages_synced: int = 0
    requests_made: int = 0
    resyncs: int = 0


# --- CRM -------------------------------------------------------------------------------------------------------


class Lead(SQLModel, table=True):
    __tablename__ = "lead"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),
        Index("ix_lead_owner", "tenant_id", "owner_id"),
        Index("ix_lead_status", "tenant_id", "status"),
    )
    tenant_id: str = Field(primary_key=True, max_length=64)
    lead_id: str = Field(primary_key=True, max_length=128)
    owner_id: str | None = Field(default=None, max_length=64)
    contact_email: str | None = Field(default=None, max_length=320)
    account_id: str | None = Field(default=None, max_length=128)
    status: str = Field(default="open", max_length=16)  # open | qualified | disqualified
    created_at: datetime = _utc()
    closed_at: datetime | None = _utc(default=None, nullable=True)
    fields: dict[str, Any] = _json(default_factory=dict)


class Opportunity(SQLModel, table=True):
    __tablename__ = "opportunity"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.tenant_id"], ondelete="CASCADE"),
        Index("ix_opportunity_owner", "tenant_id", "owner_id"),
        Index("ix_opportunity_status", "tenant_id", "status"),
    )
    tenant_id: str = Field(primary_key=True, max_length=64)
    opportunity_id: str = Field(primary_key=True, max_length=128)
    owner_id: str | None = Field(default=None, max_length=64)
    account_id: str | None = Field(default=None, max_length=128)
    stage: str | None = Field(default=None, max_length=64)
    status: str = Field(default="open", max_length=16)  # open | won | lost
    amount: float | None = None
    created_at: datetime = _utc()
    closed_at: datetime | None = _utc(default=None, nullable=True)
    fields: dict[str, Any] = _json(default_factory=dict)


class OpportunityStage(SQLModel, table=True):
    """Stage history: the stage an opportunity entered and when."""

    __tablename__ = "opportunity_stage"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "opportunity_id"],
                             ["opportunity.tenant_id", "opportunity.opportunity_id"], ondelete="CASCADE"),
    )
    tenant_id: str = Field(primary_key=True, max_length=64)
    opportunity_id: str = Field(primary_key=True, max_length=128)
    seq: int = Field(primary_key=True)
    stage: str = Field(max_length=64)
    entered_at: datetime = _utc()


class CrmMember(SQLModel, table=True):
    """People on a CRM record: owner, sales team (internal) and stakeholders (external)."""

    __tablename__ = "crm_member"
    __table_args__ = (Index("ix_crm_member_address", "tenant_id", "address"),)
    tenant_id: str = Field(primary_key=True, max_length=64)
    record_type: str = Field(primary_key=True, max_length=16)  # lead | opportunity
    record_id: str = Field(primary_key=True, max_length=128)
    address: str = Field(primary_key=True, max_length=320)
    role: str = Field(primary_key=True, max_length=16)  # owner | team | stakeholder
    side: str = Field(max_length=8)  # internal | external


# --- Scores and models -----------------------------------------------------------------------------------------


class Score(SQLModel, table=True):
    """The current score of a record (health of a contact/account/lead/opportunity, or predictive score)."""

    __tablename__ = "score"
    tenant_id: str = Field(primary_key=True, max_length=64)
    score_kind: str = Field(primary_key=True, max_length=16)  # health | predictive
    record_type: str = Field(primary_key=True, max_length=16)  # contact | account | lead | opportunity
    record_id: str = Field(primary_key=True, max_length=128)
    value: float | None = None  # None when not computed (not enough info, closed record)
    label: str | None = Field(default=None, max_length=24)  # state (Good/Fair/Poor) or grade (A-D)
    trend: str | None = Field(default=None, max_length=24)
    model_id: str | None = Field(default=None, max_length=64)
    computed_at: datetime = _utc()
    details: dict[str, Any] = _json(default_factory=dict)  # factors / reasons


class ScoreHistory(SQLModel, table=True):
    """Every score ever computed, for trends and charts."""

    __tablename__ = "score_history"
    tenant_id: str = Field(primary_key=True, max_length=64)
    score_kind: str = Field(primary_key=True, max_length=16)
    record_type: str = Field(primary_key=True, max_length=16)
    record_id: str = Field(primary_key=True, max_length=128)
    computed_at: datetime = _utc(primary_key=True)
    value: float | None = None
    label: str | None = Field(default=None, max_length=24)
    model_id: str | None = Field(default=None, max_length=64)


class ModelVersion(SQLModel, table=True):
    """A trained scoring model: metrics, feature schema and the fitted estimator."""

    __tablename__ = "model_version"
    __table_args__ = (Index("ix_model_version_type", "tenant_id", "record_type", "status"),)
    tenant_id: str = Field(primary_key=True, max_length=64)
    model_id: str = Field(primary_key=True, max_length=64)
    record_type: str = Field(max_length=16)  # lead | opportunity
    name: str = Field(default="default", max_length=64)
    version: int = 1
    status: str = Field(default="candidate", max_length=16)  # candidate | active | retired | rejected
    filters: dict[str, Any] = _json(default_factory=dict)
    feature_schema_hash: str = Field(default="", max_length=64)
    metrics: dict[str, Any] = _json(default_factory=dict)
    threshold: float = 0.5
    trained_at: datetime = _utc()
    published_at: datetime | None = _utc(default=None, nullable=True)
    artifact: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


# --- Bot, consent, privacy, audit ------------------------------------------------------------------------------


class ConversationRef(SQLModel, table=True):
    """Our own record of a Teams conversation, enough to message it proactively with any bot SDK."""

    __tablename__ = "conversation_ref"
    __table_args__ = (Index("ix_conversation_ref_user", "tenant_id", "user_aad_id"),)
    tenant_id: str = Field(primary_key=True, max_length=64)
    conversation_id: str = Field(primary_key=True, max_length=512)
    conversation_type: str = Field(default="personal", max_length=16)  # personal | channel | groupChat
    user_aad_id: str | None = Field(default=None, max_length=64)
    service_url: str
    channel_id: str = Field(default="msteams", max_length=32)
    bot_id: str = ""
    locale: str | None = Field(default=None, max_length=16)
    reference: dict[str, Any] = _json(default_factory=dict)
    installed_at: datetime = _utc()
    updated_at: datetime = _utc()


class ConsentRecord(SQLModel, table=True):
    """An admin-consent outcome for a tenant."""

    __tablename__ = "consent_record"
    tenant_id: str = Field(primary_key=True, max_length=64)
    consent_id: str = Field(primary_key=True, max_length=64)  # the state nonce: recorded once, never replayed
    granted_at: datetime = _utc()
    scopes: list[str] = _json(default_factory=list)
    admin: str | None = None


class UserOptOut(SQLModel, table=True):
    """A user who opted out of a feature (who knows whom, talking points, or everything)."""

    __tablename__ = "user_opt_out"
    tenant_id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(primary_key=True, max_length=64)
    scope: str = Field(primary_key=True, max_length=24)  # who_knows | talking_points | all
    opted_out_at: datetime = _utc()


class AuditEvent(SQLModel, table=True):
    """Who did what, for admins: consent, opt-outs, model publication, Graph writes."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "tenant_id", "at"),)
    tenant_id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=64)
    at: datetime = _utc()
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64)
    target: str = ""
    details: dict[str, Any] = _json(default_factory=dict)

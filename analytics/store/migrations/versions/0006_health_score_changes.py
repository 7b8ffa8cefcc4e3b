"""health score changes: incremental refreshes write their scores and aggregate changes to a small table that
readers of health scores merge (replaces health_delta)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import analytics.store.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('health_score_change',
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('record_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('record_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('trend', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('computed_at', analytics.store.types.UTCDateTime(), nullable=False),
    sa.Column('factors', sa.LargeBinary(), nullable=True),
    sa.Column('series', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.tenant_id'],
                            name=op.f('fk_health_score_change_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'record_type', 'record_id', name=op.f('pk_health_score_change'))
    )
    # Aggregate changes now live in health_score_change.series. Dropping the deltas loses nothing a full refresh
    # does not rebuild: refresh_for_now runs a full refresh when the aggregates are missing or stale, and the
    # incremental refresh needs one since this upgrade (health_refresh is reset below).
    op.drop_table('health_delta')
    op.execute("DELETE FROM health_refresh")


def downgrade() -> None:
    op.create_table('health_delta',
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('record_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('record_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('increment', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('series', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.tenant_id'], name=op.f('fk_health_delta_tenant_id_tenant'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'record_type', 'record_id', 'increment', name=op.f('pk_health_delta'))
    )
    op.execute("DELETE FROM health_refresh")  # scores and aggregate changes of health_score_change are gone
    op.drop_table('health_score_change')

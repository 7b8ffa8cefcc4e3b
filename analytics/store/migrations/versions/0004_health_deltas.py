"""health deltas: incremental refreshes append what they add to a record's aggregate

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    with op.batch_alter_table('health_refresh') as batch:
        batch.add_column(sa.Column('increments', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('health_refresh') as batch:
        batch.drop_column('increments')
    op.drop_table('health_delta')

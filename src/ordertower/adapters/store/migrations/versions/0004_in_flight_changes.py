"""in-flight changes: order revisions (supplemental orders) and cancellation requests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import ordertower.adapters.store.tables
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

UTC = ordertower.adapters.store.tables.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('order_revisions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('body', JSON, nullable=False),
    sa.Column('items', JSON, nullable=False),
    sa.Column('delta', JSON, nullable=True),
    sa.Column('plan_actions', JSON, nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('decided_at', UTC, nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_revisions_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_revisions'))
    )
    with op.batch_alter_table('order_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_revisions_order_id'), ['order_id'], unique=False)
    op.create_table('cancel_requests',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('body', JSON, nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('effective_at', UTC, nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_cancel_requests_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cancel_requests'))
    )
    with op.batch_alter_table('cancel_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cancel_requests_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_table('cancel_requests')
    op.drop_table('order_revisions')

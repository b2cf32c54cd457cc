"""event delivery: TMF hub listeners with their cursor, retry state and lease

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
import ordertower.adapters.store.tables
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

UTC = ordertower.adapters.store.tables.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('event_subscriptions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('api', sa.String(length=40), nullable=False),
    sa.Column('callback', sa.Text(), nullable=False),
    sa.Column('query', sa.Text(), nullable=True),
    sa.Column('filter', JSON, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('failing_since', UTC, nullable=True),
    sa.Column('next_attempt_at', UTC, nullable=True),
    sa.Column('last_attempt_at', UTC, nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered', sa.Integer(), nullable=False),
    sa.Column('last_delivered_at', UTC, nullable=True),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_until', UTC, nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_subscriptions'))
    )


def downgrade() -> None:
    op.drop_table('event_subscriptions')

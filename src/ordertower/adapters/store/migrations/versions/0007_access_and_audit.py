"""access and audit: each event names its actor (the audit log is a view over the events)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('actor', sa.String(length=200), nullable=True))
    op.create_index('ix_events_actor', 'events', ['actor'])
    op.create_index('ix_events_type', 'events', ['type'])
    op.create_index('ix_events_occurred_at', 'events', ['occurred_at'])


def downgrade() -> None:
    op.drop_index('ix_events_occurred_at', table_name='events')
    op.drop_index('ix_events_type', table_name='events')
    op.drop_index('ix_events_actor', table_name='events')
    with op.batch_alter_table('events') as batch:
        batch.drop_column('actor')

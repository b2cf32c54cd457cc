"""system breakers: each fulfillment system's circuit breaker, in its state row, shared by
every worker process (domain/breaker.py, engine/breaker.py)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

from ordertower.adapters.store.tables import UTCDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('system_states') as batch:
        batch.add_column(sa.Column('breaker_state', sa.String(16), nullable=False, server_default='closed'))
        batch.add_column(sa.Column('breaker_failures', sa.Integer, nullable=False, server_default='0'))
        batch.add_column(sa.Column('breaker_opened_at', UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('breaker_probe_until', UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('breaker_trial_item', sa.String(64), nullable=True))
        batch.add_column(sa.Column('breaker_changed_at', UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('system_states') as batch:
        for column in ('breaker_changed_at', 'breaker_trial_item', 'breaker_probe_until',
                       'breaker_opened_at', 'breaker_failures', 'breaker_state'):
            batch.drop_column(column)

"""service levels: an order's expectedCompletionDate, and the durations learned from history

``orders.expected_completion_date`` is fixed at placement from the catalog's lead times and
the plan's critical path; ``learned_durations`` holds, per scenario item and system, the 80th
percentile of its observed durations once it has enough completions (docs/catalog.md,
"Service levels").

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import ordertower.adapters.store.tables

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('orders', sa.Column('expected_completion_date',
                                      ordertower.adapters.store.tables.UTCDateTime(timezone=True),
                                      nullable=True))
    op.create_table(
        'learned_durations',
        sa.Column('technical_product', sa.String(length=100), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('step_id', sa.String(length=100), nullable=False),
        sa.Column('system', sa.String(length=100), nullable=False),
        sa.Column('completions', sa.Integer(), nullable=False),
        sa.Column('p80_s', sa.Float(), nullable=False),
        sa.Column('learned_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True),
                  nullable=False),
        sa.PrimaryKeyConstraint('technical_product', 'action', 'step_id', 'system',
                                name=op.f('pk_learned_durations')))


def downgrade() -> None:
    op.drop_table('learned_durations')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('expected_completion_date')

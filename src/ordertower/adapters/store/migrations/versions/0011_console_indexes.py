"""console indexes: order lists served by an index whatever they filter by (newest first),
and attempts by start time (a system's throughput and error rate over the last hour)

Each filter's index of ``orders`` ends with the lists' order (``created_at``, ``id``), so a
page of the newest 50 reads 50 index entries instead of sorting every matching order; the
composite indexes replace the single-column ones on ``state`` and ``customer_id`` (their
prefix). See docs/performance.md (the console list benchmark).

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30
"""
from alembic import op

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_orders_created_at_id', 'orders', ['created_at', 'id'], unique=False)
    op.create_index('ix_orders_state_created_at_id', 'orders', ['state', 'created_at', 'id'], unique=False)
    op.create_index('ix_orders_customer_id_created_at_id', 'orders', ['customer_id', 'created_at', 'id'],
                    unique=False)
    op.create_index('ix_orders_jeopardy_created_at_id', 'orders', ['jeopardy', 'created_at', 'id'], unique=False)
    op.drop_index('ix_orders_state', table_name='orders')
    op.drop_index('ix_orders_customer_id', table_name='orders')
    op.create_index('ix_item_attempts_started_at', 'item_attempts', ['started_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_item_attempts_started_at', table_name='item_attempts')
    op.create_index('ix_orders_customer_id', 'orders', ['customer_id'], unique=False)
    op.create_index('ix_orders_state', 'orders', ['state'], unique=False)
    op.drop_index('ix_orders_jeopardy_created_at_id', table_name='orders')
    op.drop_index('ix_orders_customer_id_created_at_id', table_name='orders')
    op.drop_index('ix_orders_state_created_at_id', table_name='orders')
    op.drop_index('ix_orders_created_at_id', table_name='orders')

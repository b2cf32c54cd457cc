"""open items index: an order's items not yet in a final state, by revision and state
(partial), so that settling an order asks whether anything is left open or in fallout, and the
jeopardy sweep reads the open items, without visiting the finished ones; on PostgreSQL
without deduplication, so that dead entries are marked dead by the first scan that meets them
(docs/decisions.md, "Settling an order without counting its items"). The index of
``plan_items.order_id`` alone goes: the unique index (order_id, revision, key) serves every
read by order, and each new item was written into one more index.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

OPEN_ITEM = "state NOT IN ('cancelled', 'compensated', 'completed', 'skipped')"


def upgrade() -> None:
    op.drop_index('ix_plan_items_order_id', table_name='plan_items')
    open_item = sa.text(OPEN_ITEM)
    op.create_index('ix_plan_items_open', 'plan_items', ['order_id', 'revision', 'state'],
                    unique=False, postgresql_where=open_item, sqlite_where=open_item,
                    postgresql_with={"deduplicate_items": "off"})


def downgrade() -> None:
    op.drop_index('ix_plan_items_open', table_name='plan_items')
    op.create_index('ix_plan_items_order_id', 'plan_items', ['order_id'], unique=False)

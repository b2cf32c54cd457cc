"""installed base: technical inventory items; lines and assets for MACD

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import ordertower.adapters.store.tables
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

UTC = ordertower.adapters.store.tables.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('inventory_items',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=True),
    sa.Column('key', sa.String(length=700), nullable=False),
    sa.Column('technical_product', sa.String(length=100), nullable=False),
    sa.Column('attributes', JSON, nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('assets', JSON, nullable=False),
    sa.Column('lines', JSON, nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_items')),
    sa.UniqueConstraint('key', name=op.f('uq_inventory_items_key'))
    )
    with op.batch_alter_table('inventory_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_items_customer_id'), ['customer_id'], unique=False)
    with op.batch_alter_table('fulfillment_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inventory_key', sa.String(length=700), nullable=True))
        batch_op.add_column(sa.Column('previous', JSON, nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('root_asset_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('terminated_at', UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_column('terminated_at')
        batch_op.drop_column('root_asset_id')
    with op.batch_alter_table('fulfillment_lines', schema=None) as batch_op:
        batch_op.drop_column('reason')
        batch_op.drop_column('previous')
        batch_op.drop_column('inventory_key')
    with op.batch_alter_table('inventory_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inventory_items_customer_id'))
    op.drop_table('inventory_items')

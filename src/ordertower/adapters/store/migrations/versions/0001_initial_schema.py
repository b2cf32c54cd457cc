"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 10:50:22.496417
"""
from alembic import op
import sqlalchemy as sa
import ordertower.adapters.store.tables
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('api_keys',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key_hash', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('created_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_table('events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=True),
    sa.Column('item_id', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('occurred_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_events_event_id'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_order_id'), ['order_id'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=True),
    sa.Column('catalog_version', sa.String(length=100), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('order_date', sa.String(length=40), nullable=False),
    sa.Column('requested_start_date', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('requested_completion_date', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completion_date', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state_reason', sa.Text(), nullable=True),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('items', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_external_id'), ['external_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_order_date'), ['order_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_state'), ['state'], unique=False)

    op.create_table('assets',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=True),
    sa.Column('offering_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('order_item_id', sa.String(length=200), nullable=False),
    sa.Column('lines', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('billing_account_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets'))
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assets_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_order_id'), ['order_id'], unique=False)

    op.create_table('fulfillment_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.String(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('technical_product', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('lineage', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('rule_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('parent_line_id', sa.String(length=500), nullable=True),
    sa.Column('root_item_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fulfillment_lines')),
    sa.UniqueConstraint('order_id', 'revision', 'line_id', name=op.f('uq_fulfillment_lines_order_id_revision_line_id'))
    )
    op.create_table('plan_items',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=600), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.String(length=500), nullable=True),
    sa.Column('step_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('system', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('ponr', sa.Boolean(), nullable=False),
    sa.Column('depends_on', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('pending_deps', sa.Integer(), nullable=False),
    sa.Column('root_item_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_until', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expected_duration_s', sa.Float(), nullable=True),
    sa.Column('started_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('output', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('spec', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_items')),
    sa.UniqueConstraint('order_id', 'revision', 'key', name=op.f('uq_plan_items_order_id_revision_key'))
    )
    with op.batch_alter_table('plan_items', schema=None) as batch_op:
        batch_op.create_index('ix_plan_items_claim', ['state', 'not_before'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_items_order_id'), ['order_id'], unique=False)

    op.create_table('item_attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=True),
    sa.Column('started_at', ordertower.adapters.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('request', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_excerpt', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['plan_items.id'], ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_attempts'))
    )
    with op.batch_alter_table('item_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_attempts_item_id'), ['item_id'], unique=False)

    op.create_table('plan_item_edges',
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('depends_on_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['depends_on_id'], ['plan_items.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['plan_items.id'], ),
    sa.PrimaryKeyConstraint('item_id', 'depends_on_id', name=op.f('pk_plan_item_edges'))
    )
    with op.batch_alter_table('plan_item_edges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_item_edges_depends_on_id'), ['depends_on_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('plan_item_edges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_item_edges_depends_on_id'))

    op.drop_table('plan_item_edges')
    with op.batch_alter_table('item_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_attempts_item_id'))

    op.drop_table('item_attempts')
    with op.batch_alter_table('plan_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_items_order_id'))
        batch_op.drop_index('ix_plan_items_claim')

    op.drop_table('plan_items')
    op.drop_table('fulfillment_lines')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assets_order_id'))
        batch_op.drop_index(batch_op.f('ix_assets_customer_id'))

    op.drop_table('assets')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_state'))
        batch_op.drop_index(batch_op.f('ix_orders_order_date'))
        batch_op.drop_index(batch_op.f('ix_orders_external_id'))
        batch_op.drop_index(batch_op.f('ix_orders_customer_id'))

    op.drop_table('orders')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_order_id'))

    op.drop_table('events')
    op.drop_table('api_keys')


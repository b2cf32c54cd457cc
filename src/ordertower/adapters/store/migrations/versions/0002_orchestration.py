"""orchestration: callbacks, tasks, work queues, operator actions, system state, jeopardy

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import ordertower.adapters.store.tables
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

UTC = ordertower.adapters.store.tables.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('related_orders', JSON, nullable=True))
        batch_op.add_column(sa.Column('jeopardy', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('projected_completion', UTC, nullable=True))
    with op.batch_alter_table('plan_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deadline_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('jeopardy', sa.String(length=8), nullable=True))

    op.create_table('callback_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('expires_at', UTC, nullable=True),
    sa.Column('used_at', UTC, nullable=True),
    sa.Column('interim_count', sa.Integer(), nullable=False),
    sa.Column('early_result', JSON, nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['plan_items.id'], name=op.f('fk_callback_tokens_item_id_plan_items')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_callback_tokens'))
    )
    with op.batch_alter_table('callback_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_tokens_item_id'), ['item_id'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('queue', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('assignee', sa.String(length=200), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('data', JSON, nullable=False),
    sa.Column('output', JSON, nullable=True),
    sa.Column('routed_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('claimed_at', UTC, nullable=True),
    sa.Column('completed_at', UTC, nullable=True),
    sa.Column('completed_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['plan_items.id'], name=op.f('fk_tasks_item_id_plan_items')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_tasks_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_queue'), ['queue'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_state'), ['state'], unique=False)

    op.create_table('queue_cursors',
    sa.Column('queue', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('queue', name=op.f('pk_queue_cursors'))
    )

    op.create_table('operator_actions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=300), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=True),
    sa.Column('order_id', sa.String(length=64), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', JSON, nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_actions')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_operator_actions_dedupe_key'))
    )
    with op.batch_alter_table('operator_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operator_actions_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_operator_actions_order_id'), ['order_id'], unique=False)

    op.create_table('system_states',
    sa.Column('system', sa.String(length=100), nullable=False),
    sa.Column('offline', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('changed_by', sa.String(length=200), nullable=True),
    sa.Column('changed_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('system', name=op.f('pk_system_states'))
    )


def downgrade() -> None:
    op.drop_table('system_states')
    op.drop_table('operator_actions')
    op.drop_table('queue_cursors')
    op.drop_table('tasks')
    op.drop_table('callback_tokens')
    with op.batch_alter_table('plan_items', schema=None) as batch_op:
        batch_op.drop_column('jeopardy')
        batch_op.drop_column('deadline_at')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('projected_completion')
        batch_op.drop_column('jeopardy')
        batch_op.drop_column('related_orders')

"""people and fallout work: queue membership as data, a task's due time, notes and kind,
fallout assigned to a user or a queue (by hand or by rule)

- ``queue_members``: who belongs to which work queue. Seeded from the catalog's
  ``work_queues[].members`` at start (a pair never seen before is added; one removed through
  the API stays removed: ``removed_at``), changed through the API and CLI.
- ``tasks.due_at`` (from the scenario item's ``expected_duration``, or set by an operator),
  ``tasks.notes`` (what happened to it: withdrawn, reassigned, released), ``tasks.kind``
  (``item``: a manual plan item's; ``resolve-fallout``: made when a cancellation discards
  items in fallout).
- ``fallout_assignments``: the user or queue an item in fallout is assigned to, and how.
- ``fallout_rules``: data, in order; the first that matches an item going to fallout
  (system, error pattern, technical product) assigns it.

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ordertower.adapters.store.tables import UTCDateTime

revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'queue_members',
        sa.Column('queue', sa.String(length=100), nullable=False),
        sa.Column('member', sa.String(length=200), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('added_by', sa.String(length=200), nullable=True),
        sa.Column('added_at', UTCDateTime(), nullable=False),
        sa.Column('removed_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('queue', 'member', name='pk_queue_members'),
    )
    op.create_index('ix_queue_members_member', 'queue_members', ['member'])
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=24), nullable=False, server_default='item'))
        batch.add_column(sa.Column('due_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('notes', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'),
                                   nullable=True))
    op.create_table(
        'fallout_assignments',
        sa.Column('item_id', sa.String(length=64), nullable=False),
        sa.Column('order_id', sa.String(length=64), nullable=False),
        sa.Column('user_name', sa.String(length=200), nullable=True),
        sa.Column('queue', sa.String(length=100), nullable=True),
        sa.Column('rule_id', sa.String(length=64), nullable=True),
        sa.Column('assigned_by', sa.String(length=200), nullable=False),
        sa.Column('assigned_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['plan_items.id'],
                                name='fk_fallout_assignments_item_id_plan_items'),
        sa.PrimaryKeyConstraint('item_id', name='pk_fallout_assignments'),
    )
    op.create_index('ix_fallout_assignments_user_name', 'fallout_assignments', ['user_name'])
    op.create_index('ix_fallout_assignments_queue', 'fallout_assignments', ['queue'])
    op.create_table(
        'fallout_rules',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('system', sa.String(length=100), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('product', sa.String(length=100), nullable=True),
        sa.Column('user_name', sa.String(length=200), nullable=True),
        sa.Column('queue', sa.String(length=100), nullable=True),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_fallout_rules'),
    )


def downgrade() -> None:
    op.drop_table('fallout_rules')
    op.drop_index('ix_fallout_assignments_queue', table_name='fallout_assignments')
    op.drop_index('ix_fallout_assignments_user_name', table_name='fallout_assignments')
    op.drop_table('fallout_assignments')
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('notes')
        batch.drop_column('due_at')
        batch.drop_column('kind')
    op.drop_index('ix_queue_members_member', table_name='queue_members')
    op.drop_table('queue_members')

"""changes past the point of no return and priority: a revision's force reason; plan items'
priority and claim rank (with the index the claim query uses)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('order_revisions') as batch:
        batch.add_column(sa.Column('force_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('plan_items') as batch:
        batch.add_column(sa.Column('priority', sa.SmallInteger(), nullable=False, server_default='2'))
        batch.add_column(sa.Column('claim_rank', sa.Float(), nullable=False, server_default='0'))
    claimable = sa.text("state IN ('ready', 'retrying')")
    op.create_index('ix_plan_items_claim_rank', 'plan_items', ['claim_rank', 'created_at', 'position'],
                    unique=False, postgresql_where=claimable, sqlite_where=claimable)


def downgrade() -> None:
    op.drop_index('ix_plan_items_claim_rank', table_name='plan_items')
    with op.batch_alter_table('plan_items') as batch:
        batch.drop_column('claim_rank')
        batch.drop_column('priority')
    with op.batch_alter_table('order_revisions') as batch:
        batch.drop_column('force_reason')

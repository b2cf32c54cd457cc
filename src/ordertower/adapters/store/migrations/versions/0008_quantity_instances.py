"""quantity instances: an asset that is one instance of an order item of quantity N

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assets') as batch:
        batch.add_column(sa.Column('instance', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('instance_of', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('assets') as batch:
        batch.drop_column('instance_of')
        batch.drop_column('instance')

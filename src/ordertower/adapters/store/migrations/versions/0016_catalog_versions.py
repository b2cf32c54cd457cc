"""catalog versions: every catalog deployed (``ordertower catalog deploy``, or the files
catalog stored on first start), its files, digest, the version string orders record, and who
deployed it when. The newest row is the catalog new orders use (docs/catalog.md, "Deploying").

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
import ordertower.adapters.store.tables
from sqlalchemy.dialects import postgresql

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
UTC = ordertower.adapters.store.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'catalog_versions',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('release', sa.String(length=100), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('files', JSON, nullable=False),
        sa.Column('deployed_by', sa.String(length=200), nullable=False),
        sa.Column('deployed_at', UTC, nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_catalog_versions_release', 'catalog_versions', ['release'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_catalog_versions_release', table_name='catalog_versions')
    op.drop_table('catalog_versions')

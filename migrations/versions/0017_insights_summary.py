"""insight_counts: posts per department, platform, week, hour and engagement bucket

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 12:00:00

Filled from post_engagement here; `civicpost insights rebuild` does the same later.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'insight_counts',
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=32), nullable=False),
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('weekday', sa.SmallInteger(), nullable=False),
        sa.Column('hour', sa.SmallInteger(), nullable=False),
        sa.Column('bucket', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('follower_bucket', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('posts', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('department_id', 'platform', 'week', 'weekday', 'hour', 'bucket', 'follower_bucket'),
    )
    op.create_index('ix_insight_counts_week', 'insight_counts', ['week'], unique=False)
    from civicpost.insights import rollup

    rollup.rebuild_connection(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_insight_counts_week', table_name='insight_counts')
    op.drop_table('insight_counts')

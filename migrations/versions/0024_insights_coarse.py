"""insight_week_counts: insight_counts without the weekday and hour

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-04 13:30:00

Filled here from insight_counts with plain SQL (the same sums `civicpost
insights rebuild` makes from post_engagement).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0024'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'insight_week_counts',
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=32), nullable=False),
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('bucket', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('follower_bucket', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('posts', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('department_id', 'platform', 'week', 'bucket', 'follower_bucket'),
    )
    op.create_index('ix_insight_week_counts_week', 'insight_week_counts', ['week'], unique=False)
    op.execute(
        "INSERT INTO insight_week_counts (department_id, platform, week, bucket, follower_bucket, posts) "
        "SELECT department_id, platform, week, bucket, follower_bucket, sum(posts) FROM insight_counts "
        "GROUP BY department_id, platform, week, bucket, follower_bucket"
    )


def downgrade() -> None:
    op.drop_index('ix_insight_week_counts_week', table_name='insight_week_counts')
    op.drop_table('insight_week_counts')

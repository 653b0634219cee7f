"""insight_week_counts (insight_counts without the weekday and hour) and insight_slot_counts (the city's over spans)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 13:30:00

Both are filled here from insight_counts with plain SQL: the same sums
`civicpost insights rebuild` makes from post_engagement. A span of 2, 4, ... 64
weeks starts a multiple of its length after Monday 2001-01-01; per-follower
bucket -1000001 means the followers are unknown (not counted in kind 1). Rows
go in in key order, so that a span's rows lie together on disk. Also an index on
post_engagement (engagement, published_at, delivery_id) for the top posts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0024'
down_revision: str | None = '0023'
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

    op.create_table(
        'insight_slot_counts',
        sa.Column('platform', sa.String(length=32), nullable=False),
        sa.Column('span', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('start', sa.Date(), nullable=False),
        sa.Column('weekday', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('hour', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('bucket', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('posts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('platform', 'span', 'start', 'weekday', 'hour', 'kind', 'bucket'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        start = "c.week - ((c.week - date '2001-01-01') / 7 % s.span) * 7"
    else:
        start = ("date(c.week, '-' || ((CAST(julianday(c.week) - julianday('2001-01-01') AS INTEGER) / 7 % s.span) * 7)"
                 " || ' days')")
    op.execute(f"""
        INSERT INTO insight_slot_counts (platform, span, start, weekday, hour, kind, bucket, posts)
        SELECT platform, span, start, weekday, hour, kind, bucket, sum(posts) FROM (
            SELECT CASE e.every WHEN 1 THEN '' ELSE c.platform END AS platform, s.span, {start} AS start,
                   CASE w.whole WHEN 1 THEN -1 ELSE c.weekday END AS weekday,
                   CASE w.whole WHEN 1 THEN -1 ELSE c.hour END AS hour, k.kind,
                   CASE k.kind WHEN 0 THEN c.bucket ELSE c.follower_bucket END AS bucket, c.posts
            FROM insight_counts c
            CROSS JOIN (SELECT 0 AS every UNION ALL SELECT 1) e
            CROSS JOIN (SELECT 0 AS kind UNION ALL SELECT 1) k
            CROSS JOIN (SELECT 0 AS whole UNION ALL SELECT 1) w
            CROSS JOIN (SELECT 1 AS span UNION ALL SELECT 2 UNION ALL SELECT 4 UNION ALL SELECT 8 UNION ALL SELECT 16
                        UNION ALL SELECT 32 UNION ALL SELECT 64) s
            WHERE NOT (k.kind = 1 AND c.follower_bucket = -1000001) AND NOT (w.whole = 1 AND s.span > 1)
        ) spread
        GROUP BY platform, span, start, weekday, hour, kind, bucket
        ORDER BY platform, span, start, weekday, hour, kind, bucket
    """)


    op.create_index('ix_post_engagement_engagement', 'post_engagement', ['engagement', 'published_at', 'delivery_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_post_engagement_engagement', table_name='post_engagement')
    op.drop_table('insight_slot_counts')
    op.drop_index('ix_insight_week_counts_week', table_name='insight_week_counts')
    op.drop_table('insight_week_counts')

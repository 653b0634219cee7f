"""metrics: what platforms said of our posts (snapshots), the next reading due (jobs), one summary row per post

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civicpost.db

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('metric_jobs',
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.SmallInteger(), nullable=False),
    sa.Column('due_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expires_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_metric_jobs_channel_id_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_metric_jobs_delivery_id_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('delivery_id', name=op.f('pk_metric_jobs'))
    )
    with op.batch_alter_table('metric_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_metric_jobs_due_at_channel_id', ['due_at', 'channel_id'], unique=False)

    op.create_table('metric_channels',
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('due_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('waiting_until', civicpost.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expires_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_metric_channels_channel_id_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('channel_id', name=op.f('pk_metric_channels'))
    )
    with op.batch_alter_table('metric_channels', schema=None) as batch_op:
        batch_op.create_index('ix_metric_channels_due_at', ['due_at'], unique=False)

    op.create_table('metric_snapshots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('taken_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stage', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_metric_snapshots_channel_id_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_metric_snapshots_delivery_id_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_snapshots'))
    )
    with op.batch_alter_table('metric_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_metric_snapshots_channel_id_name_taken_at', ['channel_id', 'name', 'taken_at'], unique=False)
        batch_op.create_index('ix_metric_snapshots_delivery_id_taken_at', ['delivery_id', 'taken_at'], unique=False)

    op.create_table('post_engagement',
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('published_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('weekday', sa.SmallInteger(), nullable=False),
    sa.Column('hour', sa.SmallInteger(), nullable=False),
    sa.Column('engagement', sa.BigInteger(), nullable=False),
    sa.Column('views', sa.BigInteger(), nullable=True),
    sa.Column('clicks', sa.BigInteger(), nullable=True),
    sa.Column('followers', sa.BigInteger(), nullable=True),
    sa.Column('stage', sa.String(length=8), nullable=False),
    sa.Column('updated_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], name=op.f('fk_post_engagement_announcement_id_announcements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_post_engagement_channel_id_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_post_engagement_delivery_id_deliveries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_post_engagement_department_id_departments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('delivery_id', name=op.f('pk_post_engagement'))
    )
    with op.batch_alter_table('post_engagement', schema=None) as batch_op:
        batch_op.create_index('ix_post_engagement_department_id_published_at', ['department_id', 'published_at'], unique=False)
        batch_op.create_index('ix_post_engagement_platform_published_at', ['platform', 'published_at'], unique=False)
        batch_op.create_index('ix_post_engagement_published_at', ['published_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('post_engagement', schema=None) as batch_op:
        batch_op.drop_index('ix_post_engagement_published_at')
        batch_op.drop_index('ix_post_engagement_platform_published_at')
        batch_op.drop_index('ix_post_engagement_department_id_published_at')

    op.drop_table('post_engagement')
    with op.batch_alter_table('metric_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_metric_snapshots_delivery_id_taken_at')
        batch_op.drop_index('ix_metric_snapshots_channel_id_name_taken_at')

    op.drop_table('metric_snapshots')
    with op.batch_alter_table('metric_channels', schema=None) as batch_op:
        batch_op.drop_index('ix_metric_channels_due_at')

    op.drop_table('metric_channels')
    with op.batch_alter_table('metric_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_metric_jobs_due_at_channel_id')

    op.drop_table('metric_jobs')

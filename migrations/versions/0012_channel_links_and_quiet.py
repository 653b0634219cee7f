"""channels' links and quiet: tracked links (/r/{code}, clicks per channel); when a channel is stale, its
platform's latest post, when its access expires

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civicpost.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tracked_links',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('clicks', sa.BigInteger(), nullable=False),
    sa.Column('created_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], name=op.f('fk_tracked_links_announcement_id_announcements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_tracked_links_channel_id_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_tracked_links'))
    )
    with op.batch_alter_table('tracked_links', schema=None) as batch_op:
        batch_op.create_index('ix_tracked_links_announcement_id', ['announcement_id'], unique=False)

    op.add_column('channels', sa.Column('track_links', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('channels', sa.Column('stale_after_days', sa.Integer(), server_default=sa.text('30'), nullable=False))
    op.add_column('channels', sa.Column('last_post_seen_at', civicpost.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('channels', sa.Column('token_expires_at', civicpost.db.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_column('token_expires_at')
        batch_op.drop_column('last_post_seen_at')
        batch_op.drop_column('stale_after_days')
        batch_op.drop_column('track_links')

    with op.batch_alter_table('tracked_links', schema=None) as batch_op:
        batch_op.drop_index('ix_tracked_links_announcement_id')

    op.drop_table('tracked_links')

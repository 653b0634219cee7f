"""replies: residents' replies kept, their readings, posts deleted on the platform

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from civicpost.db import UTCDateTime

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column('deliveries', sa.Column('remote_deleted_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('channels', sa.Column('replies_unreadable', sa.Text(), nullable=True))
    op.add_column('channels', sa.Column('replies_unreadable_at', UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'replies',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('delivery_id', sa.Integer(), sa.ForeignKey('deliveries.id', ondelete='CASCADE'), nullable=False),
        sa.Column('announcement_id', sa.Integer(), sa.ForeignKey('announcements.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('channel_id', sa.Integer(), sa.ForeignKey('channels.id', ondelete='CASCADE'), nullable=False),
        sa.Column('platform', sa.String(16), nullable=False),
        sa.Column('remote_id', sa.String(300), nullable=False),
        sa.Column('author_handle', sa.String(300), nullable=False),
        sa.Column('author_name', sa.String(300), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('url', sa.String(2048), nullable=True),
        sa.Column('first_seen_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('hidden_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('hidden_by', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('hide_reason', sa.Text(), nullable=True),
        sa.Column('removed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('removed_by', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('remove_reason', sa.Text(), nullable=True),
        sa.UniqueConstraint('delivery_id', 'remote_id', name='uq_replies_delivery_id_remote_id'),
    )
    op.create_index('ix_replies_announcement_id', 'replies', ['announcement_id'])
    op.create_table(
        'reply_jobs',
        sa.Column('delivery_id', sa.Integer(), sa.ForeignKey('deliveries.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('channel_id', sa.Integer(), sa.ForeignKey('channels.id', ondelete='CASCADE'), nullable=False),
        sa.Column('stage', sa.SmallInteger(), nullable=False),
        sa.Column('due_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('lease_owner', sa.String(100), nullable=True),
        sa.Column('lease_expires_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
    )
    op.create_index('ix_reply_jobs_due_at', 'reply_jobs', ['due_at'])


def downgrade() -> None:
    op.drop_index('ix_reply_jobs_due_at', table_name='reply_jobs')
    op.drop_table('reply_jobs')
    op.drop_index('ix_replies_announcement_id', table_name='replies')
    op.drop_table('replies')
    op.drop_column('channels', 'replies_unreadable_at')
    op.drop_column('channels', 'replies_unreadable')
    op.drop_column('deliveries', 'remote_deleted_at')


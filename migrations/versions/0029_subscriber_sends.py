"""subscriber_sends: one row per recipient of a `subscribers` channel's delivery, leased like deliveries

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civicpost.db

revision: str = '0029'
down_revision: str | None = '0028'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'subscriber_sends',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('announcement_id', sa.Integer(), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=False),
        sa.Column('medium', sa.String(length=8), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('lane', sa.SmallInteger(), server_default=sa.text('1'), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('next_attempt_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('claimed_by', sa.String(length=100), nullable=True),
        sa.Column('lease_until', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('digest', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('reclaimed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('remote_id', sa.String(length=64), nullable=True),
        sa.Column('segments', sa.SmallInteger(), server_default=sa.text('0'), nullable=False),
        sa.Column('sent_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'],
                                name=op.f('fk_subscriber_sends_announcement_id_announcements'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'],
                                name=op.f('fk_subscriber_sends_delivery_id_deliveries'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'],
                                name=op.f('fk_subscriber_sends_subscriber_id_subscribers'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriber_sends')),
        sa.UniqueConstraint('delivery_id', 'subscriber_id', 'medium',
                            name=op.f('uq_subscriber_sends_delivery_id')),
    )
    op.create_index(op.f('ix_subscriber_sends_announcement_id'), 'subscriber_sends', ['announcement_id'])
    op.create_index(op.f('ix_subscriber_sends_subscriber_id'), 'subscriber_sends', ['subscriber_id'])
    op.create_index(op.f('ix_subscriber_sends_remote_id'), 'subscriber_sends', ['remote_id'])
    op.create_index('ix_subscriber_sends_delivery_id_state', 'subscriber_sends', ['delivery_id', 'state'])
    op.create_index('ix_subscriber_sends_open_due', 'subscriber_sends', ['lane', 'next_attempt_at', 'id'],
                    postgresql_where=sa.text("state IN ('pending', 'sending')"),
                    sqlite_where=sa.text("state IN ('pending', 'sending')"))


def downgrade() -> None:
    op.drop_index('ix_subscriber_sends_open_due', table_name='subscriber_sends')
    op.drop_index('ix_subscriber_sends_delivery_id_state', table_name='subscriber_sends')
    op.drop_index(op.f('ix_subscriber_sends_remote_id'), table_name='subscriber_sends')
    op.drop_index(op.f('ix_subscriber_sends_subscriber_id'), table_name='subscriber_sends')
    op.drop_index(op.f('ix_subscriber_sends_announcement_id'), table_name='subscriber_sends')
    op.drop_table('subscriber_sends')

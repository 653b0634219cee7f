"""subscribers: topics (one per department), residents who subscribe, their topics and consent; events

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civicpost.db

revision: str = '0028'
down_revision: str | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'topics',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slug', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), server_default='', nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('created_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_topics_department_id_departments'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_topics')),
        sa.UniqueConstraint('department_id', name=op.f('uq_topics_department_id')),
        sa.UniqueConstraint('slug', name=op.f('uq_topics_slug')),
    )
    # Every department that exists already gets its topic (new ones get theirs as they are made).
    op.execute("INSERT INTO topics (slug, name, description, department_id, created_at) "
               "SELECT slug, name, '', id, created_at FROM departments")
    op.create_table(
        'subscribers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email_encrypted', sa.LargeBinary(), nullable=True),
        sa.Column('email_digest', sa.String(length=64), nullable=True),
        sa.Column('email_confirmed_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('email_confirmation_sent_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('phone_encrypted', sa.LargeBinary(), nullable=True),
        sa.Column('phone_digest', sa.String(length=64), nullable=True),
        sa.Column('phone_confirmed_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('sms_stopped_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('link_nonce', sa.String(length=64), nullable=False),
        sa.Column('bounces', sa.Integer(), server_default='0', nullable=False),
        sa.Column('mode', sa.String(length=16), server_default='immediate', nullable=False),
        sa.Column('created_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subscribers')),
        sa.UniqueConstraint('email_digest', name=op.f('uq_subscribers_email_digest')),
        sa.UniqueConstraint('phone_digest', name=op.f('uq_subscribers_phone_digest')),
    )
    op.create_table(
        'subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=False),
        sa.Column('topic_id', sa.Integer(), nullable=False),
        sa.Column('created_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'],
                                name=op.f('fk_subscriptions_subscriber_id_subscribers'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_subscriptions_topic_id_topics'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
        sa.UniqueConstraint('subscriber_id', 'topic_id', name=op.f('uq_subscriptions_subscriber_id')),
    )
    op.create_index(op.f('ix_subscriptions_topic_id'), 'subscriptions', ['topic_id'], unique=False)
    op.create_table(
        'subscriber_consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=True),
        sa.Column('email_digest', sa.String(length=64), nullable=True),
        sa.Column('phone_digest', sa.String(length=64), nullable=True),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=True),
        sa.Column('topics', sa.Text(), server_default='', nullable=False),
        sa.Column('at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'],
                                name=op.f('fk_subscriber_consents_subscriber_id_subscribers'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriber_consents')),
    )
    op.create_index('ix_subscriber_consents_subscriber_id_at', 'subscriber_consents', ['subscriber_id', 'at'],
                    unique=False)
    op.create_index(op.f('ix_subscriber_consents_email_digest'), 'subscriber_consents', ['email_digest'],
                    unique=False)
    op.create_index(op.f('ix_subscriber_consents_phone_digest'), 'subscriber_consents', ['phone_digest'],
                    unique=False)
    # add_column, not a batch rebuild: announcements keeps its indexes and foreign keys as they are.
    op.add_column('announcements', sa.Column('event_start', civicpost.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('announcements', sa.Column('event_end', civicpost.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('announcements', sa.Column('location', sa.String(length=500), nullable=True))


def downgrade() -> None:
    # drop_column, not a batch rebuild: rebuilding announcements on SQLite drops its search triggers (0007).
    op.drop_column('announcements', 'location')
    op.drop_column('announcements', 'event_end')
    op.drop_column('announcements', 'event_start')
    op.drop_index(op.f('ix_subscriber_consents_phone_digest'), table_name='subscriber_consents')
    op.drop_index(op.f('ix_subscriber_consents_email_digest'), table_name='subscriber_consents')
    op.drop_index('ix_subscriber_consents_subscriber_id_at', table_name='subscriber_consents')
    op.drop_table('subscriber_consents')
    op.drop_index(op.f('ix_subscriptions_topic_id'), table_name='subscriptions')
    op.drop_table('subscriptions')
    op.drop_table('subscribers')
    op.drop_table('topics')

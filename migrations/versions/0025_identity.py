"""identity: single sign-on ids on users, second factors, recovery codes, token scopes, how a session signed in

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civicpost.db

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'second_factors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('secret', sa.LargeBinary(), nullable=True),
        sa.Column('last_step', sa.Integer(), nullable=True),
        sa.Column('credential_id', sa.String(length=1400), nullable=True),
        sa.Column('public_key', sa.LargeBinary(), nullable=True),
        sa.Column('sign_count', sa.Integer(), nullable=False),
        sa.Column('transports', sa.String(length=200), nullable=True),
        sa.Column('confirmed_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_second_factors_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_second_factors')),
        sa.UniqueConstraint('credential_id', name='uq_second_factors_credential_id'),
    )
    op.create_index(op.f('ix_second_factors_user_id'), 'second_factors', ['user_id'], unique=False)
    op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_recovery_codes_code_hash')),
    )
    op.create_index(op.f('ix_recovery_codes_user_id'), 'recovery_codes', ['user_id'], unique=False)
    # add_column, not a batch rebuild: every table refers to users.
    op.add_column('users', sa.Column('sso_provider', sa.String(length=16), nullable=True))
    op.add_column('users', sa.Column('sso_subject', sa.String(length=255), nullable=True))
    op.add_column('users', sa.Column('last_sign_in_method', sa.String(length=24), nullable=True))
    op.add_column('users', sa.Column('last_sign_in_at', civicpost.db.UTCDateTime(timezone=True), nullable=True))
    op.create_index('ix_users_sso', 'users', ['sso_provider', 'sso_subject'], unique=True)
    op.add_column('api_tokens', sa.Column('scopes', sa.String(length=40), nullable=True))
    op.add_column('staff_sessions', sa.Column('method', sa.String(length=24), server_default='password',
                                              nullable=False))
    op.add_column('staff_sessions', sa.Column('factor_due', sa.Boolean(), server_default=sa.false(),
                                              nullable=False))


def downgrade() -> None:
    op.drop_column('staff_sessions', 'factor_due')
    op.drop_column('staff_sessions', 'method')
    op.drop_column('api_tokens', 'scopes')
    op.drop_index('ix_users_sso', table_name='users')
    # In place (SQLite 3.35 and later drop a column without rebuilding the table others refer to).
    for column in ('last_sign_in_at', 'last_sign_in_method', 'sso_subject', 'sso_provider'):
        op.drop_column('users', column)
    op.drop_index(op.f('ix_recovery_codes_user_id'), table_name='recovery_codes')
    op.drop_table('recovery_codes')
    op.drop_index(op.f('ix_second_factors_user_id'), table_name='second_factors')
    op.drop_table('second_factors')

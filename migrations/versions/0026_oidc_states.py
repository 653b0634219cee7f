"""oidc_states: single sign-on attempts in flight, each usable once

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civicpost.db

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'oidc_states',
        sa.Column('state_hash', sa.String(length=64), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('code_verifier', sa.String(length=128), nullable=False),
        sa.Column('next_url', sa.String(length=2048), nullable=False),
        sa.Column('created_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_oidc_states')),
    )
    op.create_index(op.f('ix_oidc_states_created_at'), 'oidc_states', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_oidc_states_created_at'), table_name='oidc_states')
    op.drop_table('oidc_states')

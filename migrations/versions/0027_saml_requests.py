"""saml_requests: SAML sign-ins asked for and not yet answered, so each answer is accepted once

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civicpost.db

revision: str = '0027'
down_revision: str | None = '0026'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'saml_requests',
        sa.Column('id', sa.String(length=100), nullable=False),
        sa.Column('next_url', sa.String(length=2048), nullable=False),
        sa.Column('created_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saml_requests')),
    )
    op.create_index(op.f('ix_saml_requests_created_at'), 'saml_requests', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_saml_requests_created_at'), table_name='saml_requests')
    op.drop_table('saml_requests')

"""subscribers: when the last confirmation text went to the number (never twice within 10 minutes)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civicpost.db

revision: str = '0033'
down_revision: str | None = '0032'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('subscribers', sa.Column('sms_confirmation_sent_at', civicpost.db.UTCDateTime(timezone=True),
                                           nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscribers') as batch:
        batch.drop_column('sms_confirmation_sent_at')

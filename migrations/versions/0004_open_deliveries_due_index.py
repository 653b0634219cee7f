"""open deliveries by due time: a partial index for the worker's claim

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 20:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status IN ('pending', 'retrying')")


def upgrade() -> None:
    op.create_index(
        'ix_deliveries_open_due', 'deliveries', ['next_attempt_at', 'id'], unique=False,
        postgresql_where=OPEN, sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index('ix_deliveries_open_due', table_name='deliveries')

"""open deliveries: one partial index, not two; the worker's sleep reads each lane's earliest from the lane index

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-04 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0032'
down_revision: str | None = '0030'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status IN ('pending', 'retrying')")


def upgrade() -> None:
    op.drop_index('ix_deliveries_open_due', table_name='deliveries')


def downgrade() -> None:
    op.create_index(
        'ix_deliveries_open_due', 'deliveries', ['next_attempt_at', 'id'], unique=False,
        postgresql_where=OPEN, sqlite_where=OPEN,
    )

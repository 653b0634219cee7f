"""posts waiting to be taken back: a partial index for the retract sweep

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MARKED = sa.text("retract_requested_at IS NOT NULL")


def upgrade() -> None:
    op.create_index('ix_deliveries_take_back_due', 'deliveries', ['next_attempt_at'], unique=False,
                    postgresql_where=MARKED, sqlite_where=MARKED)


def downgrade() -> None:
    op.drop_index('ix_deliveries_take_back_due', table_name='deliveries')

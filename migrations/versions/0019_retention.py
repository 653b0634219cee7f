"""retention: years per department, legal hold per announcement

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# add_column only: batch_alter_table would make SQLite rebuild announcements and drop its search triggers.
def upgrade() -> None:
    op.add_column('departments', sa.Column('retention_years', sa.Integer(), nullable=True))
    op.add_column('announcements', sa.Column('legal_hold', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('announcements', sa.Column('legal_hold_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('announcements', 'legal_hold_reason')
    op.drop_column('announcements', 'legal_hold')
    op.drop_column('departments', 'retention_years')

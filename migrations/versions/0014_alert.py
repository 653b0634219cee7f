"""alert details (CAP 1.2) on emergency announcements

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# add_column only: batch_alter_table would make SQLite rebuild announcements and drop its search triggers.
def upgrade() -> None:
    op.add_column('announcements', sa.Column('alert', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('announcements', 'alert')

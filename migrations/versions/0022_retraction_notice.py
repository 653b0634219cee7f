"""retraction notice: when and why an announcement was retracted, and an admin's withdrawal of the notice

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civicpost.db

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# add_column only: batch_alter_table would make SQLite rebuild announcements and drop its search triggers.
def upgrade() -> None:
    op.add_column('announcements', sa.Column('retracted_at', civicpost.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('announcements', sa.Column('retraction_reason', sa.Text(), nullable=True))
    op.add_column('announcements', sa.Column('notice_withdrawn_at', civicpost.db.UTCDateTime(timezone=True),
                                             nullable=True))


def downgrade() -> None:
    op.drop_column('announcements', 'notice_withdrawn_at')
    op.drop_column('announcements', 'retraction_reason')
    op.drop_column('announcements', 'retracted_at')

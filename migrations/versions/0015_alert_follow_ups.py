"""alert follow-ups: an update, all-clear or correction announcement linked to the alert it follows

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# add_column only: batch_alter_table would make SQLite rebuild announcements and drop its search triggers.
# For the same reason follows_id is a plain id, not a foreign key: SQLite cannot add one to a table in place.
def upgrade() -> None:
    op.add_column('announcements', sa.Column('follows_id', sa.Integer(), nullable=True))
    op.add_column('announcements', sa.Column('follow_kind', sa.String(length=16), nullable=True))
    op.create_index('ix_announcements_follows_id', 'announcements', ['follows_id'])


def downgrade() -> None:
    op.drop_index('ix_announcements_follows_id', table_name='announcements')
    op.drop_column('announcements', 'follow_kind')
    op.drop_column('announcements', 'follows_id')

"""break-glass publishing: the emergency_publisher permission; an announcement's review after a break-glass publish

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civicpost.db

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Only op.add_column: a batch rebuild of `announcements` on SQLite would drop its full-text triggers.
def upgrade() -> None:
    op.add_column('users', sa.Column('emergency_publisher', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('announcements', sa.Column('review_due_at', civicpost.db.UTCDateTime(timezone=True), nullable=True))
    # No foreign key: SQLite can only add one inline, where neither Alembic nor SQLAlchemy reads its name back
    # (users are deactivated, never deleted, and the sign-off is in the audit record too).
    op.add_column('announcements', sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
    op.add_column('announcements', sa.Column('reviewed_at', civicpost.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('announcements', 'reviewed_at')
    op.drop_column('announcements', 'reviewed_by_id')
    op.drop_column('announcements', 'review_due_at')
    op.drop_column('users', 'emergency_publisher')

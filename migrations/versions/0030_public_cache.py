"""indexes for the public pages: the newest published posts, and the alerts in effect

During a surge each web process renders the public lists again after every
publication; without these, each render sorted every published post (81 ms
on PostgreSQL with 70,000, spilling to disk) and read every announcement to
find the alerts (59 ms).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 19:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0030'
down_revision: str | None = '0029'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_deliveries_status_published_at', 'deliveries', ['status', 'published_at', 'id'], unique=False)
    op.create_index('ix_announcements_emergency_id', 'announcements', ['emergency', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_announcements_emergency_id', table_name='announcements')
    op.drop_index('ix_deliveries_status_published_at', table_name='deliveries')

"""announcements: the alerts that may be current, read without scanning every emergency ever sent

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-04 23:40:00

The public home and /alerts.atom read the current alerts (civicpost.alerts.current)
on every render: emergencies with alert details that are not follow-ups. The
emergency index held every emergency announcement, so the read filtered all of
them (2.3 ms of PostgreSQL with 2,000, on every render of the home page during
a surge); this partial index holds only the alerts themselves. Its predicate is
written as SQLAlchemy writes the query's on each database, so both planners
prove the query needs nothing outside it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0035'
down_revision: str | None = '0034'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_announcements_alerts', 'announcements', ['id'], unique=False,
                    postgresql_where=sa.text("emergency IS true AND alert IS NOT NULL AND follows_id IS NULL"),
                    sqlite_where=sa.text("emergency IS 1 AND alert IS NOT NULL AND follows_id IS NULL"))


def downgrade() -> None:
    op.drop_index('ix_announcements_alerts', table_name='announcements')

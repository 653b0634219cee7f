"""deliveries: each channel's newest published post with a URL, found by one index step

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04 23:35:00

The public directory shows each account's profile, which for some platforms is
read from the account's latest post. Finding it grouped every published
delivery by channel (19 ms of PostgreSQL with 70,000 posts, on every render of
/directory); with this partial index it is one step down the index per channel.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0034'
down_revision: str | None = '0033'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = "status = 'published' AND remote_url IS NOT NULL"


def upgrade() -> None:
    op.create_index('ix_deliveries_latest_post', 'deliveries', ['channel_id', 'id'], unique=False,
                    postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index('ix_deliveries_latest_post', table_name='deliveries')

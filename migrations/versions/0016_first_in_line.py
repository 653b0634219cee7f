"""first in line: a lane on deliveries, emergencies claimed before every other due delivery

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status IN ('pending', 'retrying')")


def upgrade() -> None:
    # 0 is the emergency lane, 1 the ordinary one; every existing delivery is ordinary.
    op.add_column('deliveries', sa.Column('lane', sa.SmallInteger(), server_default=sa.text('1'), nullable=False))
    # Open emergency deliveries already waiting (an emergency released before this upgrade) go first too.
    op.execute(
        "UPDATE deliveries SET lane = 0 WHERE status IN ('pending', 'retrying') AND announcement_id IN "
        "(SELECT id FROM announcements WHERE emergency)"
    )
    op.create_index(
        'ix_deliveries_open_lane', 'deliveries', ['lane', 'next_attempt_at', 'id'], unique=False,
        postgresql_where=OPEN, sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index('ix_deliveries_open_lane', table_name='deliveries')
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_column('lane')

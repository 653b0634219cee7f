"""suspensions: a pause of scheduled posts, city-wide or for departments; deliveries it holds

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import civicpost.db

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'suspensions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('department_ids', sa.JSON(), nullable=True),
        sa.Column('started_at', civicpost.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('until', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('ended_at', civicpost.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('started_by_id', sa.Integer(), nullable=True),
        sa.Column('ended_by_id', sa.Integer(), nullable=True),
        sa.Column('ended_how', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_suspensions_started_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_suspensions_ended_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suspensions')),
    )
    op.create_index('ix_suspensions_active', 'suspensions', ['started_at'], unique=False,
                    postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))
    # add_column, not a batch rebuild: deliveries keeps its partial indexes as they are. A plain id
    # (SQLite cannot add a foreign key to a table in place); suspensions are never deleted.
    op.add_column('deliveries', sa.Column('held_by', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_deliveries_held_by'), 'deliveries', ['held_by'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_deliveries_held_by'), table_name='deliveries')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('held_by')
    op.drop_index('ix_suspensions_active', table_name='suspensions',
                  postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))
    op.drop_table('suspensions')

"""search over announcements' title and text: SQLite FTS5, PostgreSQL full-text

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 03:50:00

SQLite: an external-content FTS5 table (it stores only the index; the text
stays in `announcements`) kept current by three triggers. A later migration
that rebuilds `announcements` in batch mode drops these triggers with the old
table and must create them again.

PostgreSQL: a GIN index on to_tsvector('simple', title || ' ' || body).
'simple' lowercases and splits words without stemming or stop words: the city
writes in several languages, and an English stemmer would mangle the others.
drafting/search.py uses the same expression, so the planner uses the index.
Both match whole words, case-insensitively, accents kept ("école" finds
"École", not "ecole") on both databases alike.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = (
    "CREATE VIRTUAL TABLE announcements_search USING fts5("
    "title, body, content='announcements', content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER announcements_search_insert AFTER INSERT ON announcements BEGIN"
    " INSERT INTO announcements_search(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER announcements_search_delete AFTER DELETE ON announcements BEGIN"
    " INSERT INTO announcements_search(announcements_search, rowid, title, body)"
    " VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER announcements_search_update AFTER UPDATE OF title, body ON announcements BEGIN"
    " INSERT INTO announcements_search(announcements_search, rowid, title, body)"
    " VALUES ('delete', old.id, old.title, old.body);"
    " INSERT INTO announcements_search(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "INSERT INTO announcements_search(announcements_search) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS announcements_search_update",
    "DROP TRIGGER IF EXISTS announcements_search_delete",
    "DROP TRIGGER IF EXISTS announcements_search_insert",
    "DROP TABLE IF EXISTS announcements_search",
)
POSTGRES_UP = (
    "CREATE INDEX ix_announcements_search ON announcements"
    " USING gin (to_tsvector('simple', title || ' ' || body))",
)
POSTGRES_DOWN = ("DROP INDEX IF EXISTS ix_announcements_search",)


def _run(statements: Sequence[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_UP)
    elif dialect == "postgresql":
        _run(POSTGRES_UP)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_DOWN)
    elif dialect == "postgresql":
        _run(POSTGRES_DOWN)

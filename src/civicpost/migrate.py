"""Alembic, driven from the service's own settings."""

from collections.abc import Mapping

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from civicpost import PROJECT_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(str(engine.url))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


# The search index is SQL that Alembic's models cannot describe (an FTS5
# virtual table and its shadow tables on SQLite, an expression GIN index on
# PostgreSQL); migration 0007 owns it, so autogenerate leaves it alone.
SEARCH_INDEX_PREFIXES = ("announcements_search", "ix_announcements_search")


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """Alembic's `include_name` hook: everything but the search index."""
    return not (type_ in ("table", "index") and name is not None and name.startswith(SEARCH_INDEX_PREFIXES))

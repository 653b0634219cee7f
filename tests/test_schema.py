"""Alembic owns the schema, and it matches the models on both databases."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from civicpost import migrate
from civicpost.db import Base, make_engine


def test_migrations_and_models_agree_with_no_pending_autogenerate_diff(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": migrate.include_name})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_from_empty_creates_every_table(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert "alembic_version" in tables
    finally:
        engine.dispose()


def test_every_downgrade_after_search_and_back_keeps_the_search_triggers(tmp_path):
    # A batch rebuild of announcements on SQLite drops the triggers that keep the search index current
    # (0007): new announcements are then never found, and old rows' words answer for new ids.
    url = f"sqlite:///{tmp_path / 'round.db'}"
    migrate.upgrade(url)
    command.downgrade(migrate.alembic_config(url), "0007")
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            triggers = set(connection.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'announcements'")).scalars())
        assert {"announcements_search_insert", "announcements_search_delete",
                "announcements_search_update"} <= triggers
    finally:
        engine.dispose()


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_the_database_refuses_a_delivery_for_a_channel_that_does_not_exist(engine, sessions):
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO deliveries (key, announcement_id, channel_id, status, fingerprint, rendition, attempts,"
                    " due_at, next_attempt_at, created_at, updated_at) VALUES ('k', 999, 999, 'pending', 'f', '{}', 0,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )

"""What every `civicpost` command shares: one way to refuse, sessions on a current schema, the key check.
Kept apart from cli.py so the command groups (cli_people, cli_insights) and cli.py import it, not each other."""

import typer

from civicpost.config import get_settings


def fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def sessions():
    """Sessions on a database whose schema is current: the embedded SQLite
    default is created or upgraded on the spot; another database must be
    upgraded deliberately (`civicpost db upgrade`), so it stops with that line."""
    from civicpost.db import make_engine, make_sessionmaker

    settings = get_settings()
    ensure_schema(settings.database_url)
    return make_sessionmaker(make_engine(settings.database_url))


def sessions_beside_a_worker():
    """Sessions for a command that writes while a worker may be writing (its own, or a running
    one): on SQLite each transaction takes the write lock when it begins, as the worker's do, so
    the two take turns instead of one failing as "database is locked"."""
    made = sessions()
    if get_settings().is_sqlite:
        made.configure(bind=made.kw["bind"].execution_options(sqlite_begin="IMMEDIATE"))
    return made


def ensure_schema(database_url: str) -> None:
    from civicpost import backup, migrate
    from civicpost.checks import schema_state

    state = schema_state(database_url)
    if not state.pending:
        return
    if backup.sqlite_path(database_url) is None:
        fail("the database schema is not up to date; run `civicpost db upgrade` first")
    migrate.upgrade(database_url)
    typer.echo(upgraded(database_url, state.current, state.head), err=True)


def upgraded(database_url: str, before: str | None, head: str) -> str:
    from civicpost import backup

    where = backup.sqlite_path(database_url) or "the database"
    if before is None:
        return f"created the database at {where} (schema {head})"
    return f"upgraded the database at {where} from schema {before} to {head}"


def check_key(settings) -> None:
    """Stop with one message if the key is missing or not the one the data was written with."""
    from civicpost import keycheck
    from civicpost.db import make_engine, make_sessionmaker

    key = settings.fernet_key()
    engine = make_engine(settings.database_url)
    try:
        keycheck.verify(make_sessionmaker(engine), key)
    finally:
        engine.dispose()


def in_transaction(work):
    """Run `work(session)` in one transaction; any refusal is one line on stderr and exit code 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from civicpost.db import transaction
    from civicpost.errors import ServiceError

    try:
        # The service may be running beside the command: on SQLite a transaction that read first and
        # then wrote after the service's own write fails at once ("database is locked"); one that takes
        # the write lock as it begins waits its turn.
        with transaction(sessions_beside_a_worker()) as session:
            return work(session)
    except ServiceError as exc:
        fail(exc.detail)
    except SQLAlchemyError as exc:
        fail(f"cannot use the database ({type(exc).__name__}); "
             "check CIVICPOST_DATABASE_URL and run `civicpost db upgrade`")


def run_collector(make, *, suffix: str, now: bool, what: str) -> None:
    """`civicpost insights collect` and `civicpost replies collect`: build a collector with
    `make(settings, sessions, name=...)`, under the same kind of name as a worker (so its leases
    are told apart from theirs), and read what is due, or (`now`) every published post at once.
    `what` names what is read: "the counts of", "the replies to"."""
    import os
    import socket

    from civicpost.config import ConfigError

    settings = get_settings()
    sessions = sessions_beside_a_worker()
    try:
        check_key(settings)
    except ConfigError as exc:
        fail(str(exc))
    collector = make(settings, sessions, name=f"{socket.gethostname()}:{os.getpid()}:{suffix}")
    if now:
        read, problems = collector.collect_now()
        for problem in problems:
            typer.secho(f"not read: {problem}", fg=typer.colors.YELLOW, err=True)
        typer.echo(f"read {what} {read} published post{'s' if read != 1 else ''} now")
        if problems:
            raise typer.Exit(1)
        return
    read = collector.run_once()
    typer.echo(f"read {what} {read} post{'s' if read != 1 else ''} that were due")

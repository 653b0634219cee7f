"""Engine, sessions and the declarative Base, and the one after-commit hook.

One commit point per request or job step: services take a session and flush;
`transaction()` is the only place that commits (the web layer's session
dependency is a `transaction()` too).
"""

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    DateTime,
    Engine,
    Insert,
    MetaData,
    Result,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import (
    DeclarativeBase,
    InstrumentedAttribute,
    Session,
    SessionTransaction,
    make_transient_to_detached,
    sessionmaker,
)
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always hands back aware UTC values.

    SQLite has no time zones; without this a value read back would be naive and
    compare wrongly with the aware values the rest of the code uses.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; attach a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _UTCText(FunctionElement[str]):
    """A timestamp column read as UTC text, "YYYY-MM-DD HH:MM:SS.ffffff", the database doing the work."""

    type = String()
    inherit_cache = True
    name = "utc_text"


@compiles(_UTCText)
def _utc_text_as_stored(element: _UTCText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)  # SQLite stores them so (UTCDateTime through DateTime)


@compiles(_UTCText, "postgresql")
def _utc_text_postgresql(element: _UTCText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"


def utc_text(column: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[str]:
    """`column` (a UTCDateTime) as UTC text, bypassing UTCDateTime's per-value
    hook and the driver's datetimes: for a list that writes many moments
    (web.views.Instants.text), where making each a datetime and then text again
    cost more than the query."""
    return _UTCText(column)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own BEGIN handling defers locks and breaks SAVEPOINT; take
        # control so `BEGIN IMMEDIATE` is possible where a claim needs it.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


_SQLITE_BUSY_TIMEOUT = "PRAGMA busy_timeout=30000"  # how long a statement waits for another's lock


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(_SQLITE_BUSY_TIMEOUT)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    statement = _SQLITE_BEGIN[connection.get_execution_options().get("sqlite_begin", "DEFERRED")]
    # Straight to the driver: at every request's start, SQLAlchemy's statement
    # machinery (context, events, result) cost more than the BEGIN itself.
    driver = connection.connection.driver_connection
    if _lock_now.get() and statement != "BEGIN DEFERRED":
        _sqlite_begin_now(driver, statement)
        return
    try:
        driver.execute(statement)
    except sqlite3.Error as exc:  # as exec_driver_sql would raise it (a locked database is an OperationalError)
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def _sqlite_begin_now(driver: sqlite3.Connection, statement: str) -> None:
    driver.execute("PRAGMA busy_timeout=0")
    try:
        driver.execute(statement)
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise WriteLockBusy() from exc
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
    finally:
        driver.execute(_SQLITE_BUSY_TIMEOUT)


_SQLITE_BEGIN = {mode: f"BEGIN {mode}" for mode in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")}

_lock_now: ContextVar[bool] = ContextVar("civicpost_lock_now", default=False)


class WriteLockBusy(Exception):
    """Another connection held SQLite's write lock, and this transaction was not to wait for it."""


@contextmanager
def lock_now_or_never() -> Iterator[None]:
    """On SQLite, a writing transaction begun within takes the write lock at once
    or raises WriteLockBusy before it has done anything: it never waits for
    another writer (the event loop may run it; web.deps.one_trip). Holding that
    lock, nothing it does waits for another connection (WAL: readers never
    block the writer). Reads and PostgreSQL are as they were."""
    token = _lock_now.set(True)
    try:
        yield
    finally:
        _lock_now.reset(token)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error.

    The session is not held in `session.begin()`: a page may end what it has
    done so far (commit before a slow image decode, roll back a refused change
    and show the form again) and go on in a new transaction that this commits.
    """
    with factory() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


def insert_new(session: Session, obj: Base, *collections: str) -> None:
    """Write a new object and the new objects in its one-to-many `collections`
    with one INSERT per table, and make them persistent in `session` exactly as
    a flush would have left them: every column loaded (what was set, and what
    the database filled in), the relationships as they were set, nothing
    pending. A third of the unit of work's CPU for a new announcement and its
    targets (docs/benchmarks.md); for a graph written on a hot path only.

    The session's flush events do not see these objects: use it only where the
    flush listeners have nothing to do (public_site's: a new draft is not public).
    """
    (id_,) = _insert_returning(session, [obj])
    parent = inspect(obj).mapper
    for name in collections:
        children = getattr(obj, name)
        if not children:
            continue
        (_, remote), = parent.relationships[name].local_remote_pairs
        key = inspect(children[0]).mapper.get_property_by_column(remote).key
        for child in children:
            setattr(child, key, id_)
        _insert_returning(session, children)
        for child in children:
            make_transient_to_detached(child)
    make_transient_to_detached(obj)
    session.add(obj)  # with its children (save-update cascade): persistent, unchanged


def _insert_returning(session: Session, objs: list[Any]) -> list[Any]:
    """INSERT objects of one class in one statement, with the columns each has
    set; load onto each what the database filled in (its id, the defaults).
    Answers their ids."""
    mapper = inspect(objs[0]).mapper
    columns = [(prop.key, prop.columns[0]) for prop in mapper.column_attrs]
    rows = [{column.key: obj.__dict__[key] for key, column in columns if key in obj.__dict__} for obj in objs]
    given = frozenset(rows[0])
    if any(row.keys() != given for row in rows):
        raise ValueError(f"new {mapper.class_.__name__} objects set different columns; insert them apart")
    filled = [(key, column) for key, column in columns if column.key not in given or column.primary_key]
    statement = _INSERTS.get((mapper, given))
    if statement is None:
        statement = _INSERTS[(mapper, given)] = insert(mapper.local_table).returning(
            *(column for _, column in filled), sort_by_parameter_order=True)
    answered = session.connection().execute(statement, rows if len(rows) > 1 else rows[0]).all()
    for obj, values in zip(objs, answered, strict=True):
        for (key, _), value in zip(filled, values, strict=True):
            setattr(obj, key, value)
    primary = mapper.get_property_by_column(mapper.primary_key[0]).key
    return [getattr(obj, primary) for obj in objs]


# Built once per table and set of columns given (its cache key is then computed once).
_INSERTS: dict[tuple[Any, frozenset[str]], Insert] = {}


# A table and rows for it, as insert_together takes them.
TableRows = tuple[Table, list[dict[str, Any]]]


def insert_together(session: Session, writes: Sequence[TableRows]) -> None:
    """Rows for several tables, nothing read back, in as few round trips as the
    database allows: on PostgreSQL, a row for each table in one statement (each
    but the last an INSERT in a WITH clause, which PostgreSQL runs whether or not
    it is read); otherwise one INSERT per table, in the order given.

    A row gives every column that has a default made in Python (in one statement
    two tables' defaults would share a parameter's name), and the rows of one
    table give the same columns.
    """
    writes = [(table, rows) for table, rows in writes if rows]
    if not writes:
        return
    for table, rows in writes:
        if any(row.keys() != rows[0].keys() for row in rows):
            raise ValueError(f"rows for {table.name} give different columns; write them apart")
    connection = session.connection()
    # A table of several rows goes apart (executemany): SQLAlchemy compiles an
    # INSERT of several VALUES rows afresh each time, which costs more than a trip.
    if len(writes) < 2 or connection.dialect.name != "postgresql" or any(len(rows) > 1 for _, rows in writes):
        for table, rows in writes:
            connection.execute(_plain_insert(table), rows if len(rows) > 1 else rows[0])
        return
    shape = tuple((table, tuple(rows[0])) for table, rows in writes)
    statement = _TOGETHER.get(shape)
    if statement is None:
        if len(_TOGETHER) >= 64:  # a few shapes are written on hot paths; others need not stay
            _TOGETHER.clear()
        statement = _TOGETHER[shape] = _together(shape)
    connection.execute(statement, {f"w{k}_{key}": value for k, (_, (row,)) in enumerate(writes)
                                   for key, value in row.items()})


def _together(shape: tuple[tuple[Table, tuple[str, ...]], ...]) -> Insert:
    """One INSERT for the last table's row, the others' as WITH clauses; a typed parameter for each value."""
    for table, keys in shape:
        if missing := [c.key for c in table.columns if c.default is not None and c.key not in keys]:
            raise ValueError(f"rows for {table.name} leave out {', '.join(missing)}, which have defaults")
    inserts = [insert(table).values({key: bindparam(f"w{k}_{key}", type_=table.c[key].type) for key in keys})
               for k, (table, keys) in enumerate(shape)]
    return inserts[-1].add_cte(*(done.cte(f"w{k}") for k, done in enumerate(inserts[:-1])))


def _plain_insert(table: Table) -> Insert:
    statement = _PLAIN.get(table)
    if statement is None:
        statement = _PLAIN[table] = insert(table)
    return statement


# Built once per shape (tables, columns) and per table: each cache key is then computed once.
_TOGETHER: dict[tuple[tuple[Table, tuple[str, ...]], ...], Insert] = {}
_PLAIN: dict[Table, Insert] = {}


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (its result is a CursorResult)."""
    return cast(CursorResult[Any], result).rowcount


# --- Waking workers after a commit --------------------------------------------
#
# Work a person makes due (an approval, a retract, a retry) wakes the workers
# when it commits, never before: a worker woken early finds nothing, and one
# woken by work that is rolled back finds nothing either.

NOTIFY_CHANNEL = "civicpost_due"
_ASKED = "civicpost.wake_after_commit"  # session.info: the transactions that asked
_in_process: list[Callable[[], None]] = []


def wake_after_commit(session: Session) -> None:
    """Wake the workers once this session's transaction commits.

    PostgreSQL delivers the NOTIFY to every listening worker at the commit and
    drops it on a rollback (of the transaction or of the savepoint it was sent
    in). A worker in this process (`civicpost serve --with-worker`, the demo)
    is woken by the after-commit listener below, under the same rules.
    """
    session.connection()  # begins the transaction if nothing has yet
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
    session.info.setdefault(_ASKED, []).append(session.get_nested_transaction() or session.get_transaction())


@contextmanager
def waking(wake: Callable[[], None]) -> Iterator[None]:
    """While inside, call `wake` after every commit that asked for a wake-up (the embedded worker's wake)."""
    _in_process.append(wake)
    try:
        yield
    finally:
        _in_process.remove(wake)


@event.listens_for(Session, "after_commit")
def _wake_in_process(session: Session) -> None:
    # A savepoint's commit is not the commit: its work can still be rolled back.
    if session.in_nested_transaction() or not session.info.get(_ASKED):
        return
    for wake in tuple(_in_process):
        wake()


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    asked = session.info.get(_ASKED)
    if asked:
        asked[:] = [t for t in asked if not _inside(t, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _forget_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_ASKED, None)


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False

"""The public site's version: one row every serving process reads to know
whether the pages and feeds it has cached still say what the database says.

A transaction that changes what residents see (a post published or taken
back, an announcement retracted, its notice withdrawn, a record purged, a
department, channel or topic renamed) writes a new value there as its last
statement, so the value is committed with the change and never before it.
Changes through the ORM are noticed at the flush; statements written past the
ORM (the worker's outcomes, a purge) call `changed()` themselves.

The row is written last in the transaction (at the commit), so every writer
takes its lock after all its other locks: two writers cannot deadlock on it,
and it is held only for the commit.
"""

from typing import cast
from uuid import uuid4

from sqlalchemy import Table, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction, attributes

from civicpost.models import (
    Announcement,
    Channel,
    Delivery,
    DeliveryStatus,
    Department,
    InstanceValue,
    State,
    Topic,
)

KEY = "public_version"
_CHANGED = "civicpost.public_changed"  # session.info: this transaction changed the public site
# Announcements in these states may have something on the public site (a published post, a 410 page).
PUBLIC_STATES = frozenset({State.publishing, State.published, State.failed, State.retracted})
_SEEN_PUBLICLY = frozenset({DeliveryStatus.published, DeliveryStatus.retracted})
_TABLE = cast(Table, InstanceValue.__table__)
READ = select(InstanceValue.value).where(InstanceValue.key == KEY)


def changed(session: Session) -> None:
    """This transaction changes what the public site shows: a new version is written when it commits."""
    session.info[_CHANGED] = True


def current(session: Session) -> str:
    """The version now ('' before anything public ever changed)."""
    return session.scalar(READ) or ""


def _write(session: Session) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(_TABLE).values(key=KEY, value=uuid4().hex)
    session.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": statement.excluded.value}))


def _public(item: object) -> bool:
    if isinstance(item, (Department, Channel, Topic)):  # names on pages; which channels feed a topic
        return True
    if isinstance(item, Announcement):
        states = attributes.get_history(item, "state")
        return any(s in PUBLIC_STATES for s in (*states.added, *states.unchanged, *states.deleted))
    if isinstance(item, Delivery):
        statuses = attributes.get_history(item, "status")
        return (any(s in _SEEN_PUBLICLY for s in (*statuses.added, *statuses.deleted))
                or attributes.get_history(item, "remote_url").has_changes())
    return False


@event.listens_for(Session, "after_flush")
def _notice(session: Session, _flush: UOWTransaction) -> None:
    if not session.info.get(_CHANGED) and any(
        _public(item) for group in (session.new, session.dirty, session.deleted) for item in group
    ):
        session.info[_CHANGED] = True


@event.listens_for(Session, "before_commit")
def _write_if_changed(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.flush()  # what the commit would flush may change the public site too
    if session.info.pop(_CHANGED, False):
        _write(session)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)

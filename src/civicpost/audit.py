"""The append-only record of who did what."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from civicpost.db import TableRows, insert_together, utcnow
from civicpost.models import AuditEvent, Reader, User

WORKER = "worker"
# Where a session collects the events of a batch (see `collect`).
_COLLECTED = "civicpost.audit_rows"


def record(
    session: Session,
    *,
    actor: User | Reader | None,
    action: str,
    object_type: str,
    object_id: int,
    fingerprint: str | None = None,
    detail: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> None:
    row = {
        "actor_id": actor.id if actor else None,
        "actor": actor.email if actor else (actor_label or WORKER),
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "fingerprint": fingerprint,
        "detail": detail,
    }
    collected = session.info.get(_COLLECTED)
    if collected is not None:
        collected.append({**row, "at": utcnow()})
    else:
        session.add(AuditEvent(**row))


_TABLE = cast(Table, AuditEvent.__table__)


def collect(session: Session) -> None:
    """From now on, keep the session's events for one INSERT by `write_collected`
    (a batch of outcomes: one statement for all its events, no unit of work)."""
    session.info[_COLLECTED] = []


def write_collected(session: Session, *, together_with: Sequence[TableRows] = ()) -> None:
    """Write the events collected, and `together_with` (other tables' rows) before
    them: in one statement on PostgreSQL (db.insert_together)."""
    rows = session.info.pop(_COLLECTED, None) or []
    # Straight to the connection: the rows hold plain values (ids read when each event was
    # recorded), so nothing the session has pending needs writing first.
    insert_together(session, [*together_with, (_TABLE, rows)])


@contextmanager
def collected(session: Session) -> Iterator[list[TableRows]]:
    """The events recorded inside are written in one INSERT as it ends (no unit
    of work for them); on an error nothing is written and collecting stops.
    Inside a batch that already collects, its events simply join the batch.

    Rows of other tables added to the list it gives (table, rows) are written
    as it ends too, before the events, in the same statement where the database
    allows (a round trip saved).
    """
    together: list[TableRows] = []
    if _COLLECTED in session.info:
        yield together
        insert_together(session, together)
        return
    collect(session)
    try:
        yield together
    except BaseException:
        session.info.pop(_COLLECTED, None)
        raise
    write_collected(session, together_with=together)


def trail(session: Session, *, object_type: str, object_id: int) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(query))

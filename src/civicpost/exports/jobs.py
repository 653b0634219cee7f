"""Exports as rows: asked for by an administrator, written by one worker under a lease (the
same rules as deliveries and notifications: claim and commit, work outside the transaction,
record the outcome only while the lease is still ours), or run at once by the command line.
Asking for an export and its outcome are both in the audit trail: who exported what range."""

import getpass
import logging
import socket
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from civicpost import accounts, audit
from civicpost.config import Settings
from civicpost.db import rows_changed, transaction, utcnow
from civicpost.errors import Forbidden, Invalid
from civicpost.models import Department, Export, User

if TYPE_CHECKING:
    from civicpost.exports import writer

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# However a worker ended, the record of its failure says this much, no more (no paths, no traces).
FAILED = "the export could not be written ({kind}); ask for it again, or see the worker's log"
LEASE_LOST = "the worker writing it stopped; it will be written again"


def request(session: Session, *, actor: User, date_from: date, date_to: date,
            department: str | None = None) -> Export:
    """A pending export for a worker to write (flushed, so it has an id), audited."""
    if not actor.is_admin:
        raise Forbidden("only an administrator may export the record")
    chosen = _scope_department(session, date_from, date_to, department)
    export = Export(requested_by_id=actor.id, requested_by=actor.email, date_from=date_from, date_to=date_to,
                    department_id=chosen.id if chosen else None, department_slug=chosen.slug if chosen else None)
    session.add(export)
    session.flush()
    _audit(session, export, actor=actor, action="export.requested")
    return export


def _scope_department(session: Session, date_from: date, date_to: date, slug: str | None) -> Department | None:
    if date_from > date_to:
        raise Invalid(f"the range ends ({date_to}) before it starts ({date_from}): `to` must be on or after `from`",
                      errors=[{"field": "to", "message": "before from"}])
    return accounts.department_by_slug(session, slug) if slug else None


def _audit(session: Session, export: Export, *, actor: User | None, action: str, label: str | None = None,
           **more: object) -> None:
    audit.record(session, actor=actor, action=action, object_type="export", object_id=export.id,
                 actor_label=label, detail={"from": export.date_from.isoformat(), "to": export.date_to.isoformat(),
                                            "department": export.department_slug, **more})


def claim(session: Session, *, owner: str, now: datetime, lease_seconds: float) -> Export | None:
    """Lease the oldest waiting export to `owner` (and put back any whose worker stopped); the caller commits."""
    session.execute(update(Export).where(Export.status == "running", Export.by_command.is_(False),
                                         Export.lease_expires_at < now)
                    .values(status="pending", lease_owner=None, lease_expires_at=None, error=LEASE_LOST)
                    .execution_options(synchronize_session=False))
    query = select(Export).where(Export.status == "pending").order_by(Export.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    export = session.scalar(query)
    if export is None:
        return None
    export.status, export.lease_owner = "running", owner
    export.lease_expires_at = now + timedelta(seconds=lease_seconds)
    export.attempts += 1
    export.started_at, export.done, export.total = now, 0, 0
    return export


def run_once(sessions: sessionmaker[Session], settings: Settings, *, owner: str) -> bool:
    """Write the next waiting export, if any; True if there was one."""
    with transaction(sessions) as session:
        export = claim(session, owner=owner, now=utcnow(), lease_seconds=settings.lease_seconds)
        if export is None:
            return False
        # Imported when there is an export to write: the writer (templates, signing) is a worker's
        # largest import, and most workers never write one.
        from civicpost.exports import writer

        export_id, attempts = export.id, export.attempts
        scope = writer.Scope(export.date_from, export.date_to, export.department_id, export.department_slug)
        exported_by = export.requested_by
    out = Path(settings.export_dir) / f"civicpost-export-{export_id}.zip"
    try:
        written = writer.write(sessions, settings, scope=scope, out=out, exported_by=exported_by,
                               progress=lambda done, total: _progress(sessions, settings, export_id, owner, done,
                                                                      total))
    except Exception as exc:  # noqa: BLE001 - recorded on the row; the details go to the log only
        log.exception("export %s failed", export_id)
        _fail(sessions, export_id, owner, kind=type(exc).__name__, final=attempts >= MAX_ATTEMPTS)
        return True
    with transaction(sessions) as session:
        changed = session.execute(update(Export).where(Export.id == export_id, Export.lease_owner == owner)
                                  .values(status="finished", done=written.announcements, total=written.announcements,
                                          file_path=str(written.path), size_bytes=written.size_bytes, error=None,
                                          lease_owner=None, lease_expires_at=None, finished_at=utcnow()))
        if rows_changed(changed):
            done = session.get(Export, export_id)
            assert done is not None
            _audit(session, done, actor=None, action="export.finished", label=owner,
                   announcements=written.announcements, size_bytes=written.size_bytes)
    return True


def _progress(sessions: sessionmaker[Session], settings: Settings, export_id: int, owner: str, done: int,
              total: int) -> None:
    """Record how far it is, and hold the lease a while longer."""
    with transaction(sessions) as session:
        changed = session.execute(update(Export).where(Export.id == export_id, Export.lease_owner == owner)
                                  .values(done=done, total=total,
                                          lease_expires_at=utcnow() + timedelta(seconds=settings.lease_seconds)))
        if not rows_changed(changed):
            raise RuntimeError(f"export {export_id} is no longer leased to {owner}")


def _fail(sessions: sessionmaker[Session], export_id: int, owner: str, *, kind: str, final: bool) -> None:
    with transaction(sessions) as session:
        session.execute(update(Export).where(Export.id == export_id, Export.lease_owner == owner)
                        .values(status="failed" if final else "pending", error=FAILED.format(kind=kind),
                                lease_owner=None, lease_expires_at=None, finished_at=utcnow() if final else None))


def run_by_command(sessions: sessionmaker[Session], settings: Settings, *, date_from: date, date_to: date,
                   department: str | None, out: Path,
                   progress=None, subscribers: bool = False) -> "writer.Written":
    """`civicpost export`: recorded like any export (by the operator's login), written here and now to `out`."""
    from civicpost.exports import writer

    label = f"command line ({getpass.getuser()}@{socket.gethostname()})"
    with transaction(sessions) as session:
        chosen = _scope_department(session, date_from, date_to, department)
        export = Export(requested_by=label, date_from=date_from, date_to=date_to, by_command=True,
                        department_id=chosen.id if chosen else None, department_slug=chosen.slug if chosen else None,
                        status="running", lease_owner=label, started_at=utcnow(), attempts=1,
                        file_path=str(out.resolve()))
        session.add(export)
        session.flush()
        _audit(session, export, actor=None, action="export.requested", label=label, file=str(out.resolve()),
               **({"subscribers": True} if subscribers else {}))
        export_id = export.id
        scope = writer.Scope(date_from, date_to, export.department_id, export.department_slug,
                             subscribers=subscribers)

    def step(done: int, total: int) -> None:
        _progress(sessions, settings, export_id, label, done, total)
        if progress:
            progress(done, total)

    try:
        written = writer.write(sessions, settings, scope=scope, out=out, exported_by=label, progress=step)
    except BaseException as exc:
        _fail(sessions, export_id, label, kind=type(exc).__name__, final=True)
        raise
    with transaction(sessions) as session:
        session.execute(update(Export).where(Export.id == export_id)
                        .values(status="finished", done=written.announcements, total=written.announcements,
                                size_bytes=written.size_bytes, lease_owner=None, finished_at=utcnow()))
        finished = session.get(Export, export_id)
        assert finished is not None
        _audit(session, finished, actor=None, action="export.finished", label=label,
               announcements=written.announcements, size_bytes=written.size_bytes)
    return written

"""The `civicpost records` commands: what has passed its retention, and disposing of it
deliberately (nothing is ever deleted by itself); legal holds for operators."""

from typing import Annotated

import typer

records_app = typer.Typer(help="Retention, legal holds and disposal of announcements.", no_args_is_help=True)

AS_HELP = "The administrator doing this, by email: named in the audit trail."
REASON_HELP = "Why; kept in the audit trail."


def _in_transaction(work):
    from civicpost.cli_support import in_transaction

    return in_transaction(work)


def _admin(session, email: str):
    from sqlalchemy import func, select

    from civicpost.errors import Forbidden, NotFound
    from civicpost.models import User

    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active:
        raise NotFound(f"no active user {email}")
    if not user.is_admin:
        raise Forbidden(f"{email} is not an administrator")
    return user


@records_app.command("due")
def records_due(
    department: Annotated[str | None, typer.Option(help="Only this department (its slug).")] = None,
) -> None:
    """List finished announcements past their department's retention and not on hold (deletes nothing)."""
    from civicpost import accounts, retention
    from civicpost.db import utcnow

    def work(session):
        chosen = accounts.department_by_slug(session, department) if department else None
        return retention.due(session, now=utcnow(), department=chosen)

    found = _in_transaction(work)
    if not found:
        typer.echo("nothing has passed its retention")
        return
    typer.echo(f"{'id':>8}  {'department':<16} {'state':<10} {'finished':<10} {'due since':<10}  title")
    for d in found:
        typer.echo(f"{d.announcement_id:>8}  {d.department:<16} {d.state:<10} {d.finished_at:%Y-%m-%d} "
                   f"{d.due_at:%Y-%m-%d}  {d.title}")
    typer.echo(f"{len(found)} announcement{'s' if len(found) != 1 else ''} may be disposed of: "
               "`civicpost records dispose ID ... --reason ... --as EMAIL`")


@records_app.command("dispose")
def records_dispose(
    ids: Annotated[list[int], typer.Argument(help="Announcement ids, as `records due` lists them.")],
    reason: Annotated[str, typer.Option(help=REASON_HELP)],
    as_: Annotated[str, typer.Option("--as", help=AS_HELP)],
) -> None:
    """Delete these announcements for good, all or none: each must be past its retention and not on hold."""
    from civicpost import retention
    from civicpost.db import utcnow

    gone = _in_transaction(lambda session: retention.dispose(
        session, actor=_admin(session, as_), announcement_ids=ids, reason=reason, now=utcnow()))
    for d in gone:
        typer.echo(f"disposed of {d.announcement_id} ({d.department}, {d.title})")


@records_app.command("hold")
def records_hold(
    announcement_id: Annotated[int, typer.Argument(help="The announcement's id.")],
    reason: Annotated[str, typer.Option(help=REASON_HELP)],
    as_: Annotated[str, typer.Option("--as", help=AS_HELP)],
) -> None:
    """Place a legal hold: the announcement is never disposed of while it lasts."""
    _set_hold(announcement_id, reason, as_, on=True)
    typer.echo(f"announcement {announcement_id} is on legal hold")


@records_app.command("release")
def records_release(
    announcement_id: Annotated[int, typer.Argument(help="The announcement's id.")],
    reason: Annotated[str, typer.Option(help=REASON_HELP)],
    as_: Annotated[str, typer.Option("--as", help=AS_HELP)],
) -> None:
    """Lift a legal hold."""
    _set_hold(announcement_id, reason, as_, on=False)
    typer.echo(f"announcement {announcement_id} is no longer on legal hold")


def _set_hold(announcement_id: int, reason: str, email: str, *, on: bool) -> None:
    from civicpost import retention
    from civicpost.errors import NotFound
    from civicpost.models import Announcement

    def work(session):
        actor = _admin(session, email)
        announcement = session.get(Announcement, announcement_id)
        if announcement is None:
            raise NotFound(f"no announcement {announcement_id}")
        (retention.hold if on else retention.lift)(session, actor=actor, announcement=announcement, reason=reason)

    _in_transaction(work)

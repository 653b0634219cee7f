"""`civicpost suspend` and `civicpost resume`: pause scheduled posts, and end the pause (releasing nothing)."""

from datetime import datetime
from typing import Annotated

import typer

from civicpost.cli_support import in_transaction

AS_HELP = ("Email of the approver or admin doing it, kept in the audit trail; leave out to be recorded as "
           "the command line (user@host).")


def _operator() -> str:
    import getpass
    import socket

    return f"command line ({getpass.getuser()}@{socket.gethostname()})"


def _person(session, email: str):
    from sqlalchemy import func, select

    from civicpost.errors import NotFound
    from civicpost.models import User

    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active:
        raise NotFound(f"no active user {email}")
    return user


def suspend(
    reason: Annotated[str, typer.Option(help="Why posts are paused; shown to staff.")],
    as_: Annotated[str | None, typer.Option("--as", help=AS_HELP)] = None,
    department: Annotated[list[str] | None, typer.Option(
        help="A department slug to pause (repeat for more); leave out to pause the whole city.")] = None,
    until: Annotated[str | None, typer.Option(
        help="When it ends by itself, e.g. 2026-12-05T18:00:00-06:00 (with its UTC offset).")] = None,
) -> None:
    """Pause every ordinary scheduled post now (emergencies still go out)."""
    from civicpost.cli_support import fail
    from civicpost.suspensions import service

    ends: datetime | None = None
    if until is not None:
        try:
            ends = datetime.fromisoformat(until)
        except ValueError:
            fail(f"--until {until!r} is not a time; write e.g. 2026-12-05T18:00:00-06:00")
        if ends is not None and ends.tzinfo is None:
            fail(f"--until {until!r} has no UTC offset; add one, e.g. -06:00 or Z")

    def work(session):
        s = service.start(session, actor=_person(session, as_) if as_ else None, actor_label=_operator(),
                          reason=reason, departments=department or None, until=ends)
        return s.id, service.departments_of(session, s)

    suspension_id, departments = in_transaction(work)
    scope = ", ".join(departments) if departments else "the whole city"
    typer.echo(f"suspension {suspension_id} started: scheduled posts of {scope} are paused")


def resume(
    as_: Annotated[str | None, typer.Option("--as", help=AS_HELP)] = None,
    suspension_id: Annotated[int | None, typer.Argument(
        help="The suspension's id; leave out when only one is in force.")] = None,
) -> None:
    """End a suspension. Nothing it held is released: release it on /staff/suspensions or through the API."""
    from civicpost.errors import Invalid
    from civicpost.suspensions import service

    def work(session):
        actor = _person(session, as_) if as_ else None
        if suspension_id is None:
            active = service.listing(session, active=True)
            if len(active) != 1:
                raise Invalid(f"{len(active)} suspensions are in force; say which: civicpost resume ID")
            chosen = active[0]
        else:
            chosen = service.get(session, suspension_id)
        service.end(session, actor=actor, actor_label=_operator(), suspension=chosen)
        return chosen.id, len(service.held(session, chosen))

    ended, held = in_transaction(work)
    typer.echo(f"suspension {ended} ended; {held} held deliveries wait for a person to release them")

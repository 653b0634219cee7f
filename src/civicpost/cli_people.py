"""The `civicpost user` and `civicpost token` commands (SPEC §6, §8.1 "User lifecycle").

Each command is one transaction; a refusal is one line on stderr and exit code 2.
"""

import sys
from typing import Annotated

import typer

from civicpost.models import Role

user_app = typer.Typer(help="Users.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


def _fail(message: str) -> None:
    from civicpost.cli_support import fail  # the one way every command reports a refusal

    fail(message)


def _sessions():
    # People and tokens change while the service runs: on SQLite these short transactions take the write
    # lock as they begin and wait their turn (one that read first would fail at once as "database is locked").
    from civicpost.cli_support import sessions_beside_a_worker

    return sessions_beside_a_worker()


@user_app.command("create")
def user_create(
    email: str,
    name: Annotated[str, typer.Option(help="Full name, as shown in the record.")],
    role: Annotated[Role, typer.Option(help="staff, approver or admin.")] = Role.staff,
    department: Annotated[list[str] | None, typer.Option(help="Department slug; repeat for several.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Create a user (the first admin of a fresh install, for instance)."""
    from pydantic import ValidationError

    from civicpost import accounts
    from civicpost.db import transaction
    from civicpost.errors import ServiceError
    from civicpost.schemas import UserIn

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        data = UserIn(email=email, name=name, role=role, departments=department or [], password=password)
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    try:
        with transaction(_sessions()) as session:
            user = accounts.create_user(
                session, actor=None, email=data.email, name=data.name, role=data.role,
                departments=data.departments, password=data.password,
            )
            typer.echo(f"created {user.role} {user.email} (id {user.id})")
    except ServiceError as exc:
        _fail(exc.detail)


def _people_command(work):
    from civicpost.cli_support import in_transaction

    return in_transaction(work)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("New password", hide_input=True, confirmation_prompt=True)


@user_app.command("deactivate")
def user_deactivate(email: str) -> None:
    """Stop a person at once: their sessions end and their API tokens are revoked (the record stays)."""
    from civicpost import accounts, people

    def work(session):
        user = people.update_user(session, actor=None, user=accounts.user_by_email(session, email), active=False)
        return f"deactivated {user.email}: signed out everywhere, API tokens revoked"

    typer.echo(_people_command(work))


@user_app.command("reactivate")
def user_reactivate(email: str) -> None:
    """Let a deactivated person sign in again (their old tokens stay revoked)."""
    from civicpost import accounts, people

    def work(session):
        user = people.update_user(session, actor=None, user=accounts.user_by_email(session, email), active=True)
        return f"reactivated {user.email}"

    typer.echo(_people_command(work))


@user_app.command("set-role")
def user_set_role(
    email: str,
    role: Annotated[str, typer.Option(help="staff, approver or admin.")],
    department: Annotated[
        list[str] | None, typer.Option(help="Department slug; repeat for several. Leave out to keep theirs.")] = None,
) -> None:
    """Change a person's role (and, with --department, their departments)."""
    from civicpost import accounts, people

    if role not in {r.value for r in Role}:
        _fail(f"unknown role '{role}'; use staff, approver or admin")

    def work(session):
        user = people.update_user(
            session, actor=None, user=accounts.user_by_email(session, email), role=Role(role), departments=department
        )
        return f"{user.email} is now {user.role} ({', '.join(user.department_slugs) or 'no departments'})"

    typer.echo(_people_command(work))


def _permission(name: str) -> str:
    from civicpost import people

    if name not in people.PERMISSIONS:
        _fail(f"unknown permission '{name}'; use {', '.join(people.PERMISSIONS)}")
    return name


@user_app.command("grant")
def user_grant(email: str, permission: str) -> None:
    """Give a person a permission: emergency_publisher lets them publish an emergency alone (audited)."""
    from civicpost import accounts, people

    _permission(permission)

    def work(session):
        user = people.update_user(session, actor=None, user=accounts.user_by_email(session, email),
                                  emergency_publisher=True)
        return f"{user.email} is now an emergency publisher"

    typer.echo(_people_command(work))


@user_app.command("revoke")
def user_revoke(email: str, permission: str) -> None:
    """Take a permission back from a person (audited)."""
    from civicpost import accounts, people

    _permission(permission)

    def work(session):
        user = people.update_user(session, actor=None, user=accounts.user_by_email(session, email),
                                  emergency_publisher=False)
        return f"{user.email} is no longer an emergency publisher"

    typer.echo(_people_command(work))


@user_app.command("reset-password")
def user_reset_password(
    email: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Set a new password for a person; every session of theirs ends."""
    from civicpost import accounts, people

    password = _read_password(password_stdin)

    def work(session):
        user = accounts.user_by_email(session, email)
        ended = people.reset_password(session, actor=None, user=user, password=password)
        return f"set a new password for {user.email}; ended {ended} session{'s' if ended != 1 else ''}"

    typer.echo(_people_command(work))


@user_app.command("unlock")
def user_unlock(email: str) -> None:
    """Lift the sign-in waits on a person's account, from every address."""
    from civicpost import accounts, people

    def work(session):
        user = accounts.user_by_email(session, email)
        people.unlock(session, actor=None, user=user)
        return f"unlocked sign-in for {user.email}"

    typer.echo(_people_command(work))


@user_app.command("reset-factors")
def user_reset_factors(email: str) -> None:
    """Remove a person's second factors and recovery codes and sign them out everywhere (they lost
    every device and code); they then sign in with their password alone and add new ones."""
    from civicpost import accounts, tokens
    from civicpost.identity import factors

    def work(session):
        user = accounts.user_by_email(session, email)
        counts = factors.reset(session, user=user, actor=None, actor_label=tokens.CLI)
        return (f"removed {counts['factors']} second factor(s) and {counts['recovery_codes']} recovery code(s) "
                f"of {user.email}; ended {counts['sessions_ended']} session(s)")

    typer.echo(_people_command(work))


@token_app.command("create")
def token_create(
    email: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "",
    expires_in_days: Annotated[
        str | None, typer.Option(help="Days until it stops working (1-3650); leave out for never.")] = None,
    scope: Annotated[list[str] | None, typer.Option(
        help="read, draft or approve; repeat for several. Leave out for what the person may do "
             "(staff: read draft; approvers, admins and emergency publishers: read draft approve).")] = None,
) -> None:
    """Make an API token for a user; the token is printed once, as the last line.

    Made here, by the server's operator, a token with the approve scope needs no second factor."""
    from civicpost import accounts, tokens
    from civicpost.identity import scopes

    chosen = None
    if scope:
        unknown = sorted({s for s in scope if s not in scopes.ALL})
        if unknown:
            _fail(f"unknown scope {', '.join(repr(u) for u in unknown)}; use --scope read, draft or approve")
        chosen = scopes.ordered(scope)

    days = None
    if expires_in_days is not None:
        whole = expires_in_days.isascii() and expires_in_days.isdigit()
        if not (whole and 1 <= int(expires_in_days) <= tokens.MAX_DAYS):
            _fail(f"--expires-in-days must be a whole number of days from 1 to {tokens.MAX_DAYS}")
        days = int(expires_in_days)

    def work(session):
        user = accounts.user_by_email(session, email)
        token, record = tokens.create(session, user=user, name=name, expires_in_days=days, scopes=chosen)
        until = f", expires {record.expires_at:%Y-%m-%d %H:%M} UTC" if record.expires_at else ""
        return user.email, record.scopes, until, token

    owner, held, until, token = _people_command(work)
    typer.echo(f"token for {owner}, scopes {held}{until} (shown once; store it now):", err=True)
    typer.echo(token)


@token_app.command("list")
def token_list(email: Annotated[str | None, typer.Argument(help="Only this person's tokens.")] = None) -> None:
    """List API tokens (never the tokens themselves): id, prefix, name, scopes, created, last used, expires,
    revoked. A token made before scopes shows "(all: as its owner)"."""
    from civicpost import accounts, tokens

    def when(value) -> str:
        return f"{value:%Y-%m-%d %H:%M}" if value else "-"

    def work(session):
        owner = accounts.user_by_email(session, email).id if email else None
        return [
            (str(t.id), t.user.email, t.prefix, t.name or "-",
             t.scopes.replace(" ", ",") if t.scopes is not None else "(all: as its owner)",
             when(t.created_at), when(t.last_used_at), when(t.expires_at), when(t.revoked_at))
            for t in tokens.listed(session, user_id=owner)
        ]

    rows = [("id", "user", "prefix", "name", "scopes", "created", "last used", "expires", "revoked"),
            *_people_command(work)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    typer.echo("(times in UTC)", err=True)


@token_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke an API token by its id (see `civicpost token list`); it stops working at once."""
    from civicpost import tokens

    if not (token_id.isascii() and token_id.isdigit() and 1 <= int(token_id) < 2**31):
        _fail(f"'{token_id}' is not a token id; `civicpost token list` shows them")

    def work(session):
        token = tokens.revoke(session, token=tokens.get(session, int(token_id)), actor=None)
        return f"revoked token {token.id} ({token.prefix}…) of {token.user.email}"

    typer.echo(_people_command(work))

"""The `civicpost export` command: write a signed records export, and check one."""

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

export_app = typer.Typer(help="Signed records exports (a zipped BagIt bag) and checking them.",
                         invoke_without_command=True)

DATE_HELP = "A day in the city's time zone, YYYY-MM-DD (both ends of the range are included)."


@export_app.callback()
def export(
    ctx: typer.Context,
    date_from: Annotated[str | None, typer.Option("--from", help=DATE_HELP)] = None,
    date_to: Annotated[str | None, typer.Option("--to", help=DATE_HELP)] = None,
    department: Annotated[str | None, typer.Option(help="Only this department (its slug).")] = None,
    out: Annotated[Path | None, typer.Option(help="The zip file to write, e.g. records-2026.zip.")] = None,
    with_subscribers: Annotated[bool, typer.Option(
        "--with-subscribers", help="Also write residents' addresses, numbers and consent records "
                                   "(subscribers.csv, subscriber_consents.csv); audited.")] = False,
) -> None:
    """Write every announcement created from --from to --to (with versions, approvals, deliveries,
    comments, audit events, media and replies) as a signed, zipped BagIt bag."""
    from civicpost.cli_support import fail

    if ctx.invoked_subcommand is not None:
        return
    if date_from is None or date_to is None or out is None:
        fail("say what to export: civicpost export --from YYYY-MM-DD --to YYYY-MM-DD [--department SLUG] "
             "--out FILE.zip (or `civicpost export verify FILE.zip`)")
        return
    first, last = _day(date_from, "--from"), _day(date_to, "--to")
    if out.suffix.lower() != ".zip":
        fail(f"--out must name a .zip file, not {out}")
    if out.exists():
        fail(f"{out} already exists; choose another name (an export never overwrites a file)")
    if not out.resolve().parent.is_dir():
        fail(f"the folder {out.resolve().parent} does not exist")
    _write(first, last, department, out, subscribers=with_subscribers)


def _write(first: date, last: date, department: str | None, out: Path, *, subscribers: bool = False) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from civicpost.cli_support import fail, sessions
    from civicpost.config import ConfigError, get_settings
    from civicpost.errors import ServiceError
    from civicpost.exports import jobs

    def shown(done: int, total: int) -> None:
        typer.echo(f"{done} of {total} announcements written", err=True)

    try:
        written = jobs.run_by_command(sessions(), get_settings(), date_from=first, date_to=last,
                                      department=department, out=out, progress=shown,
                                      subscribers=subscribers)
    except ServiceError as exc:
        fail(exc.detail)
        return
    except ConfigError as exc:
        fail(str(exc))
        return
    except SQLAlchemyError as exc:
        fail(f"cannot use the database ({type(exc).__name__}); check CIVICPOST_DATABASE_URL")
        return
    typer.echo(f"wrote {written.path}: {written.announcements} announcement"
               f"{'s' if written.announcements != 1 else ''}, {written.payload_files} files, "
               f"{written.size_bytes} bytes, signed; check it with: civicpost export verify {written.path}")


def _day(value: str, option: str) -> date:
    from civicpost.cli_support import fail

    try:
        return date.fromisoformat(value) if len(value) == 10 else date.fromisoformat("invalid")
    except ValueError:
        fail(f"{option} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-01-31")
        raise


@export_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="The export's zip file.")],
    public_key: Annotated[Path | None, typer.Option(
        help="The city's public key (PEM), as served at /.well-known/civicpost-export.pub; "
             "without it, this installation's own key.")] = None,
) -> None:
    """Check the bag (every file's SHA-256, files missing or added, the tag manifest) and its signature.
    Exit 0 when the export is whole and signed by the key, 1 when not."""
    from civicpost.cli_support import fail
    from civicpost.exports import bag, signing

    if public_key is not None:
        try:
            public = signing.load_public(public_key.read_bytes())
        except OSError:
            fail(f"cannot read the public key {public_key}")
            return
        except ValueError as exc:
            fail(f"{public_key}: {exc}")
            return
    else:
        from civicpost.config import ConfigError, get_settings

        try:
            public = signing.private_key(get_settings()).public_key()
        except ConfigError as exc:
            fail(f"{exc}; or give the city's key with --public-key FILE.pem")
            return
    found = bag.verify(file, public)
    for problem in found.problems:
        typer.echo(problem)
    if not found.valid:
        typer.echo(f"{file}: NOT valid ({len(found.problems)} problem{'s' if len(found.problems) != 1 else ''})")
        raise typer.Exit(1)
    typer.echo(f"{file}: valid; {found.payload_files} files match the manifest and the signature matches the key")

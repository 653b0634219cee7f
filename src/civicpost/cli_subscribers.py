"""`civicpost subscribers sweep`: sign-ups nobody confirmed are not kept for ever."""

from typing import Annotated

import typer

subscribers_app = typer.Typer(help="Residents who subscribe to topics.", no_args_is_help=True)


@subscribers_app.command("sweep")
def sweep(days: Annotated[int, typer.Option(min=1, max=3650, help="Delete sign-ups unconfirmed for this many days.")]
          = 30) -> None:
    """Delete addresses and numbers signed up but never confirmed (imported ones stay); the consent records
    stay, by digest only. Safe to run daily (e.g. from cron)."""
    from datetime import timedelta

    from civicpost.cli_support import in_transaction
    from civicpost.subscribers import signup

    gone = in_transaction(lambda session: signup.sweep_unconfirmed(session, older_than=timedelta(days=days)))
    typer.echo(f"deleted {gone} unconfirmed sign-up{'' if gone == 1 else 's'} older than {days} days")

"""The `civicpost replies` commands: for operators and tests."""

import os
import socket
from typing import Annotated

import typer

replies_app = typer.Typer(help="Residents' replies to the city's posts.", no_args_is_help=True)


@replies_app.command("collect")
def collect(
    now: Annotated[bool, typer.Option("--now", help="Read every published post's replies at once, not only the "
                                                    "readings that are due; also asks again on a channel whose "
                                                    "platform said it may not read replies.")] = False,
) -> None:
    """Read the replies that are due (the worker does this on its own, 1 h, 24 h and 7 d after publishing)."""
    from civicpost.cli_support import check_key as _check_key
    from civicpost.cli_support import fail as _fail
    from civicpost.cli_support import sessions_beside_a_worker as _sessions
    from civicpost.config import ConfigError, get_settings
    from civicpost.replies.collector import Collector

    settings = get_settings()
    sessions = _sessions()
    try:
        _check_key(settings)
    except ConfigError as exc:
        _fail(str(exc))
    collector = Collector(settings, sessions, name=f"{socket.gethostname()}:{os.getpid()}:replies")
    if now:
        read, problems = collector.collect_now()
        for problem in problems:
            typer.secho(f"not read: {problem}", fg=typer.colors.YELLOW, err=True)
        typer.echo(f"read the replies to {read} published post{'s' if read != 1 else ''} now")
        if problems:
            raise typer.Exit(1)
        return
    read = collector.run_once()
    typer.echo(f"read the replies to {read} post{'s' if read != 1 else ''} that were due")

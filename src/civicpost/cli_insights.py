"""The `civicpost insights` commands (SPEC §6, §8.3): for operators and tests."""

import os
import socket
from typing import Annotated

import typer

insights_app = typer.Typer(help="How posts did on the platforms.", no_args_is_help=True)


@insights_app.command("collect")
def collect(
    now: Annotated[bool, typer.Option("--now", help="Read every published post's counts at once (stage \"now\"), "
                                                    "not only the readings that are due.")] = False,
) -> None:
    """Read the posts' and channels' counts that are due (the worker does this on its own every minute)."""
    from civicpost.cli_support import check_key as _check_key
    from civicpost.cli_support import fail as _fail
    from civicpost.cli_support import sessions_beside_a_worker as _sessions
    from civicpost.config import ConfigError, get_settings
    from civicpost.insights.collector import Collector

    settings = get_settings()
    sessions = _sessions()
    try:
        _check_key(settings)
    except ConfigError as exc:
        _fail(str(exc))
    # Under the same kind of name as a worker, so its leases are told apart from theirs.
    collector = Collector(settings, sessions, name=f"{socket.gethostname()}:{os.getpid()}:collect")
    if now:
        read, problems = collector.collect_now()
        for problem in problems:
            typer.secho(f"not read: {problem}", fg=typer.colors.YELLOW, err=True)
        typer.echo(f"read the counts of {read} published post{'s' if read != 1 else ''} now")
        if problems:
            raise typer.Exit(1)
        return
    read = collector.run_once()
    typer.echo(f"read the counts of {read} post{'s' if read != 1 else ''} that were due")


@insights_app.command("rebuild")
def rebuild() -> None:
    """Count every post again into the summaries the insights read (after a migration or a restore)."""
    from civicpost.cli_support import sessions as _sessions
    from civicpost.db import transaction
    from civicpost.insights import rollup

    with transaction(_sessions()) as session:
        posts = rollup.rebuild(session)
    typer.echo(f"counted {posts} post{'s' if posts != 1 else ''} into the insight summaries")

"""The `civicpost replies` commands: for operators and tests."""

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
    from civicpost.cli_support import run_collector
    from civicpost.replies.collector import Collector

    run_collector(Collector, suffix="replies", now=now, what="the replies to")

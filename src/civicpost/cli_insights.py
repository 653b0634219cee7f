"""The `civicpost insights` commands (SPEC §6, §8.3): for operators and tests."""

from typing import Annotated

import typer

insights_app = typer.Typer(help="How posts did on the platforms.", no_args_is_help=True)


@insights_app.command("collect")
def collect(
    now: Annotated[bool, typer.Option("--now", help="Read every published post's counts at once (stage \"now\"), "
                                                    "not only the readings that are due.")] = False,
) -> None:
    """Read the posts' and channels' counts that are due (the worker does this on its own every minute)."""
    from civicpost.cli_support import run_collector
    from civicpost.insights.collector import Collector

    run_collector(Collector, suffix="collect", now=now, what="the counts of")


@insights_app.command("rebuild")
def rebuild() -> None:
    """Count every post again into the summaries the insights read (after a migration or a restore)."""
    from civicpost.cli_support import sessions as _sessions
    from civicpost.db import transaction
    from civicpost.insights import rollup

    with transaction(_sessions()) as session:
        posts = rollup.rebuild(session)
    typer.echo(f"counted {posts} post{'s' if posts != 1 else ''} into the insight summaries")

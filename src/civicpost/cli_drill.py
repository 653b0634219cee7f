"""`civicpost drill`: practise the emergency lane end to end on sandbox channels, timing each channel."""

import time
from typing import Annotated

import typer

from civicpost.cli_support import check_key, fail, sessions_beside_a_worker
from civicpost.config import ConfigError, get_settings

# How often the drill looks at its deliveries while it waits.
POLL_SECONDS = 0.2


def _table(rows: list, timeout: int) -> list[str]:
    head = ("channel", "platform", "seconds", "status")
    cells = [(r.channel, r.platform, "-" if r.seconds is None else f"{r.seconds:.2f}",
              r.status if r.seconds is None or r.seconds <= timeout else f"{r.status} (late)") for r in rows]
    widths = [max(len(str(line[i])) for line in [head, *cells]) for i in range(4)]
    return ["  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
            for line in [head, *cells]]


def _refusal(exc) -> str:
    listed = [f"{e.get('field') or e.get('channel') or ''}: {e.get('message', '')}".lstrip(": ")
              for e in exc.errors or []]
    return exc.detail + ("".join(f"\n  {line}" for line in listed) if listed else "")


def drill(
    department: Annotated[str, typer.Option("--department", help="The department whose sandbox channels to drill.")],
    operator: Annotated[str, typer.Option("--as", help="Email of the emergency publisher running the drill.")],
    channels: Annotated[list[str] | None, typer.Option(
        "--channels", help="Only these channels (id or name; repeat or separate with commas); all of the "
                           "department's sandbox channels when left out.")] = None,
    timeout: Annotated[int, typer.Option(min=1, max=600, help="Seconds each channel has to publish.")] = 60,
) -> None:
    """Run an Exercise alert through the sandbox and print how long each channel took (exit 1 if any did not)."""
    from civicpost import alerts
    from civicpost import drill as drills
    from civicpost.db import transaction, utcnow
    from civicpost.errors import ServiceError
    from civicpost.redirects import Tracking
    from civicpost.rendering import Renderer

    settings = get_settings()
    try:
        check_key(settings)
        renderer = Renderer(settings.templates_dir,
                            tracking=Tracking.of(base_url=settings.base_url, secret=settings.fernet_key()))
    except ConfigError as exc:
        fail(str(exc))
    wanted = [part.strip() for item in channels or [] for part in item.split(",") if part.strip()]
    made = sessions_beside_a_worker()
    try:
        with transaction(made) as session:
            user, found = drills.operator(session, operator, department)
            targets = drills.channels(session, found, wanted)
            if not settings.allow_private_network:
                fail("sandbox channels are on this machine, which civicpost does not reach unless "
                     "CIVICPOST_ALLOW_PRIVATE_NETWORK=true; set it for the drill and for the worker")
            workers = drills.live_workers(session, now=utcnow())
            user_id, department_slug, department_name = user.id, found.slug, found.name
            target_ids, names = [c.id for c in targets], ", ".join(c.name for c in targets)
    except ServiceError as exc:
        fail(_refusal(exc))
    worker = None
    if not workers:
        from civicpost.engine.worker import Worker

        typer.echo("no worker is running: the drill runs one in this process until it is over")
        worker = Worker(settings)
        worker.start()
    else:
        typer.echo(f"the running worker(s) will send it: {', '.join(workers)}")
    try:
        typer.echo(f"EXERCISE for {department_name} on {len(target_ids)} sandbox channel(s): {names}")
        started = utcnow()
        try:
            with transaction(made) as session:
                user, found = drills.operator(session, operator, department_slug)
                announcement = drills.publish(session, actor=user, department=found, channel_ids=target_ids,
                                              settings=settings, renderer=renderer, now=started, wait_seconds=timeout)
                announcement_id = announcement.id
        except ServiceError as exc:
            fail("the drill could not be published (nothing was written): " + _refusal(exc))
        if worker is not None:
            worker.wake()
        typer.echo(f"published now (announcement {announcement_id}); waiting up to {timeout} s for every channel")
        deadline = time.monotonic() + timeout
        while True:
            with made() as session:
                rows = drills.rows(session, announcement_id, published_from=started)
            if all(r.status in drills.SETTLED for r in rows) or time.monotonic() > deadline:
                break
            time.sleep(POLL_SECONDS)
    finally:
        if worker is not None:
            worker.stop(settings.publish_timeout_seconds + 5)
    typer.echo("")
    for line in _table(rows, timeout):
        typer.echo(line)
    typer.echo("")
    base = settings.base_url.rstrip("/")
    with transaction(made) as session:
        from civicpost.models import Announcement, User

        drilled = session.get(Announcement, announcement_id)
        actor = session.get(User, user_id)
        assert drilled is not None and actor is not None
        status = alerts.status(drilled)
        if alerts.is_published(session, drilled):
            try:
                alerts.document(session, drilled, settings, now=utcnow())
                typer.echo(f"CAP document: {base}/alerts/{announcement_id}.xml (status {status}, valid CAP 1.2)")
            except ServiceError as exc:
                typer.echo(f"CAP document: {base}/alerts/{announcement_id}.xml (status {status}): {exc.detail}")
        else:
            typer.echo(f"CAP document: none served (status {status}): nothing was published")
        drills.end(session, actor=actor, announcement=drilled, now=utcnow(), outcome=rows)
    typer.echo(f"the drill is over: its alert has ended; it stays in the history at "
               f"{base}/staff/announcements/{announcement_id}, and an approver signs off the break-glass publish")
    problems = [f"{r.channel} ({r.status}{': ' + r.error if r.error else ''})" for r in rows
                if r.status != "published" or r.seconds is None or r.seconds > timeout]
    if problems:
        typer.secho(f"drill failed: not published within {timeout} s: " + "; ".join(problems),
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(f"drill passed: every channel published within {timeout} s")

"""The `civicpost` command (SPEC §6)."""

import logging
from pathlib import Path
from typing import Annotated

import typer

from civicpost.cli_drill import drill
from civicpost.cli_export import export_app
from civicpost.cli_insights import insights_app
from civicpost.cli_people import token_app, user_app
from civicpost.cli_records import records_app
from civicpost.cli_replies import replies_app
from civicpost.cli_subscribers import subscribers_app
from civicpost.cli_support import check_key as _check_key
from civicpost.cli_support import fail as _fail
from civicpost.cli_support import sessions as _sessions
from civicpost.cli_support import sessions_beside_a_worker
from civicpost.cli_support import upgraded as _upgraded
from civicpost.cli_suspensions import resume, suspend
from civicpost.config import ConfigError, get_settings

app = typer.Typer(help="civicpost: one approved draft, every channel, on time, on the record.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(insights_app, name="insights")
app.add_typer(replies_app, name="replies")
app.add_typer(records_app, name="records")
app.add_typer(export_app, name="export")
app.add_typer(subscribers_app, name="subscribers")
app.command("drill")(drill)
app.command("suspend")(suspend)
app.command("resume")(resume)
key_app = typer.Typer(help="The secret key that encrypts channel credentials.", no_args_is_help=True)
app.add_typer(key_app, name="secret-key")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the newest version."""
    from civicpost import migrate
    from civicpost.checks import schema_state

    url = get_settings().database_url
    state = schema_state(url)
    if not state.pending:
        typer.echo(f"the database is already up to date (schema {state.head})")
        return
    migrate.upgrade(url)
    typer.echo(_upgraded(url, state.current, state.head))


@app.command("department")
def department_create(slug: str, name: str) -> None:
    """Create a department (also possible through the API as an admin)."""
    from pydantic import ValidationError

    from civicpost import accounts
    from civicpost.db import transaction
    from civicpost.errors import ServiceError
    from civicpost.schemas import DepartmentIn

    try:
        data = DepartmentIn(slug=slug, name=name)
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    try:
        with transaction(sessions_beside_a_worker()) as session:
            department = accounts.create_department(session, actor=None, slug=data.slug, name=data.name)
            typer.echo(f"created department {department.slug} (id {department.id})")
    except ServiceError as exc:
        _fail(exc.detail)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    with_worker: Annotated[
        bool, typer.Option("--with-worker", help="Also run the publishing worker in this process.")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Web processes; each uses a core of its own.")] = 1,
) -> None:
    """Run the web service and API (applies migrations first)."""
    import uvicorn

    from civicpost import migrate
    from civicpost.identity import saml
    from civicpost.rendering import Renderer
    from civicpost.web import create_app

    settings = get_settings()
    try:
        settings.check_sign_in()
    except ConfigError as exc:
        _fail(str(exc))
    migrate.upgrade(settings.database_url)
    if workers == 1:
        try:
            # create_app checks the key against the one the data was written with.
            web = create_app(settings, with_worker=with_worker, serving=True)
        except ConfigError as exc:
            _fail(str(exc))
        uvicorn.run(web, host=host, port=port, log_level="info")
        return
    if with_worker:
        _fail("--with-worker runs the worker inside the one web process; "
              "with --workers, run `civicpost worker` beside it")
    # Each process builds its own app; check here what would stop them all,
    # so a bad key or template is one clear message, not a restart loop.
    try:
        _check_key(settings)
        Renderer(settings.templates_dir, warm=False)
        saml.service_provider(settings)
    except ConfigError as exc:
        _fail(str(exc))
    uvicorn.run("civicpost.web:served_app", factory=True, workers=workers, host=host, port=port, log_level="info")


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Sends at once (default CIVICPOST_WORKER_CONCURRENCY).")] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's Prometheus metrics on 127.0.0.1.")] = None,
) -> None:
    """Run the publishing worker until SIGTERM (run as many as you like on PostgreSQL)."""
    from civicpost import migrate
    from civicpost.engine.worker import Worker

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    try:
        _check_key(settings)
    except ConfigError as exc:
        _fail(str(exc))
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    Worker(settings, concurrency=concurrency).run_forever()


@app.command()
def sandbox(
    host: str = "127.0.0.1",
    port: int = 8025,
    latency_ms: Annotated[float, typer.Option(help="Delay every platform answer by this much.")] = 0,
) -> None:
    """Play X, the Graph API, Mastodon and Bluesky on this machine (for demos and tests)."""
    from civicpost.sandbox import run_sandbox

    typer.echo(f"sandbox on http://{host}:{port}/ (timelines), faults at /_sandbox/faults")
    run_sandbox(host=host, port=port, latency_ms=latency_ms)


@app.command()
def demo(
    port: int = 8000,
    sandbox_port: int = 8025,
    database: Annotated[str, typer.Option(help="Where the demo keeps its data.")] = "sqlite:///./civicpost-demo.db",
    walk_through: Annotated[bool, typer.Option(help="Post one example announcement once started.")] = True,
    keep: Annotated[bool, typer.Option("--keep", help="Continue the last demo instead of starting clean.")] = False,
) -> None:
    """Seeded city + sandbox channels + the service with its worker: a first look, no credentials."""
    import socket
    import threading

    import uvicorn
    from pydantic import SecretStr

    from civicpost import demo as demo_city
    from civicpost import migrate
    from civicpost.sandbox import create_sandbox_app
    from civicpost.web import create_app

    # A first look on this machine: a development key beside the demo's
    # database, and channels on the sandbox at 127.0.0.1 (this process only).
    settings = get_settings().model_copy(update={
        "database_url": database, "base_url": f"http://127.0.0.1:{port}", "media_dir": Path("civicpost-demo-media"),
        "env": "development", "allow_private_network": True,
        # A first look: its approver and admin are not sent to add a second factor before any other page.
        "second_factor_required": False,
    })
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    # Residents' texts go to the sandbox's SMS provider (Twilio's Messages API), which calls back signed
    # delivery reports; /subscribe asks for a mobile number too.
    settings = settings.model_copy(update={
        "sms_account_sid": "AC" + "0" * 32, "sms_auth_token": SecretStr("demo-sandbox-sms-token"),
        "sms_from": "+15550100000", "sms_api_base": f"{sandbox_url}/sms", "sms_per_second": 10,
        "subscribe_sms_number": "+1 555 010 0000", "subscribe_phone_prefix": "+1",
    })
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", sandbox_port)) == 0:
            _fail(f"port {sandbox_port} is taken; pass --sandbox-port")
    sandbox_server = uvicorn.Server(uvicorn.Config(create_sandbox_app(), host="127.0.0.1", port=sandbox_port,
                                                   log_level="warning", access_log=False, lifespan="off"))
    threading.Thread(target=sandbox_server.run, name="sandbox", daemon=True).start()
    if not keep:
        demo_city.start_clean(settings)
    migrate.upgrade(settings.database_url)
    try:
        _check_key(settings)
    except ConfigError as exc:
        _fail(str(exc))
    seeded = demo_city.seed(settings, sandbox_url=sandbox_url)
    typer.echo(demo_city.banner(port=port, sandbox_url=sandbox_url, seeded=seeded, kept=keep))
    if walk_through and seeded.example_posted:
        typer.echo("The example announcement was posted in an earlier run; it is not posted again.")
    elif walk_through:
        demo_city.start_walk_through_later(f"http://127.0.0.1:{port}", seeded, typer.echo)
    uvicorn.run(create_app(settings, with_worker=True), host="127.0.0.1", port=port, log_level="warning")


@app.command()
def check(
    channels: Annotated[bool, typer.Option(help="Also test every channel's credentials with its platform.")] = True,
) -> None:
    """Report what is wrong with this configuration, in plain words (exit code 1 on a problem)."""
    from civicpost.checks import print_findings, run_checks

    raise typer.Exit(print_findings(run_checks(get_settings(), channels=channels), typer.echo))


@app.command("settings")
def settings_command() -> None:
    """Print every CIVICPOST_* setting with its default and meaning (a Markdown table)."""
    from civicpost.config import settings_table

    typer.echo(settings_table(), nl=False)


@app.command("backup")
def backup_command(out: Annotated[Path, typer.Option("--out", help="The archive to write (.tar.gz).")]) -> None:
    """Back up the database and the uploaded images into one archive (safe while the service runs)."""
    from civicpost import backup

    settings = get_settings()
    try:
        report = backup.backup(database_url=settings.database_url, media_dir=settings.media_dir, out=out)
    except backup.BackupError as exc:
        _fail(str(exc))
    typer.echo(f"wrote {report.path} ({report.database} database, {report.images} images, "
               f"{report.size_bytes:,} bytes); keep CIVICPOST_SECRET_KEY apart from it: credentials need it")


@app.command("restore")
def restore_command(
    archive: Path,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing database (kept as .before-restore).")] = False,
) -> None:
    """Put a SQLite backup back: the database and its images (stop the service first)."""
    from civicpost import backup

    settings = get_settings()
    try:
        done = backup.restore(archive=archive, database_url=settings.database_url, media_dir=settings.media_dir,
                              force=force)
    except backup.BackupError as exc:
        _fail(str(exc))
    typer.echo(f"restored the backup of {done['created_at']} into {done['database_path']} "
               f"({done['restored_images']} images); run `civicpost db upgrade` if this version is newer")


@key_app.command("reset")
def secret_key_reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do it without asking.")] = False,
) -> None:
    """Adopt the current CIVICPOST_SECRET_KEY after the old one was lost: forgets every channel's credentials."""
    from civicpost import keycheck
    from civicpost.db import transaction

    settings = get_settings()
    key = settings.fernet_key()
    with _sessions()() as session:
        if keycheck.matches(session, key) is not False:
            typer.echo("the key is the one the data was written with: nothing to reset")
            return
    if not yes:
        typer.confirm("Forget every channel's stored credentials and adopt this key?", abort=True)
    with transaction(_sessions()) as session:
        forgotten = keycheck.reset(session, key=key)
        names = [f"{c.name} (id {c.id})" for c in forgotten]
    typer.echo(f"adopted the new key; enter the credentials again for {len(names)} channel(s)"
               + (":\n  " + "\n  ".join(names) if names else ""))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "apscheduler", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from sqlalchemy.exc import OperationalError

    try:
        app()
    except ConfigError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
    except OperationalError as exc:
        # An unreachable or locked database is an expected condition: one line, no traceback.
        first = (str(exc.orig).strip().splitlines() or ["no message"])[0]
        typer.secho(f"error: the database cannot be used ({first}); check CIVICPOST_DATABASE_URL and that "
                    "the database server runs", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None

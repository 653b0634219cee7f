"""The `civicpost` command (SPEC §6)."""

import logging
from typing import Annotated

import typer

from civicpost.cli_people import token_app, user_app
from civicpost.config import ConfigError, get_settings

app = typer.Typer(help="civicpost: one approved draft, every channel, on time, on the record.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _sessions():
    from civicpost.db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(get_settings().database_url))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the newest version."""
    from civicpost import migrate

    migrate.upgrade(get_settings().database_url)
    typer.echo("database is up to date")


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
        with transaction(_sessions()) as session:
            department = accounts.create_department(session, actor=None, slug=data.slug, name=data.name)
            typer.echo(f"created department {department.slug} (id {department.id})")
    except ServiceError as exc:
        _fail(exc.detail)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    with_worker: Annotated[bool, typer.Option("--with-worker", help="Also run the publishing worker in this process.")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Web processes; each uses a core of its own.")] = 1,
) -> None:
    """Run the web service and API (applies migrations first)."""
    import uvicorn

    from civicpost import migrate
    from civicpost.rendering import Renderer
    from civicpost.web import create_app

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    if workers == 1:
        try:
            web = create_app(settings, with_worker=with_worker, serving=True)
        except ConfigError as exc:
            _fail(str(exc))
        uvicorn.run(web, host=host, port=port, log_level="info")
        return
    if with_worker:
        _fail("--with-worker runs the worker inside the one web process; with --workers, run `civicpost worker` beside it")
    # Each process builds its own app; check here what would stop them all,
    # so a bad key or template is one clear message, not a restart loop.
    try:
        settings.fernet_key()
        Renderer(settings.templates_dir, warm=False)
    except ConfigError as exc:
        _fail(str(exc))
    uvicorn.run("civicpost.web:served_app", factory=True, workers=workers, host=host, port=port, log_level="info")


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Sends at once (default CIVICPOST_WORKER_CONCURRENCY).")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Serve this worker's Prometheus metrics on 127.0.0.1.")] = None,
) -> None:
    """Run the publishing worker until SIGTERM (run as many as you like on PostgreSQL)."""
    from civicpost import migrate
    from civicpost.worker import Worker

    settings = get_settings()
    migrate.upgrade(settings.database_url)
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
) -> None:
    """Seeded city + sandbox channels + the service with its worker: a first look, no credentials."""
    import socket
    import threading

    import uvicorn

    from civicpost import demo as demo_city
    from civicpost import migrate
    from civicpost.sandbox import create_sandbox_app
    from civicpost.web import create_app

    settings = get_settings().model_copy(update={"database_url": database, "base_url": f"http://127.0.0.1:{port}"})
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", sandbox_port)) == 0:
            _fail(f"port {sandbox_port} is taken; pass --sandbox-port")
    sandbox_server = uvicorn.Server(uvicorn.Config(create_sandbox_app(), host="127.0.0.1", port=sandbox_port,
                                                   log_level="warning", access_log=False, lifespan="off"))
    threading.Thread(target=sandbox_server.run, name="sandbox", daemon=True).start()
    migrate.upgrade(settings.database_url)
    seeded = demo_city.seed(settings, sandbox_url=sandbox_url)
    typer.echo(f"""
civicpost demo
  staff     http://127.0.0.1:{port}/staff/   (sign in as any demo user below)
  public    http://127.0.0.1:{port}/           (the city's announcements page and feeds)
  API       http://127.0.0.1:{port}/docs
  sandbox   {sandbox_url}/           (what each fake platform received)
  password  {demo_city.PASSWORD} for every demo user
""")
    for email, token in seeded.tokens.items():
        typer.echo(f"  {email:<18} token {token}")
    if walk_through:
        demo_city.start_walk_through_later(f"http://127.0.0.1:{port}", seeded, typer.echo)
    uvicorn.run(create_app(settings, with_worker=True), host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "apscheduler", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        app()
    except ConfigError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None

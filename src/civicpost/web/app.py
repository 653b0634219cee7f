"""create_app(): the web service (API now; pages and feeds join here)."""

import hashlib
import logging
from contextlib import ExitStack, asynccontextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import BytecodeCache, Environment, FileSystemLoader, select_autoescape
from jinja2.bccache import Bucket
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from civicpost import __version__, keycheck, metrics
from civicpost.config import Settings, get_settings
from civicpost.db import make_engine, make_sessionmaker, utcnow, waking
from civicpost.decoding import DecodeGate
from civicpost.identity import saml
from civicpost.models import WorkerHeartbeat
from civicpost.redirects import Tracking
from civicpost.rendering import Renderer
from civicpost.runtime import settle_memory, share_the_interpreter
from civicpost.security import CredentialBox
from civicpost.subscribers.crypto import SubscriberBox
from civicpost.web import (
    alerts,
    api,
    api_comments,
    api_exports,
    api_follow_ups,
    api_insights,
    api_metrics,
    api_people,
    api_records,
    api_replies,
    api_subscribers,
    api_suspensions,
    api_texting,
    dates,
    directory,
    hooks,
    post_text,
    problems,
    public,
    redirects,
    subscribe,
    topic_feeds,
)
from civicpost.web import docs as api_docs
from civicpost.web import pages as staff_pages
from civicpost.web.deps import REQUEST_THREADS
from civicpost.web.headers import SecurityHeaders
from civicpost.web.limits import BodyLimit, ConcurrencyLimit
from civicpost.web.public_cache import PageStore, PublicCache
from civicpost.web.visits import StaffSessions

log = logging.getLogger(__name__)

# A worker checks in every 10 s; three missed beats and it is reported.
STALE_AFTER = timedelta(seconds=30)


def worker_report(session: Session) -> dict:
    now = utcnow()
    beats = session.scalars(select(WorkerHeartbeat).where(WorkerHeartbeat.stopped_at.is_(None))).all()
    live = [b.name for b in beats if now - b.last_seen_at <= STALE_AFTER]
    stale = {b.name: b.last_seen_at.isoformat() for b in beats if now - b.last_seen_at > STALE_AFTER}
    problems = []
    if stale:
        problems.append("worker(s) stopped checking in: " + ", ".join(f"{n} (last seen {t})" for n, t in stale.items()))
    if not live:
        problems.append("no worker is running: approved posts will not go out; start `civicpost worker`")
    return {"status": "not ready" if problems else "ready", "workers": live, "problems": problems}


class _CompiledPages(BytecodeCache):
    """Compiled page templates kept for the process, by name and source checksum (Jinja's bucket key):
    an app made again (each test makes one) does not compile the same pages again; an edit is a new key."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if (code := self._code.get(f"{bucket.key}:{bucket.checksum}")) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[f"{bucket.key}:{bucket.checksum}"] = bucket.bytecode_to_string()


_COMPILED_PAGES = _CompiledPages()


def page_environment(directory: Path) -> Environment:
    # Pages are always autoescaped: they show what staff and residents typed.
    return Environment(
        loader=FileSystemLoader(directory), autoescape=select_autoescape(default=True, default_for_string=True),
        bytecode_cache=_COMPILED_PAGES,
    )


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, with_worker: bool = False, serving: bool = False
) -> FastAPI:
    """`serving`: the app is the whole process (`civicpost serve`), so what
    start-up built is frozen once it has started (see runtime.settle_memory)."""
    settings = settings or get_settings()
    # Fail at start, with a message that says what to fix, rather than at the
    # first request: a missing key or a broken template stops the service here.
    box_key = settings.fernet_key()
    box = CredentialBox(box_key)
    saml_provider = saml.service_provider(settings)  # without SAML's extra or xmlsec1, says what to install
    renderer = Renderer(settings.templates_dir, tracking=Tracking.of(base_url=settings.base_url, secret=box_key))
    # Sync handlers and dependencies run on AnyIO's pool of 40 threads, each
    # holding a connection from its first query to the commit: with fewer
    # connections than threads, a burst leaves every thread waiting for a
    # connection held by a request that waits for a thread.
    # No pre-ping: on PostgreSQL it is a round trip before every request; a
    # connection lost to a database restart fails the requests in flight, and
    # SQLAlchemy then replaces every pooled connection.
    engine = engine or make_engine(
        settings.database_url, pool_size=20, max_overflow=30, pool_timeout=10, pool_pre_ping=False
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        worker = None
        with ExitStack() as stack:
            if with_worker:
                from civicpost.engine.worker import Worker

                worker = Worker(settings, engine=engine)
                worker.start()
                # Work this process commits wakes its worker at once; others hear of it through the database.
                stack.enter_context(waking(worker.wake))
            if serving:
                settle_memory()
                share_the_interpreter()
            yield
        if worker is not None:
            await run_in_threadpool(worker.stop, settings.publish_timeout_seconds + 5)

    app = FastAPI(
        lifespan=lifespan,
        title="civicpost",
        version=__version__,
        description="Publish a city's announcements to every channel from one approved draft.",
        # Served by api_docs from this machine; FastAPI's own pages load a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    # Reads on PostgreSQL run each statement in its own transaction: no BEGIN and
    # ROLLBACK round trips around a page that only reads. SQLite keeps its BEGIN:
    # without it a statement left open kept its connection's old snapshot (and
    # its lock) until the next one, and pages read what an earlier test wrote.
    read_engine = engine if settings.is_sqlite else engine.execution_options(isolation_level="AUTOCOMMIT")
    app.state.read_engine = read_engine  # a plain Connection for what only reads lists (web.deps.request_connection)
    app.state.read_sessions = make_sessionmaker(read_engine)
    write_engine = engine.execution_options(sqlite_begin="IMMEDIATE") if settings.is_sqlite else engine
    app.state.write_sessions = make_sessionmaker(write_engine)
    # A key other than the one the data was written with stops the start here.
    keycheck.verify(app.state.write_sessions, box_key)
    app.state.renderer = renderer
    app.state.box = box
    app.state.subscriber_box = SubscriberBox(box_key)  # residents' addresses (civicpost.subscribers.crypto)
    app.state.box_key = box_key  # signs short-lived image addresses (civicpost.media_urls)
    # One per process (serve makes one app): image decodes at once, API and pages together.
    app.state.decodes = DecodeGate(settings.max_concurrent_decodes)

    pages = Jinja2Templates(env=page_environment(settings.templates_dir / "pages"))
    pages.env.globals["city_name"] = settings.city_name
    # A preview names the city's own site (its web page and feeds) by the address people read it at.
    pages.env.globals["site_host"] = urlsplit(settings.base_url).hostname or ""
    pages.env.filters["when"] = partial(dates.when, zone=settings.zone)
    pages.env.filters["post_markup"] = post_text.post_markup
    pages.env.filters["initials"] = post_text.initials
    pages.env.globals["saml_sign_in"] = saml_provider is not None
    app.state.pages = pages
    app.state.saml = saml_provider

    problems.install(app)
    app.include_router(api.router)
    app.include_router(api_people.router)
    app.include_router(api_comments.router)
    app.include_router(api_records.router)
    app.include_router(api_follow_ups.router)
    app.include_router(api_exports.router)
    app.include_router(api_exports.public_router)
    app.include_router(api_replies.router)
    app.include_router(api_metrics.router)
    app.include_router(api_insights.router)
    app.include_router(api_suspensions.router)
    app.include_router(api_subscribers.router)
    app.include_router(api_texting.router)
    app.include_router(alerts.api_router)
    app.include_router(alerts.public_router)
    app.include_router(public.router)
    app.include_router(subscribe.router)
    app.include_router(topic_feeds.router)
    app.include_router(redirects.router)
    app.include_router(hooks.router)
    app.include_router(directory.router)
    staff_pages.install(app)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    api_docs.install(app)
    api_docs.problems_as_problem_json(app)
    # Staff sessions live in the database; the key signs the sign-in form's CSRF pair and known-browser cookies.
    app.state.session_key = hashlib.sha256(b"civicpost-session\x00" + box_key.encode()).digest()
    app.add_middleware(StaffSessions, state=app.state)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        upload_paths={
            "/api/v1/media": settings.max_upload_bytes,
            r"/staff/announcements/(new|\d+/edit)": settings.max_upload_bytes + settings.max_body_bytes,
        },
    )
    # Outermost but for the headers: fewer pages inside than AnyIO's threads (40) and connections
    # (50). The API has places of its own, as many as its request threads: more
    # requests inside only interleave their parsing with the handlers under the
    # interpreter lock (p99 46-50 ms with 4, 67-90 ms with 16, two processes at
    # 200/s). A page waiting on a platform (testing a channel) never takes one.
    # Uploads have places of their own (they wait on the decode gate, not on a
    # request thread), so a burst of them never keeps other API requests out.
    app.add_middleware(ConcurrencyLimit, limit=16, queue_timeout=10, by_prefix={
        "/api/v1/media": 4 * settings.max_concurrent_decodes, "/api/": REQUEST_THREADS,
    })
    # Before the limits: a public page already rendered is sent without a place, a thread or a session.
    app.state.public_pages = PageStore(app.state.read_sessions, check_seconds=settings.public_check_seconds)
    app.add_middleware(PublicCache, store=app.state.public_pages)
    # Around everything, so a 503 from the limit and a 413 carry the headers too.
    app.add_middleware(SecurityHeaders)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        """Ready when the database answers and a worker has checked in lately."""
        with app.state.read_sessions() as session:
            session.execute(text("SELECT 1"))
            report = worker_report(session)
        return JSONResponse(report, status_code=200 if report["status"] == "ready" else 503)

    metrics_registry = metrics.registry_for(app.state.read_sessions)

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(generate_latest(metrics_registry), media_type=CONTENT_TYPE_LATEST)

    return app

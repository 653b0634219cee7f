"""create_app(): the web service (API now; pages and feeds join here)."""

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from civicpost import __version__
from civicpost.config import Settings, get_settings
from civicpost.db import make_engine, make_sessionmaker
from civicpost.rendering import Renderer
from civicpost.security import CredentialBox
from civicpost.web import api, problems
from civicpost.web.limits import BodyLimit

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None, with_worker: bool = False) -> FastAPI:
    settings = settings or get_settings()
    # Fail at start, with a message that says what to fix, rather than at the
    # first request: a missing key or a broken template stops the service here.
    box = CredentialBox(settings.fernet_key())
    renderer = Renderer(settings.templates_dir)
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        worker = None
        if with_worker:
            from civicpost.worker import Worker

            worker = Worker(settings, engine=engine)
            worker.start()
        app.state.worker = worker
        yield
        if worker is not None:
            await run_in_threadpool(worker.stop, settings.publish_timeout_seconds + 5)

    app = FastAPI(
        lifespan=lifespan,
        title="civicpost",
        version=__version__,
        description="Publish a city's announcements to every channel from one approved draft.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_sessions = make_sessionmaker(engine)
    write_engine = engine.execution_options(sqlite_begin="IMMEDIATE") if settings.is_sqlite else engine
    app.state.write_sessions = make_sessionmaker(write_engine)
    app.state.renderer = renderer
    app.state.box = box

    problems.install(app)
    app.include_router(api.router)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        upload_paths={"/api/v1/media": settings.max_upload_bytes},
    )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> dict[str, str]:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ready"}

    return app

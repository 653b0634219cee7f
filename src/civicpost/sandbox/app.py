"""The sandbox application: four fake platforms and a control panel on one port."""

from __future__ import annotations

import importlib
import json
import pkgutil
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route

from .core import Hub, PlatformFake, json_response
from .faults import FaultBook
from .page import render_post, render_timelines
from .recorder import Recorder


def fake_classes() -> list[type[PlatformFake]]:
    """Every fake platform: the PlatformFake subclass each module of this package
    defines, named (a base such as meta_media's MetaFake names no platform)."""
    import civicpost.sandbox as package

    found: list[type[PlatformFake]] = []
    for module in pkgutil.iter_modules(package.__path__):
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        found += [
            value for value in vars(loaded).values()
            if isinstance(value, type) and issubclass(value, PlatformFake) and value is not PlatformFake
            and value.__module__ == loaded.__name__ and isinstance(getattr(value, "name", None), str)
        ]
    return sorted(found, key=lambda fake: fake.name)


@dataclass
class Sandbox:
    """The live state behind one app, reachable as `app.state.sandbox`; each
    fake by its name too (`sandbox.x`, `sandbox.graph`)."""

    hub: Hub
    fakes: dict[str, PlatformFake]
    start_latency_ms: float

    @property
    def platforms(self) -> tuple[PlatformFake, ...]:
        return tuple(self.fakes.values())

    def __getattr__(self, name: str) -> PlatformFake:
        fakes = self.__dict__.get("fakes", {})
        if name in fakes:
            return fakes[name]
        raise AttributeError(name)

    def reset(self) -> None:
        self.hub.recorder.clear()
        for platform in self.platforms:
            platform.reset()
        names = tuple(self.fakes)
        self.hub.faults.platforms = FaultBook.starting(latency_ms=self.start_latency_ms, names=names).platforms


def create_sandbox_app(
    latency_ms: float = 0,
    *,
    record_limit: int = 20_000,
    bluesky_access_ttl_s: int = 7200,
) -> Starlette:
    """Build the app; `latency_ms` delays every platform request (not the control panel)."""
    options: dict[str, dict[str, Any]] = {"bluesky": {"access_ttl_s": bluesky_access_ttl_s}}
    found = fake_classes()
    hub = Hub(
        recorder=Recorder(limit=record_limit),
        # Every fake found can be given faults, by its name.
        faults=FaultBook.starting(latency_ms=latency_ms, names=tuple(fake.name for fake in found)),
        secret=secrets.token_bytes(32),
    )
    sandbox = Sandbox(
        hub=hub,
        fakes={fake.name: fake(hub, **options.get(fake.name, {})) for fake in found},
        start_latency_ms=latency_ms,
    )

    async def timelines(request: Request) -> Response:
        recorded = len(hub.recorder.entries())
        return HTMLResponse(render_timelines(sandbox.platforms, recorded=recorded))

    async def list_requests(request: Request) -> Response:
        platform = request.query_params.get("platform")
        try:
            since = int(request.query_params.get("since", "0"))
        except ValueError:
            return json_response({"detail": "since must be an integer"}, 400)
        return json_response({"requests": hub.recorder.entries(platform=platform, since=since)})

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return json_response({"reset": True})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                changes = json.loads(await request.body() or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("expected a JSON object")
                hub.faults.update(changes)
            except ValueError as error:
                return json_response({"detail": str(error)}, 400)
        return json_response(hub.faults.as_json())

    async def health(request: Request) -> Response:
        return json_response({"ok": True})

    def view(platform: PlatformFake, id_of: Callable[[Request], str]):
        """A post's own page, at the path its platform's website would use under the sandbox."""

        async def page(request: Request) -> Response:
            wanted = id_of(request)
            post = next((p for p in platform.timeline() if p.id == wanted), None)
            return HTMLResponse(render_post(platform.title, post), status_code=200 if post else 404)

        return page

    post_pages = [Route(path, view(fake, id_of)) for fake in sandbox.platforms for path, id_of in fake.post_pages()]

    routes = [
        Route("/", timelines, methods=["GET"]),
        Route("/_sandbox/requests", list_requests, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        Route("/_sandbox/health", health, methods=["GET"]),
        *post_pages,  # before the platforms' mounts, which would take these paths
        *(Mount(f"/{p.name}", routes=p.routes()) for p in sandbox.platforms),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox
    return app


def run_sandbox(host: str = "127.0.0.1", port: int = 8025, latency_ms: float = 0) -> None:
    """Serve the sandbox until interrupted (what `civicpost sandbox` runs).

    It has no authentication of its own: keep it on a loopback address.
    """
    uvicorn.run(
        create_sandbox_app(latency_ms),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # an access log line per request costs more than the request at 1,000/s
        timeout_graceful_shutdown=2,  # "hang" faults must not hold up Ctrl-C
    )

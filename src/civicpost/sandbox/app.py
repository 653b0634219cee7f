"""The sandbox application: four fake platforms and a control panel on one port."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route

from .bluesky import BlueskyFake
from .core import Hub, PlatformFake, json_response
from .faults import FaultBook
from .graph import GraphFake
from .mastodon import MastodonFake
from .page import render_post, render_timelines
from .recorder import Recorder
from .x import XFake

PREFIXES = {"x": "/x", "graph": "/graph", "mastodon": "/mastodon", "bluesky": "/bluesky"}


@dataclass
class Sandbox:
    """The live state behind one app, reachable as `app.state.sandbox`."""

    hub: Hub
    x: XFake
    graph: GraphFake
    mastodon: MastodonFake
    bluesky: BlueskyFake
    start_latency_ms: float

    @property
    def platforms(self) -> tuple[PlatformFake, ...]:
        return (self.x, self.graph, self.mastodon, self.bluesky)

    def reset(self) -> None:
        self.hub.recorder.clear()
        for platform in self.platforms:
            platform.reset()
        self.hub.faults.platforms = FaultBook.starting(latency_ms=self.start_latency_ms).platforms


def create_sandbox_app(
    latency_ms: float = 0,
    *,
    record_limit: int = 20_000,
    bluesky_access_ttl_s: int = 7200,
) -> Starlette:
    """Build the app; `latency_ms` delays every platform request (not the control panel)."""
    hub = Hub(
        recorder=Recorder(limit=record_limit),
        faults=FaultBook.starting(latency_ms=latency_ms),
        secret=secrets.token_bytes(32),
    )
    sandbox = Sandbox(
        hub=hub,
        x=XFake(hub),
        graph=GraphFake(hub),
        mastodon=MastodonFake(hub),
        bluesky=BlueskyFake(hub, access_ttl_s=bluesky_access_ttl_s),
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

    post_pages = [
        Route("/x/i/web/status/{id}", view(sandbox.x, lambda r: r.path_params["id"])),
        Route("/facebook/{page}/posts/{post}",
              view(sandbox.graph, lambda r: f"{r.path_params['page']}_{r.path_params['post']}")),
        Route("/mastodon/@{account}/{id}", view(sandbox.mastodon, lambda r: r.path_params["id"])),
        Route("/bluesky/profile/{handle}/post/{rkey}", view(
            sandbox.bluesky, lambda r: sandbox.bluesky.post_uri(r.path_params["handle"], r.path_params["rkey"]))),
    ]

    routes = [
        Route("/", timelines, methods=["GET"]),
        Route("/_sandbox/requests", list_requests, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        Route("/_sandbox/health", health, methods=["GET"]),
        *post_pages,  # before the platforms' mounts, which would take these paths
        *(Mount(PREFIXES[p.name], routes=p.routes()) for p in sandbox.platforms),
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

"""Helpers for tests and benchmarks: run the sandbox in-process, aim SDKs at it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from starlette.applications import Starlette

from .app import create_sandbox_app

X_ORIGIN = "https://api.twitter.com"


@contextmanager
def running_sandbox(
    latency_ms: float = 0, *, app: Starlette | None = None, startup_timeout_s: float = 10
) -> Iterator[str]:
    """Serve a sandbox on a free 127.0.0.1 port in a thread; yield its base URL.

    Pass `app=create_sandbox_app(...)` to keep a handle on its state
    (`app.state.sandbox`). The socket is bound before the server starts, so
    there is no window in which another process can take the port.
    """
    app = app or create_sandbox_app(latency_ms)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, timeout_graceful_shutdown=1, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="civicpost-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class RewriteHostAdapter(HTTPAdapter):
    """Send requests meant for `origin` to `target` instead, with a default timeout.

    tweepy's `Client` hard-codes https://api.twitter.com and passes no
    timeout; mounting this on `client.session` fixes both without forking it.
    """

    def __init__(self, target: str, *, origin: str = X_ORIGIN, timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.origin = origin.rstrip("/")
        self.target = target.rstrip("/")
        self.timeout = timeout

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        if request.url and request.url.startswith(self.origin):
            request.url = self.target + request.url[len(self.origin) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def point_tweepy_at(client: Any, base_url: str, *, timeout: float = 10.0) -> None:
    """Aim a `tweepy.Client` at the sandbox's X (`{base_url}/x`)."""
    client.session.mount(X_ORIGIN, RewriteHostAdapter(f"{base_url.rstrip('/')}/x", timeout=timeout))

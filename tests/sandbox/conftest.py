"""One sandbox server per test module (starting uvicorn is the slow part),
emptied before every test so tests never see each other's posts or faults."""

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette

from civicpost.sandbox import create_sandbox_app
from civicpost.sandbox.app import Sandbox
from civicpost.sandbox.testing import running_sandbox


@dataclass
class LiveSandbox:
    url: str
    app: Starlette
    http: httpx.Client

    @property
    def state(self) -> Sandbox:
        return self.app.state.sandbox

    def faults(self, **platforms: dict) -> None:
        response = self.http.post("/_sandbox/faults", json=platforms)
        assert response.status_code == 200, response.text

    def requests(self, platform: str | None = None) -> list[dict]:
        params = {"platform": platform} if platform else {}
        return self.http.get("/_sandbox/requests", params=params).json()["requests"]


@pytest.fixture(scope="module")
def _server() -> Iterator[LiveSandbox]:
    app = create_sandbox_app(bluesky_access_ttl_s=7200)
    with running_sandbox(app=app) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield LiveSandbox(url, app, http)


@pytest.fixture
def sandbox(_server: LiveSandbox) -> LiveSandbox:
    _server.http.post("/_sandbox/reset").raise_for_status()
    return _server

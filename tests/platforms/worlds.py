"""The two fake worlds the contract runs in: the recorded answers of each
platform (recorded/), and the project's sandbox (civicpost.sandbox) played
over HTTP on 127.0.0.1. Both answer the same cases the same way, or the
contract fails in one of them.

What the adapters send is what the engine would: each platform's own
template, rendered by civicpost's renderer.
"""

import hashlib
import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from civicpost import PROJECT_ROOT, media_urls
from civicpost.content import ChannelView, Draft, MediaRef
from civicpost.platforms import SPECS, Adapter, MediaItem, Outgoing, PlatformSpec, build_adapter, checked_fields
from civicpost.rendering import Renderer
from civicpost.sandbox import create_sandbox_app
from civicpost.sandbox.app import Sandbox
from civicpost.sandbox.core import PlatformFake
from civicpost.sandbox.testing import running_sandbox
from tests.factories import OUTGOING_CREATED as CREATED
from tests.factories import OUTGOING_KEY as KEY

from .recorded import LATE_S, RECORDED, TIMEOUT, Post, no_such_answer
from .servers import ImageHost

IMAGE_SIDE = 1080
OTHER_KEY = "0b9f3c1e-8d2a-4c7b-9e6f-5a4d3c2b1a09"
POOLS = ("Pools open", "Saturday at 10am, with free swim lessons. Details: https://city.example/pools #SummerInTheCity")
LIBRARY = ("Library closed Monday", "The central library is closed on Monday for repairs to the roof.")
LONG_BODY = " ".join([
    "The Elm Street pool opens on Saturday at nine, and the Oak Park pool follows on Sunday at ten.",
    "Lifeguards are on duty every day until seven in the evening, and swim lessons for children start",
    "in the second week of June. Registration for lessons opens on Monday at the recreation centre and",
    "online, with places given in the order people sign up. Lockers take a quarter, which you get back.",
    "Please shower before swimming, keep glass away from the deck, and bring a lock for your things.",
    "Passes for the season are on sale now at every pool and at city hall, with half price for seniors",
    "and for families that hold a recreation access card. Questions go to the aquatics office.",
])


# --- what is sent ----------------------------------------------------------------


@cache
def _renderer() -> Renderer:
    return Renderer(PROJECT_ROOT / "templates", warm=False)


def outgoing_for(world: "World", *, wording: tuple[str, str] = POOLS, key: str = KEY,
                 thread: bool = False) -> Outgoing:
    """The post a channel of the world's platform sends for an announcement,
    rendered from the platform's template, with the world's images."""
    title, body = wording
    refs = [MediaRef(id=item.path.name, alt_text=item.alt_text, mime_type=item.mime_type,
                     size_bytes=item.path.stat().st_size, width=IMAGE_SIDE, height=IMAGE_SIDE) for item in world.media]
    draft = Draft(title=title, body=body, department="Parks and Recreation", media=refs)
    channel = ChannelView(id=1, platform=world.platform, name="Parks",
                          settings={"overflow": "thread"} if thread else {})
    rendition = _renderer().render(draft, channel)
    assert not rendition.blocking, rendition.blocking
    return Outgoing(key=key, text=rendition.text, parts=rendition.parts, media=list(world.media), title=title,
                    extra=rendition.extra, created_at=CREATED, public_url="https://city.example/announcements/7")


def thread_for(world: "World") -> Outgoing:
    """An announcement too long for one post, whatever the platform's limit."""
    body = LONG_BODY
    while not (outgoing := outgoing_for(world, wording=("Pools open this weekend", body), thread=True)).parts:
        assert len(body) < 100_000, "the platform never needs a thread"
        body = f"{body} {body}"
    return outgoing


def other_for(world: "World") -> Outgoing:
    return outgoing_for(world, wording=LIBRARY, key=OTHER_KEY)


def sample_media(host: ImageHost, folder: Path) -> list[MediaItem]:
    """One photo with alt text, stored as civicpost stores uploads (named by
    its hash) and at its signed address on the city's site, for platforms that fetch it."""
    buffer = io.BytesIO()
    Image.new("RGB", (IMAGE_SIDE, IMAGE_SIDE), (40, 120, 200)).save(buffer, "JPEG", quality=85)
    data = buffer.getvalue()
    media_id = hashlib.sha256(data).hexdigest()
    (folder / media_id).write_bytes(data)
    host.images[media_id] = data
    url = media_urls.signed_url(host.base_url, "contract-test-secret", media_id)
    return [MediaItem(path=folder / media_id, mime_type="image/jpeg", url=url,
                      alt_text="Children in swim caps line up at the edge of the Elm Street pool")]


# --- the worlds --------------------------------------------------------------------


class World(Protocol):
    platform: str
    media: list[MediaItem]  # an image where the platform's posts need one

    def adapter(self, *, timeout: float = TIMEOUT) -> Adapter: ...

    def answers(self, case: str, outgoing: Outgoing) -> Any: ...

    def posts(self) -> list[Post]: ...

    def timeouts(self) -> list[float]: ...


def worlds(where: Callable[[PlatformSpec], bool] = lambda spec: True) -> list[Any]:
    """Every registered platform whose spec passes `where`, in each world that plays it."""
    chosen = [spec for spec in SPECS.values() if where(spec)]
    return [pytest.param(("recorded", spec.name), id=f"recorded-{spec.name}") for spec in chosen] + [
        pytest.param(("sandbox", spec.name), id=f"sandbox-{spec.name}") for spec in chosen if spec.sandbox
    ]


@dataclass
class LiveSandbox:
    url: str
    app: Starlette
    http: httpx.Client

    @property
    def state(self) -> Sandbox:
        return self.app.state.sandbox

    def reset(self) -> None:
        self.http.post("/_sandbox/reset").raise_for_status()

    def faults(self, changes: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post("/_sandbox/faults", json=changes)
        assert response.status_code == 200, response.text
        return response.json()

    def settle(self, *, within_s: float) -> None:
        """Wait until every request has been answered: a late one, which the
        client gave up on, must not land in the next test's sandbox."""
        deadline = time.monotonic() + within_s
        while any(not isinstance(r["status"], int) for r in self.http.get("/_sandbox/requests").json()["requests"]):
            assert time.monotonic() < deadline, "the sandbox still holds a request"
            time.sleep(0.05)


@contextmanager
def live_sandbox() -> Iterator[LiveSandbox]:
    app = create_sandbox_app()
    with running_sandbox(app=app) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield LiveSandbox(url, app, http)


RESET_S = 120
# The sandbox's fault for each refusal, on posting (sign-in and reads pass).
FAULTS = {
    "late": {"latency_ms": LATE_S * 1000},
    "rate_limited": {"rate_limit_next": 1, "rate_limit_reset_s": RESET_S, "writes_only": True},
    "server_error": {"fail_next": 1, "fail_status": 503, "writes_only": True},
    "rejected": {"fail_next": 1, "fail_status": 400, "writes_only": True},
}


class SandboxWorld:
    """A platform as the sandbox plays it, with the channel the demo makes."""

    def __init__(self, spec: PlatformSpec, live: LiveSandbox, *, media: list[MediaItem]) -> None:
        assert spec.sandbox is not None
        self.platform, self.spec, self.live, self.media = spec.name, spec, live, media
        self.fake: PlatformFake = next(fake for fake in live.state.platforms if spec.name in fake.plays)
        self.refused = False

    def adapter(self, *, timeout: float = TIMEOUT) -> Adapter:
        assert self.spec.sandbox is not None
        credentials, settings = checked_fields(
            self.platform, self.spec.sandbox.credentials("parks"), self.spec.sandbox.settings(self.live.url)
        )
        if self.refused:  # every sandbox fake refuses "bad"
            credentials = {name: "bad" if isinstance(value, str) else value for name, value in credentials.items()}
        return build_adapter(self.platform, credentials, settings, timeout=timeout, allow_private_network=True)

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        if case == "timeouts":
            no_such_answer("the sandbox cannot see a client's timeout: the late answer checks it")
        if case == "bad_credentials":
            self.refused = True
        elif case in FAULTS:
            self.live.faults({self.fake.name: FAULTS[case]})
        elif case not in ("publish", "thread", "delete", "find", "find_missing", "check"):
            raise LookupError(f"the sandbox world has no case {case!r}")
        yield RECORDED[self.platform].announced_wait(RESET_S) if case == "rate_limited" else None
        left = self.live.faults({})[self.fake.name]
        assert (left["fail_next"], left["rate_limit_next"]) == (0, 0), f"the {case} fault was never drawn"

    def posts(self) -> list[Post]:
        return [Post(post.id, post.text, post.reply_to) for post in self.fake.timeline()]

    def timeouts(self) -> list[float]:
        no_such_answer("the sandbox cannot see a client's timeout")

    def settle(self) -> None:
        self.live.settle(within_s=LATE_S + 5)

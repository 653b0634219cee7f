"""Browser tests: the real app and its worker on a live port, a sandbox for the
four platforms, and Debian's Chromium driven by Playwright (never a browser
that Playwright downloads, whose build may not match this machine).

Starting a server is the slow part, so one live city serves a whole test
module: the per-test table cleaning of tests/conftest.py is replaced here by
one cleaning when the module's server stops.
"""

import io
import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from fastapi import FastAPI
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine
from starlette.routing import Match

from civicpost import accounts, channels
from civicpost.config import Settings
from civicpost.db import make_sessionmaker, transaction
from civicpost.models import Role
from civicpost.platforms import spec
from civicpost.sandbox.testing import running_sandbox
from civicpost.security import CredentialBox
from tests.conftest import TEST_SECRET, empty_tables

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"]
PASSWORD = "correct horse battery staple"

# The same sandbox channels `civicpost demo` makes (src/civicpost/demo.py), named alike.
SANDBOX_CHANNELS = {
    "x": ({"consumer_key": "k", "consumer_secret": "s", "access_token": "t", "access_token_secret": "ts"}, {"api_base": "{base}/x"}),
    "facebook": ({"page_access_token": "page-token"}, {"api_base": "{base}/graph", "page_id": "102030405060708"}),
    "mastodon": ({"access_token": "tok"}, {"api_base": "{base}/mastodon"}),
    "bluesky": ({"handle": "parks.test.city", "app_password": "pw-pw-pw-pw"}, {"api_base": "{base}/bluesky"}),
}


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def pytest_collection_modifyitems(config, items) -> None:
    # Skipped locally without Chromium; in CI the `browser` fixture fails instead.
    if CHROMIUM.exists() or in_ci():
        return
    skip = pytest.mark.skip(reason=f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clean_database() -> Iterator[None]:
    """Overrides tests/conftest.py: `live` empties the tables when its module ends."""
    yield


@dataclass
class Person:
    id: int
    email: str
    name: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Live:
    url: str
    app: FastAPI
    sandbox: str
    settings: Settings
    admin: Person
    parks_staff: Person
    police_staff: Person
    approver: Person
    parks_channels: dict[str, int]  # platform -> channel id
    parks_channel_names: dict[str, str]  # platform -> channel name
    signed_in_states: dict[str, dict] = field(default_factory=dict)

    def api(self, person: Person) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=person.auth, timeout=15)

    def routed(self, path: str) -> bool:
        """Whether any route answers this path (for any method): a 404 then comes from the page, not from routing."""
        scope = {"type": "http", "method": "GET", "path": path.split("?")[0], "root_path": ""}
        return any(route.matches(scope)[0] != Match.NONE for route in self.app.router.routes)


def bind_free_port() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def serve_in_thread(app: FastAPI, sock: socket.socket, *, startup_timeout_s: float = 15) -> tuple[uvicorn.Server, threading.Thread]:
    # lifespan "on": the app's lifespan starts and stops the in-process worker.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="civicpost-live", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the live civicpost server did not start")
        time.sleep(0.01)
    return server, thread


def seed_city(engine: Engine, settings: Settings, sandbox: str) -> dict:
    """Departments, one person per role, and the parks department's five sandbox channels."""
    sessions = make_sessionmaker(engine)
    box = CredentialBox(settings.fernet_key())
    made: dict = {"channels": {}, "channel_names": {}}
    with transaction(sessions) as session:
        for slug, name in (("parks", "Parks and Recreation"), ("police", "Police Department")):
            accounts.create_department(session, actor=None, slug=slug, name=name)
        for key, email, name, role, departments in (
            ("admin", "admin@city.example", "Ada Admin", Role.admin, []),
            ("parks_staff", "pat@city.example", "Pat Parks", Role.staff, ["parks"]),
            ("police_staff", "sam@city.example", "Sam Safety", Role.staff, ["police"]),
            ("approver", "comms@city.example", "Casey Comms", Role.approver, []),
        ):
            user = accounts.create_user(session, actor=None, email=email, name=name, role=role,
                                        departments=departments, password=PASSWORD)
            made[key] = Person(user.id, user.email, name, accounts.create_token(session, user=user))
        parks = accounts.department_by_slug(session, "parks")
        feed = channels.create_channel(session, actor=None, box=box, department=parks, platform="feed",
                                       name="Parks and Recreation on the city website", language="en",
                                       credentials={}, settings={})
        made["channels"]["feed"], made["channel_names"]["feed"] = feed.id, feed.name
        for platform, (credentials, platform_settings) in SANDBOX_CHANNELS.items():
            channel = channels.create_channel(
                session, actor=None, box=box, department=parks, platform=platform,
                name=f"Parks and Recreation on {spec(platform).label} (sandbox)", language="en", credentials=credentials,
                settings={k: v.format(base=sandbox) for k, v in platform_settings.items()},
            )
            made["channels"][platform], made["channel_names"][platform] = channel.id, channel.name
        police = accounts.department_by_slug(session, "police")
        channels.create_channel(session, actor=None, box=box, department=police, platform="feed",
                                name="Police Department on the city website", language="en", credentials={}, settings={})
    return made


@pytest.fixture(scope="module")
def live(engine: Engine, database_url: str, tmp_path_factory) -> Iterator[Live]:
    """The real app with its worker, served on 127.0.0.1, with a seeded city and a running sandbox."""
    sock = bind_free_port()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        env="test", database_url=database_url, secret_key=TEST_SECRET, timezone="America/New_York",
        media_dir=tmp_path_factory.mktemp("media"), base_url=url, city_name="Springfield",
        publish_timeout_seconds=5, retry_base_seconds=0.2, retry_max_seconds=1, max_attempts=3,
        lease_seconds=10, worker_concurrency=4, allow_private_network=True,
        # The seeded approver and admin sign in with a password alone (test_passkeys.py has its own server).
        second_factor_required=False,
        # Public pages show a change at the next request, as in tests/conftest.py (web/test_public_cache.py
        # tests the half-second check itself).
        public_check_seconds=0,
    )
    from civicpost.web import create_app

    try:
        with running_sandbox() as sandbox:
            seeded = seed_city(engine, settings, sandbox)
            app = create_app(settings, engine=engine, with_worker=True)
            server, thread = serve_in_thread(app, sock)
            try:
                yield Live(url=url, app=app, sandbox=sandbox, settings=settings, admin=seeded["admin"],
                           parks_staff=seeded["parks_staff"], police_staff=seeded["police_staff"],
                           approver=seeded["approver"], parks_channels=seeded["channels"],
                           parks_channel_names=seeded["channel_names"])
            finally:
                server.should_exit = True
                thread.join(timeout=settings.publish_timeout_seconds + 10)
    finally:
        sock.close()
        empty_tables(engine)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        # Only reached in CI (elsewhere the tests were skipped at collection).
        pytest.fail(f"CI=true but Chromium is missing at {CHROMIUM}: .ci/run installs it with apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


# Reports every Content-Security-Policy violation to the test, whatever page
# it happens on (an init script runs before the page's own, outside its policy).
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} on ${e.documentURI}`);
});
"""


@pytest.fixture
def csp_violations() -> list[str]:
    """What the pages of one test broke of their Content-Security-Policy; the test fails unless it stays empty."""
    return []


@pytest.fixture
def open_page(browser: Browser, live: Live, csp_violations: list[str]) -> Iterator:
    """`open_page(person=None)`: a page in a fresh browser context, signed in as `person` if given.

    Every page keeps to its Content-Security-Policy: a violation (reported by
    the page or logged by Chromium) fails the test when it ends.
    """
    contexts = []

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            csp_violations.append(message.text)

    def make(person: Person | None = None) -> Page:
        state = signed_in_state(browser, live, person) if person else None
        context = browser.new_context(base_url=live.url, storage_state=state, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        context.expose_function("__cspViolation", lambda text: csp_violations.append(text))
        context.add_init_script(REPORT_CSP)
        context.on("console", on_console)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert not csp_violations, "Content-Security-Policy violations:\n" + "\n".join(csp_violations)


@pytest.fixture
def page(open_page) -> Page:
    return open_page()


def sign_in(page: Page, person: Person) -> None:
    page.goto("/staff/login")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff/")


def signed_in_state(browser: Browser, live: Live, person: Person) -> dict:
    """Sign in through the form once per person and module; later contexts reuse the cookie."""
    if person.email not in live.signed_in_states:
        context = browser.new_context(base_url=live.url)
        try:
            page = context.new_page()
            sign_in(page, person)
            live.signed_in_states[person.email] = context.storage_state()
        finally:
            context.close()
    return live.signed_in_states[person.email]


def shoot(page: Page, name: str) -> Path:
    """Save a full-page PNG under test-output/screenshots/ for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def png_bytes(width: int = 800, height: int = 450, color: tuple[int, int, int] = (46, 125, 50)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def wait_for_state(live: Live, person: Person, announcement_id: int, states: set[str], timeout: float = 30) -> dict:
    with live.api(person) as api:
        deadline = time.monotonic() + timeout
        while True:
            got = api.get(f"/announcements/{announcement_id}").raise_for_status().json()
            if got["state"] in states or time.monotonic() > deadline:
                return got
            time.sleep(0.2)


def create_emergencies(live: "Live") -> tuple[int, int]:
    """Make the Parks staff member an emergency publisher and give the pages an
    alert in effect, published by break glass on the city's site and waiting
    for an approver's sign-off, and an emergency draft they may publish at once.
    The two ids: (alert, emergency draft)."""
    staff, admin = live.api(live.parks_staff), live.api(live.admin)
    with staff, admin:
        admin.patch(f"/users/{live.parks_staff.id}", json={"emergency_publisher": True}).raise_for_status()
        expires = (datetime.now(UTC) + timedelta(hours=6)).isoformat()
        alert = staff.post("/announcements", json={
            "department": "parks", "title": "Boil water notice for the east side",
            "body": "Boil tap water for one minute before drinking.", "channels": [live.parks_channels["feed"]],
            "emergency": True, "alert": {
                "event": "Water main break", "category": "Infra", "urgency": "Immediate", "severity": "Severe",
                "certainty": "Observed", "expires": expires,
                "instruction": "Boil tap water for one minute before drinking.",
                "area_desc": "East side, Elm to Oak Street"}}).raise_for_status().json()["id"]
        staff.post(f"/announcements/{alert}/publish-now",
                   json={"reason": "Water main break at 2 a.m.; no approver reachable"}).raise_for_status()
        emergency = staff.post("/announcements", json={
            "department": "parks", "title": "Road closed by a gas leak", "body": "Elm Street is closed between 3rd and 5th.",
            "channels": list(live.parks_channels.values()), "emergency": True}).raise_for_status().json()["id"]
    wait_for_state(live, live.approver, alert, {"published"})
    return alert, emergency


AXE_WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
                  "resultTypes": ["violations"]}


def axe_clean_and_narrow(browser: Browser, page: Page, name: str, *, screenshot: str | None = None) -> None:
    """The page as shown now (a script-free page's own POST or GET), axe-clean in light and dark at 1280,
    390 and 320 px, and no sideways scrolling on a phone. axe needs script, so a second context with it (and
    the same cookies) checks the same HTML. `screenshot`: where the 390 px light view is saved, under
    SCREENSHOTS."""
    html, url = page.content(), page.url
    context = browser.new_context(storage_state=page.context.storage_state())
    other = context.new_page()
    other.set_default_timeout(8000)
    other.route(url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
    other.goto(url)
    for scheme in ("light", "dark"):
        other.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        for width in (1280, 390, 320):
            other.set_viewport_size({"width": width, "height": 900})
            violations = Axe().run(other, options=AXE_WCAG_21_AA).response["violations"]
            assert not violations, f"{name} {scheme} {width}px: " + "; ".join(
                f"{v['id']}: {v['help']} {v['nodes'][0]['target']}" for v in violations)
            if width < 1280:
                wide = other.evaluate("() => document.documentElement.scrollWidth")
                assert wide <= width, f"{name}: {wide} px wide on a {width} px phone ({scheme})"
            if screenshot and width == 390 and scheme == "light":
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                other.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)
    context.close()

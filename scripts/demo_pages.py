"""The demo city, running, with something on every page: shared by
screenshots.py and lighthouse.py (run either from the project's folder).

It starts `civicpost demo` in a scratch folder on free ports, waits for its
example announcement to publish, then adds through the API what the other
pages show: an announcement waiting for approval, one scheduled for later
this week, an emergency waiting, and a draft.
"""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

PASSWORD = "civicpost-demo-password"
CIVICPOST = Path(sys.executable).with_name("civicpost")
TOKEN_LINE = re.compile(r"^\s+(\S+@demo\.city)\s+(cp_\S+|\S{20,})\s*$")


@dataclass
class Demo:
    base_url: str
    tokens: dict[str, str]
    ids: dict[str, int] = field(default_factory=dict)

    def call(self, method: str, path: str, email: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.base_url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.tokens[email]}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def pages(self) -> list[tuple[str, str, str]]:
        """(name, path, who signs in: an email, or "" for nobody) for every page."""
        published, waiting = self.ids["published"], self.ids["waiting"]
        return [
            ("public-home", "/", ""),
            ("public-announcement", f"/announcements/{published}", ""),
            ("public-directory", "/directory", ""),
            ("staff-sign-in", "/staff/login", ""),
            ("dashboard", "/staff/", "comms@demo.city"),
            ("announcements", "/staff/announcements", "comms@demo.city"),
            ("draft-form", "/staff/announcements/new", "pat@demo.city"),
            ("edit-draft", f"/staff/announcements/{self.ids['draft']}/edit", "pat@demo.city"),
            ("announcement", f"/staff/announcements/{published}", "comms@demo.city"),
            ("announcement-waiting", f"/staff/announcements/{waiting}", "comms@demo.city"),
            ("reschedule", f"/staff/announcements/{self.ids['scheduled']}/reschedule", "pat@demo.city"),
            ("approvals", "/staff/approvals", "comms@demo.city"),
            ("calendar-week", "/staff/calendar", "comms@demo.city"),
            ("calendar-month", "/staff/calendar?view=month", "comms@demo.city"),
            ("media", "/staff/media", "pat@demo.city"),
            ("account", "/staff/account", "comms@demo.city"),
            ("channels", "/staff/channels", "admin@demo.city"),
            ("directory-care", "/staff/directory", "admin@demo.city"),
            ("channel", f"/staff/channels/{self.ids['channel']}", "admin@demo.city"),
            ("users", "/staff/users", "admin@demo.city"),
            ("user", f"/staff/users/{self.ids['user']}", "admin@demo.city"),
            ("departments", "/staff/departments", "admin@demo.city"),
            ("department-notifications", "/staff/departments/parks/notifications", "admin@demo.city"),
        ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_demo() -> Iterator[Demo]:
    """The demo city on 127.0.0.1, filled; stopped and removed afterwards."""
    port, sandbox_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="civicpost-pages-") as folder:
        env = {**os.environ, "CIVICPOST_LOG_LEVEL": "WARNING"}
        process = subprocess.Popen(
            [str(CIVICPOST), "demo", "--port", str(port), "--sandbox-port", str(sandbox_port)],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            tokens = _read_tokens(process)
            # Keep reading what the demo prints, or it stops when the pipe is full.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            demo = Demo(base_url=f"http://127.0.0.1:{port}", tokens=tokens)
            _wait_until_up(demo.base_url)
            _fill(demo)
            yield demo
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _read_tokens(process: subprocess.Popen) -> dict[str, str]:
    tokens: dict[str, str] = {}
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    while time.monotonic() < deadline and len(tokens) < 4:
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"civicpost demo stopped before its banner (exit {process.poll()})")
        found = TOKEN_LINE.match(line)
        if found:
            tokens[found.group(1)] = found.group(2)
    return tokens


def _wait_until_up(base_url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, urllib.error.URLError):
            urllib.request.urlopen(base_url + "/healthz", timeout=2).close()
            return
        time.sleep(0.3)
    raise SystemExit("the demo did not answer on /healthz within a minute")


def _fill(demo: Demo) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        listed = demo.call("GET", "/api/v1/announcements", "comms@demo.city")["items"]
        done = [a for a in listed if a["state"] in ("published", "failed")]
        if done:
            demo.ids["published"] = done[0]["id"]
            break
        time.sleep(0.5)
    else:
        raise SystemExit("the demo's example announcement did not publish within 90 seconds")
    # Instagram takes no post without a picture: these texts go elsewhere.
    parks = [c["id"] for c in demo.call("GET", "/api/v1/channels", "pat@demo.city")["items"]
             if c["department"] == "parks" and c["platform"] != "instagram"]
    police = [c["id"] for c in demo.call("GET", "/api/v1/channels", "sam@demo.city")["items"]
              if c["department"] == "police" and c["platform"] != "instagram"]
    text_only = parks[:5]
    waiting = demo.call("POST", "/api/v1/announcements", "pat@demo.city", {
        "department": "parks", "title": "Leaf collection starts Monday",
        "body": "Rake leaves to the curb by 7 a.m. on your collection day. Bagged leaves go out with yard waste. "
                "Map of the routes: https://demo.city/leaves #LeafSeason",
        "link": "https://demo.city/leaves", "channels": text_only})
    demo.call("POST", f"/api/v1/announcements/{waiting['id']}/submit", "pat@demo.city")
    demo.ids["waiting"] = waiting["id"]
    # Only approvers (and emergency publishers) flag an emergency: the admin writes this one, the
    # communications office decides.
    emergency = demo.call("POST", "/api/v1/announcements", "admin@demo.city", {
        "department": "police", "title": "Boil water notice for the north side",
        "body": "Until further notice, boil tap water for one minute before drinking or cooking. "
                "Bottled water at the Central Library from 2 p.m.",
        "channels": police[:3], "emergency": True})
    demo.call("POST", f"/api/v1/announcements/{emergency['id']}/submit", "admin@demo.city")
    soon = (datetime.now(UTC) + timedelta(days=2)).replace(hour=15, minute=0, second=0, microsecond=0)
    scheduled = demo.call("POST", "/api/v1/announcements", "pat@demo.city", {
        "department": "parks", "title": "Holiday lights in Riverside Park", "publish_at": soon.isoformat(),
        "body": "The holiday lights go on at 5 p.m. with music by the school choirs. Free, all ages.",
        "channels": text_only})
    demo.call("POST", f"/api/v1/announcements/{scheduled['id']}/submit", "pat@demo.city")
    reviewed = demo.call("GET", f"/api/v1/announcements/{scheduled['id']}", "comms@demo.city")
    demo.call("POST", f"/api/v1/announcements/{scheduled['id']}/approve", "comms@demo.city",
              {"fingerprint": reviewed["fingerprint"]})
    demo.ids["scheduled"] = scheduled["id"]
    draft = demo.call("POST", "/api/v1/announcements", "pat@demo.city", {
        "department": "parks", "title": "Pool hours for the winter",
        "body": "From January the indoor pool opens at 6 a.m. on weekdays.", "channels": text_only[:2]})
    demo.ids["draft"] = draft["id"]
    demo.ids["channel"] = parks[0]
    people = demo.call("GET", "/api/v1/users", "admin@demo.city")["items"]
    demo.ids["user"] = next(p["id"] for p in people if p["email"] == "pat@demo.city")


def sign_in(page, base_url: str, email: str) -> None:
    """Sign `page`'s browser context in as `email` through the sign-in form."""
    page.goto(base_url + "/staff/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        for folder in os.environ.get("PATH", "").split(os.pathsep):
            candidate = Path(folder) / name
            if candidate.exists():
                return str(candidate)
    raise SystemExit("Chromium not found: apt-get install chromium")

"""`civicpost demo`: seeded departments, people and sandbox channels, then the
service with its worker, so a newcomer sees a post (with a picture, which
Instagram needs) go from draft to every platform the sandbox plays in a
minute with no credentials at all."""

import io
import json
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import accounts, channels
from civicpost.config import Settings
from civicpost.db import make_engine, make_sessionmaker, transaction, utcnow
from civicpost.models import Announcement, Department, Role, Subscriber, Subscription, Topic
from civicpost.platforms import SPECS
from civicpost.security import CredentialBox
from civicpost.subscribers import consent
from civicpost.subscribers.crypto import SubscriberBox

PASSWORD = "civicpost-demo-password"
PEOPLE = [
    ("admin@demo.city", "Ada Admin", Role.admin, []),
    ("pat@demo.city", "Pat Parks", Role.staff, ["parks"]),
    ("sam@demo.city", "Sam Safety", Role.staff, ["police"]),
    ("comms@demo.city", "Casey Comms", Role.approver, []),
]
# What each demo person is there to show, for the banner.
DOES = {
    "admin@demo.city": "manages departments, people and channels",
    "pat@demo.city": "drafts for Parks and Recreation",
    "sam@demo.city": "drafts for the Police Department",
    "comms@demo.city": "approves for every department (the communications office)",
}
EXAMPLE_TITLE = "Elm Street pool opens Saturday"
# Fictional numbers (555-01xx) of residents who follow Parks by text.
DEMO_NUMBERS = ["+15550100101", "+15550100102", "+15550100103"]


@dataclass
class Seeded:
    tokens: dict[str, str]
    parks_channels: list[int]
    example_posted: bool = False


def start_clean(settings: Settings) -> None:
    """Remove what an earlier demo left (its SQLite database and images), so
    every run shows the same city and posts its example once."""
    from civicpost.backup import sqlite_path

    path = sqlite_path(settings.database_url)
    if path is not None:
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    media = Path(settings.media_dir)
    if media.is_dir():
        for image in media.iterdir():
            if image.is_file():
                image.unlink()


def seed(settings: Settings, *, sandbox_url: str) -> Seeded:
    """Fill an empty database with the demo city; returns a token per person."""
    sessions = make_sessionmaker(make_engine(settings.database_url))
    box = CredentialBox(settings.fernet_key())
    with transaction(sessions) as session:
        if session.scalar(select(Department.id).limit(1)) is None:
            for slug, name in (("parks", "Parks and Recreation"), ("police", "Police Department")):
                accounts.create_department(session, actor=None, slug=slug, name=name)
            for email, name, role, departments in PEOPLE:
                accounts.create_user(session, actor=None, email=email, name=name, role=role,
                                     departments=departments, password=PASSWORD)
            for slug in ("parks", "police"):
                department = accounts.department_by_slug(session, slug)
                for spec in SPECS.values():
                    if spec.capabilities.city_site:
                        credentials, settings_ = {}, {}
                        name = f"{department.name} on the city website"
                    elif spec.sandbox is not None:
                        # Every platform the sandbox plays; `web_base` (where a platform has one)
                        # makes "view the post" open the sandbox's own page of it.
                        credentials, settings_ = spec.sandbox.credentials(slug), spec.sandbox.settings(sandbox_url)
                        name = f"{department.name} on {spec.label} (sandbox)"
                    else:
                        continue
                    channels.create_channel(session, actor=None, box=box, department=department, platform=spec.name,
                                            name=name, language="en", credentials=credentials, settings=settings_)
                # Residents too: the department's subscribers, texted through the sandbox's SMS provider
                # (no mail server in the demo, so their email rows show as skipped).
                channels.create_channel(session, actor=None, box=box, department=department, platform="subscribers",
                                        name=f"{department.name} residents (texts through the sandbox)",
                                        language="en", credentials={}, settings={"topics": [slug], "sms": True})
            add_residents(session, SubscriberBox(settings.fernet_key()), topic="parks", numbers=DEMO_NUMBERS)
        tokens = {email: accounts.create_token(session, user=accounts.user_by_email(session, email), name="demo")
                  for email, *_ in PEOPLE}
        parks = accounts.department_by_slug(session, "parks")
        parks_channels = [c.id for c in channels.list_channels(session, department_id=parks.id)]
        posted = session.scalar(select(Announcement.id).where(Announcement.title == EXAMPLE_TITLE).limit(1))
    return Seeded(tokens=tokens, parks_channels=parks_channels, example_posted=posted is not None)


def add_residents(session: Session, box: SubscriberBox, *, topic: str, numbers: list[str]) -> None:
    """Residents who confirmed their numbers (as if they had answered YES), subscribed to `topic`."""
    topic_id = session.scalar(select(Topic.id).where(Topic.slug == topic))
    for number in numbers:
        resident = Subscriber(phone_encrypted=box.seal(number), phone_digest=box.digest(number),
                              phone_confirmed_at=utcnow(), link_nonce=secrets.token_urlsafe(24))
        session.add(resident)
        session.flush()
        session.add(Subscription(subscriber_id=resident.id, topic_id=topic_id))
        consent.record(session, resident, action="import", source="import: civicpost demo", ip=None)


def banner(*, port: int, sandbox_url: str, seeded: Seeded, kept: bool) -> str:
    """What a newcomer needs to look around: where things are and who to sign in as."""
    people = "\n".join(
        f"    {email:<17} {role:<9} {name}: {DOES[email]}" for email, name, role, _ in PEOPLE
    )
    tokens = "\n".join(f"    {email:<17} {token}" for email, token in seeded.tokens.items())
    start = ("continued from the last run (--keep)" if kept
             else "started clean: each run begins with the same city (--keep continues the last one)")
    return f"""
civicpost demo, {start}
  staff pages  http://127.0.0.1:{port}/staff/
  public site  http://127.0.0.1:{port}/            (the city's announcements page, directory and feeds)
  API docs     http://127.0.0.1:{port}/docs
  sandbox      {sandbox_url}/            (what each fake platform received; "view the post" links open there)
  residents    http://127.0.0.1:{port}/subscribe  ({len(DEMO_NUMBERS)} demo numbers follow Parks by text:
               the texts appear in the sandbox; the approver sees their cost before approving)

  Sign in as (password {PASSWORD} for everyone):
{people}

  API tokens (Authorization: Bearer ...):
{tokens}
"""


def walk_through(base_url: str, seeded: Seeded, *, wait_seconds: float = 60) -> dict:
    """Draft, submit and approve one announcement through the API, then wait for it."""

    def call(method: str, path: str, email: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            base_url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {seeded.tokens[email]}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    # A picture, so platforms that take no post without one (Instagram) get the example too.
    image = upload_picture(base_url, seeded.tokens["pat@demo.city"])
    draft = call("POST", "/api/v1/announcements", "pat@demo.city", {
        "department": "parks",
        "title": EXAMPLE_TITLE,
        "body": "The Elm Street pool opens for the season on Saturday at 9 a.m. Lifeguards are on duty until 7 p.m.",
        "link": "https://demo.city/parks/pools",
        "channels": seeded.parks_channels,
        "media": [{"id": image, "alt_text": PICTURE_ALT}],
    })
    call("POST", f"/api/v1/announcements/{draft['id']}/submit", "pat@demo.city")
    # The approver approves what they read: the fingerprint of the version shown to them.
    reviewed = call("GET", f"/api/v1/announcements/{draft['id']}", "comms@demo.city")
    call("POST", f"/api/v1/announcements/{draft['id']}/approve", "comms@demo.city",
         {"fingerprint": reviewed["fingerprint"]})
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        got = call("GET", f"/api/v1/announcements/{draft['id']}", "comms@demo.city")
        if got["state"] in ("published", "failed"):
            return got
        time.sleep(0.5)
    return call("GET", f"/api/v1/announcements/{draft['id']}", "comms@demo.city")


PICTURE_ALT = "Drawing of an outdoor pool with four lanes, empty and ready, under a clear sky"


def upload_picture(base_url: str, token: str) -> str:
    """Draw the example's picture and upload it through the API; answers its media id."""
    import httpx
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (1080, 1080), (135, 200, 235))
    pen = ImageDraw.Draw(picture)
    pen.rectangle((90, 420, 990, 990), fill=(40, 130, 200), outline=(240, 240, 240), width=24)
    for lane in range(1, 4):
        y = 420 + lane * 142
        pen.line((130, y, 950, y), fill=(250, 215, 60), width=8)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    answer = httpx.post(f"{base_url}/api/v1/media", headers={"Authorization": f"Bearer {token}"},
                        files={"file": ("pool.jpg", out.getvalue(), "image/jpeg")}, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["id"])


def start_walk_through_later(base_url: str, seeded: Seeded, echo) -> None:
    def run() -> None:
        for _ in range(100):
            try:
                urllib.request.urlopen(base_url + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        result = walk_through(base_url, seeded)
        echo(f"\nThe example announcement is {result['state']}:")
        for d in result["deliveries"]:
            echo(f"  {d['platform']:<9} {d['status']:<10} {d['remote_url'] or d['last_error'] or ''}")

    threading.Thread(target=run, name="demo-walk-through", daemon=True).start()

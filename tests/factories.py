"""Test data, made the way the city makes it.

People and departments go through the account services (there is no API to
make the first admin); channels, announcements and media through the API, so
every row passes the validation a request does. Only what the engine writes
(a delivery's outcome) is written to the database directly.

`create_*` functions store something and return what a test needs of it;
`make_*` functions return a value (a picture, a post) and store nothing.
"""

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from civicpost import accounts
from civicpost.db import transaction
from civicpost.models import Announcement, Delivery, DeliveryStatus, Department, Role, State, TrackedLink
from civicpost.platforms import Outgoing, spec

PASSWORD = "correct horse battery staple"
# Where a channel points when nothing should answer it: the discard port.
NOWHERE = "http://127.0.0.1:9"
HOOK_SECRET = "hook-secret-value"
POOL = {
    "department": "parks",
    "title": "Pool opens Saturday",
    "body": "The Elm Street pool opens Saturday at 9 a.m. Lifeguards on duty all day.",
}


@dataclass
class Person:
    id: int
    email: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class City:
    admin: Person
    parks_staff: Person
    police_staff: Person
    approver: Person
    parks_channels: list[int]
    police_channels: list[int]


def create_department(sessions: sessionmaker[Session], slug: str, name: str | None = None) -> None:
    with transaction(sessions) as session:
        accounts.create_department(session, actor=None, slug=slug, name=name or slug.title())


def create_person(
    sessions: sessionmaker[Session], role: Role | str = Role.staff, departments: tuple[str, ...] = (),
    email: str | None = None,
) -> Person:
    """A user who signs in with PASSWORD and calls the API with a token of their own."""
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@city.example"
    with transaction(sessions) as session:
        user = accounts.create_user(
            session, actor=None, email=email, name=email.split("@")[0], role=Role(role),
            departments=list(departments), password=PASSWORD,
        )
        token = accounts.create_token(session, user=user)
        return Person(user.id, user.email, token)


def channel_fields(platform: str, *, department: str = "parks", base: str = NOWHERE) -> tuple[dict, dict]:
    """Valid credentials and settings for a channel of `platform` whose
    platform (or the sandbox standing in for it) answers at `base`."""
    chosen = spec(platform)
    if chosen.sandbox is not None:
        return chosen.sandbox.credentials(department), chosen.sandbox.settings(base)
    if platform == "webhook":
        return {"secret": HOOK_SECRET}, {"url": f"{base}/hook"}
    if platform == "email":
        host, _, port = base.removeprefix("http://").partition(":")
        return {}, {"smtp_host": host, "smtp_port": int(port or 25), "from": "news@city.example",
                    "to": ["residents@city.example"]}
    return {}, {}


def create_channel(
    client: TestClient, admin: Person, platform: str = "feed", *, department: str = "parks", name: str | None = None,
    base: str = NOWHERE, credentials: dict | None = None, settings: dict | None = None,
) -> int:
    """A channel made through the API; credentials and settings not given come from channel_fields."""
    default_credentials, default_settings = channel_fields(platform, department=department, base=base)
    r = client.post("/api/v1/channels", headers=admin.auth, json={
        "department": department, "platform": platform,
        "name": name or f"{department.title()} on {spec(platform).label}",
        "credentials": default_credentials if credentials is None else credentials,
        "settings": default_settings if settings is None else settings,
    })
    assert r.status_code == 201, r.text
    return r.json()["id"]


def create_city(client: TestClient, sessions: sessionmaker[Session]) -> City:
    """Two departments, a staff member in each, an approver, an admin, and a
    feed and a webhook channel for each department."""
    create_department(sessions, "parks", "Parks and Recreation")
    create_department(sessions, "police", "Police Department")
    admin = create_person(sessions, Role.admin, email="admin@city.example")
    parks = create_person(sessions, Role.staff, ("parks",), email="pat@city.example")
    police = create_person(sessions, Role.staff, ("police",), email="sam@city.example")
    approver = create_person(sessions, Role.approver, email="comms@city.example")
    channels = {
        department: [
            create_channel(client, admin, "feed", department=department, name=f"{department} City website"),
            create_channel(client, admin, "webhook", department=department, name=f"{department} Partner hook"),
        ]
        for department in ("parks", "police")
    }
    return City(admin, parks, police, approver, channels["parks"], channels["police"])


def create_draft(client: TestClient, author: Person, **fields: Any) -> dict:
    """A draft of the pool announcement (a Parks one unless `fields` say otherwise); its JSON."""
    r = client.post("/api/v1/announcements", headers=author.auth, json={**POOL, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def grant_emergency_publisher(client: TestClient, admin: Person, person: Person) -> None:
    """Let `person` flag emergencies and publish one alone, granted by an admin through the API."""
    r = client.patch(f"/api/v1/users/{person.id}", headers=admin.auth, json={"emergency_publisher": True})
    assert r.status_code == 200, r.text


def create_submitted(client: TestClient, city: City, **fields: Any) -> dict:
    """An announcement by Parks staff (on Parks' channels unless `fields` name
    others) sent for approval; the JSON of the submit, fingerprint included.
    For an emergency, the Parks staff member is made an emergency publisher
    first: ordinary staff may not flag one."""
    if fields.get("emergency"):
        grant_emergency_publisher(client, city.admin, city.parks_staff)
    a = create_draft(client, city.parks_staff, **{"channels": city.parks_channels, **fields})
    r = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    assert r.status_code == 200, r.text
    return r.json()


def create_approved(client: TestClient, city: City, **fields: Any) -> dict:
    """An announcement submitted as create_submitted does and approved by the
    approver; the JSON of the approval, deliveries included."""
    a = create_submitted(client, city, **fields)
    r = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                    json={"fingerprint": a["fingerprint"]})
    assert r.status_code == 200, r.text
    return r.json()


def set_outcome(
    sessions: sessionmaker[Session], announcement_id: int, state: State, status: DeliveryStatus, **delivery_fields: Any,
) -> list[int]:
    """Write what the engine would have: the announcement's state and every
    delivery's status (and other fields); the deliveries' ids."""
    with transaction(sessions) as session:
        announcement = session.get(Announcement, announcement_id)
        assert announcement is not None, f"no announcement {announcement_id}"
        announcement.state = state
        deliveries = session.scalars(select(Delivery).where(Delivery.announcement_id == announcement_id)).all()
        for delivery in deliveries:
            delivery.status = status
            for name, value in delivery_fields.items():
                setattr(delivery, name, value)
        return [delivery.id for delivery in deliveries]


def create_dated(
    sessions: sessionmaker[Session], city: City, title: str, *, department: str = "parks",
    state: State = State.scheduled, publish_at: datetime | None = None, approved_at: datetime | None = None,
    published_at: datetime | None = None,
) -> int:
    """An announcement by the department's staff member as the workflow (and,
    with `published_at`, the engine on the department's first channel) left
    it at dates the API no longer accepts: publish times in the past. Its id."""
    author = city.parks_staff if department == "parks" else city.police_staff
    with transaction(sessions) as session:
        owner = session.scalar(select(Department).where(Department.slug == department))
        assert owner is not None, f"no department {department}"
        announcement = Announcement(department_id=owner.id, author_id=author.id, title=title, body="Body.",
                                    state=state, publish_at=publish_at, approved_at=approved_at or publish_at)
        session.add(announcement)
        session.flush()
        announcement_id = announcement.id
    if published_at is not None:
        channel = (city.parks_channels if department == "parks" else city.police_channels)[0]
        create_deliveries(sessions, channel_id=channel, announcement_id=announcement_id, count=1,
                          status=DeliveryStatus.published, at=published_at)
    return announcement_id


def create_deliveries(
    sessions: sessionmaker[Session], *, channel_id: int, announcement_id: int, count: int, status: DeliveryStatus,
    at: datetime, remote_url: str | None = None,
) -> None:
    """`count` deliveries of one announcement to one channel, as the engine
    leaves them: published at `at` (the post at `remote_url`), or (not
    published) due at `at`."""
    published = status in (DeliveryStatus.published, DeliveryStatus.retracted)
    with transaction(sessions) as session:
        session.add_all(Delivery(
            key=str(uuid.uuid4()), announcement_id=announcement_id, channel_id=channel_id, status=status,
            fingerprint="f" * 64, rendition={}, due_at=at, next_attempt_at=at,
            published_at=at if published else None, remote_url=remote_url) for _ in range(count))


def create_media(
    client: TestClient, person: Person, data: bytes | None = None, *, filename: str = "photo.png",
    mime_type: str = "image/png", **form: str,
) -> Response:
    """POST an image (a small PNG unless `data` is given) to the media API; the response."""
    return client.post("/api/v1/media", headers=person.auth, data=form,
                       files={"file": (filename, data or make_png(), mime_type)})


def make_png(colour: tuple[int, int, int] = (30, 120, 200), size: tuple[int, int] = (48, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def make_jpeg(colour: tuple[int, int, int] = (30, 120, 200), size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


OUTGOING_KEY = "6f1c2e7a-3b4d-4e5f-9a0b-1c2d3e4f5a6b"
OUTGOING_CREATED = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def make_outgoing(**changes: Any) -> Outgoing:
    """The post an adapter is handed: the pools announcement, rendered."""
    values: dict[str, Any] = {
        "key": OUTGOING_KEY,
        "text": "Pools open Saturday at 10am. Details: https://city.example/pools #SummerInTheCity",
        "title": "Pools open",
        "created_at": OUTGOING_CREATED,
    }
    values.update(changes)
    return Outgoing(**values)


def create_written(
    sessions: sessionmaker[Session], city: City, titles: list[str], *, department: str = "parks",
    body: str = "Body.", created_at: datetime | None = None,
) -> list[int]:
    """Drafts by the department's staff member stored straight in the database
    (fast, for long lists), written at `created_at` if given; their ids, in order."""
    author = city.parks_staff if department == "parks" else city.police_staff
    with transaction(sessions) as session:
        owner = session.scalar(select(Department).where(Department.slug == department))
        assert owner is not None, f"no department {department}"
        rows = [Announcement(department_id=owner.id, author_id=author.id, title=title, body=body,
                             **({"created_at": created_at} if created_at else {})) for title in titles]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def create_department_hook(sessions: sessionmaker[Session], settings: Any, department: str, url: str) -> None:
    """A department's Slack or Teams hook, set as an admin sets it on the department's page."""
    from civicpost.models import User
    from civicpost.notifications import hooks
    from civicpost.security import CredentialBox

    with transaction(sessions) as session:
        owner = session.scalar(select(Department).where(Department.slug == department))
        assert owner is not None, f"no department {department}"
        admin = session.scalar(select(User).where(User.role == Role.admin))
        assert admin is not None, "make an admin first"
        hooks.set_hook(session, actor=admin, department=owner, url=url, box=CredentialBox(settings.fernet_key()),
                       allow_private_network=True)


def create_published_post(
    sessions: sessionmaker[Session], city: City, *, channel_id: int, remote_id: str, published_at: datetime,
    department: str = "parks",
) -> int:
    """A published announcement of the department whose one post on the channel
    is `remote_id`, as the engine leaves it; the delivery's id."""
    announcement_id = create_dated(sessions, city, f"Post {remote_id[-12:]}", department=department,
                                   state=State.published, publish_at=published_at)
    with transaction(sessions) as session:
        delivery = Delivery(key=str(uuid.uuid4()), announcement_id=announcement_id, channel_id=channel_id,
                            status=DeliveryStatus.published, fingerprint="f" * 64, rendition={},
                            due_at=published_at, next_attempt_at=published_at, published_at=published_at,
                            remote_id=remote_id)
        session.add(delivery)
        session.flush()
        return delivery.id


def create_tracked_link(sessions: sessionmaker[Session], *, delivery_id: int, clicks: int) -> str:
    """The delivery's announcement link as its channel sent it (`/r/{code}`), followed `clicks` times; the code."""
    with transaction(sessions) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        code = uuid.uuid4().hex[:12]
        session.add(TrackedLink(code=code, announcement_id=delivery.announcement_id, channel_id=delivery.channel_id,
                                url="https://city.example/pools", clicks=clicks))
        return code


def create_engagement(
    sessions: sessionmaker[Session], city: City, *, published_at: datetime, engagement: int,
    department: str = "parks", channel_id: int | None = None, title: str = "Pool opens Saturday",
    followers: int | None = None, views: int | None = None, zone: str = "America/New_York",
) -> int:
    """A published announcement on one of the department's channels (its first
    unless `channel_id`) by its staff member, with the engagement summary the
    collector keeps (see create_post_engagement). The announcement's id."""
    author = city.parks_staff if department == "parks" else city.police_staff
    channel_id = channel_id or (city.parks_channels if department == "parks" else city.police_channels)[0]
    return create_post_engagement(sessions, author_id=author.id, channel_id=channel_id, published_at=published_at,
                                  engagement=engagement, title=title, followers=followers, views=views, zone=zone)


def create_post_engagement(
    sessions: sessionmaker[Session], *, author_id: int, channel_id: int, published_at: datetime, engagement: int,
    title: str = "Pool opens Saturday", followers: int | None = None, views: int | None = None,
    zone: str = "America/New_York",
) -> int:
    """A published announcement of the channel's department, its delivery, and
    the post's engagement summary as the collector writes it: weekday and hour
    in `zone`, the city's. The announcement's id."""
    from zoneinfo import ZoneInfo

    from civicpost.insights import rollup
    from civicpost.models import Channel
    from civicpost.models.metrics import PostEngagement

    local = published_at.astimezone(ZoneInfo(zone))
    with transaction(sessions) as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None, f"no channel {channel_id}"
        announcement = Announcement(department_id=channel.department_id, author_id=author_id, title=title,
                                    body="Body.", state=State.published, publish_at=published_at,
                                    approved_at=published_at)
        session.add(announcement)
        session.flush()
        delivery = Delivery(key=str(uuid.uuid4()), announcement_id=announcement.id, channel_id=channel_id,
                            status=DeliveryStatus.published, fingerprint="f" * 64, rendition={},
                            due_at=published_at, next_attempt_at=published_at, published_at=published_at)
        session.add(delivery)
        session.flush()
        session.add(PostEngagement(
            delivery_id=delivery.id, announcement_id=announcement.id, department_id=channel.department_id,
            channel_id=channel_id, platform=channel.platform, published_at=published_at, weekday=local.weekday(),
            hour=local.hour, engagement=engagement, views=views, followers=followers, stage="24h",
        ))
        rollup.apply(session, added=[rollup.Counted(channel.department_id, channel.platform, published_at,
                                                    local.weekday(), local.hour, engagement, followers)])
        return announcement.id


def make_alert(**changes: Any) -> dict[str, Any]:
    """The `alert` of an emergency announcement (a water main break), ending in six hours."""
    from datetime import timedelta

    return {
        "event": "Water main break", "category": "Infra", "urgency": "Immediate", "severity": "Severe",
        "certainty": "Observed", "expires": (datetime.now(UTC) + timedelta(hours=6)).isoformat(),
        "instruction": "Boil tap water for one minute before drinking.", "area_desc": "East side, Elm to Oak Street",
        "polygon": "39.78,-89.65 39.79,-89.64 39.77,-89.63 39.78,-89.65",
        **changes,
    }


def create_published_alert(client: TestClient, city: City, sessions: sessionmaker[Session], **fields: Any) -> dict:
    """An emergency with alert details on Parks' channels, approved and published
    everywhere as the engine leaves it; the JSON of the approval."""
    a = create_approved(client, city, **{"title": "Boil water notice", "emergency": True, "alert": make_alert(),
                                         **fields})
    set_outcome(sessions, a["id"], State.published, DeliveryStatus.published, published_at=datetime.now(UTC))
    return a


def end_alert(sessions: sessionmaker[Session], announcement_id: int, at: datetime) -> None:
    """Let time pass: the announcement's alert expired at `at`."""
    with transaction(sessions) as session:
        announcement = session.get(Announcement, announcement_id)
        assert announcement is not None and announcement.alert is not None
        announcement.alert = {**announcement.alert, "expires": at.astimezone(UTC).isoformat()}


def create_post_with_replies(sandbox: str, platform: str, *, at_least: int = 1) -> str:
    """A post on the sandbox that its residents answer at least `at_least` times; its remote id."""
    from civicpost.platforms import build_adapter
    from civicpost.sandbox import replies

    credentials, settings = channel_fields(platform, base=sandbox)
    adapter = build_adapter(platform, credentials, settings, timeout=5, allow_private_network=True)
    for _ in range(40):
        text = f"Pool opens Saturday ({uuid.uuid4().hex[:8]})"
        remote_id = adapter.publish(make_outgoing(key=str(uuid.uuid4()), text=text)).remote_id
        if replies.count(platform, remote_id) >= at_least:
            return remote_id
    raise AssertionError("the sandbox gave no post with replies in 40 tries")


def create_subscribers(sessions: sessionmaker[Session], secret_key: str, topic: str, emails: list[str], *,
                       confirmed: bool = True, bounces: int = 0, mode: str = "immediate") -> list[int]:
    """Residents subscribed to `topic` (a slug) with these addresses, sealed as the subscribe form
    stores them; their ids. Written directly: the fan-out's tests need residents, not the form."""
    import secrets

    from civicpost.models import Subscriber, Subscription, Topic
    from civicpost.subscribers.crypto import SubscriberBox

    box = SubscriberBox(secret_key)
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        topic_id = session.scalar(select(Topic.id).where(Topic.slug == topic))
        assert topic_id is not None, f"no topic {topic}"
        people = [Subscriber(email_encrypted=box.seal(email), email_digest=box.digest(email.lower()),
                             email_confirmed_at=now if confirmed else None, link_nonce=secrets.token_hex(16),
                             bounces=bounces, mode=mode) for email in emails]
        session.add_all(people)
        session.flush()
        session.add_all(Subscription(subscriber_id=p.id, topic_id=topic_id) for p in people)
        return [p.id for p in people]


def create_texting_subscribers(sessions: sessionmaker[Session], secret_key: str, topic: str, phones: list[str], *,
                               confirmed: bool = True, stopped: bool = False) -> list[int]:
    """Residents subscribed to `topic` by text only, their numbers sealed as the form stores them; their ids."""
    import secrets

    from civicpost.models import Subscriber, Subscription, Topic
    from civicpost.subscribers.crypto import SubscriberBox

    box = SubscriberBox(secret_key)
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        topic_id = session.scalar(select(Topic.id).where(Topic.slug == topic))
        assert topic_id is not None, f"no topic {topic}"
        people = [Subscriber(phone_encrypted=box.seal(phone), phone_digest=box.digest(phone),
                             phone_confirmed_at=now if confirmed else None, sms_stopped_at=now if stopped else None,
                             link_nonce=secrets.token_hex(16)) for phone in phones]
        session.add_all(people)
        session.flush()
        session.add_all(Subscription(subscriber_id=p.id, topic_id=topic_id) for p in people)
        return [p.id for p in people]

"""Quiet channels and access about to lapse (SPEC §8.3): how long each channel
has been silent, whether that is stale for it, in the API and /metrics, and a
weekly mail to each department's people through a real SMTP server."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
from sqlalchemy import select, update

from civicpost.db import make_sessionmaker, transaction, utcnow
from civicpost.models import Channel, Notification
from civicpost.notifications.sender import Sender
from civicpost.notifications.weekly import queue_weekly, week_of
from tests.factories import create_dated
from tests.pages import csrf_of
from tests.platforms.servers import SmtpServer, running_smtp_server

# A Monday, 9 a.m. in New York (the test city's zone): the week's report is due.
MONDAY = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


def age(sessions, channel_id: int, *, added_days_ago: int, now: datetime = MONDAY, **fields) -> None:
    with transaction(sessions) as session:
        session.execute(update(Channel).where(Channel.id == channel_id)
                        .values(created_at=now - timedelta(days=added_days_ago), **fields))


def health(client, city, channel_id: int) -> dict:
    r = client.get(f"/api/v1/channels/{channel_id}", headers=city.admin.auth)
    assert r.status_code == 200, r.text
    return r.json()["health"]


def test_a_channel_silent_past_its_limit_is_stale_and_says_for_how_long(client, city, sessions):
    feed, hook = city.parks_channels
    now = utcnow()
    age(sessions, feed, added_days_ago=400, now=now)
    age(sessions, hook, added_days_ago=400, now=now)
    create_dated(sessions, city, "Spring fair", published_at=now - timedelta(days=45, hours=2))
    shown = health(client, city, feed)
    assert (shown["days_since_post"], shown["stale"]) == (45, True)
    # The hook never posted: it counts from the day it was added.
    assert (health(client, city, hook)["days_since_post"], health(client, city, hook)["stale"]) == (None, True)


def test_a_post_made_in_the_platforms_own_app_counts_as_a_post(client, city, sessions):
    feed = city.parks_channels[0]
    now = utcnow()
    age(sessions, feed, added_days_ago=400, now=now, last_post_seen_at=now - timedelta(days=3))
    create_dated(sessions, city, "Old news", published_at=now - timedelta(days=90))
    assert (health(client, city, feed)["days_since_post"], health(client, city, feed)["stale"]) == (3, False)


def test_an_admin_sets_how_long_a_channel_may_be_silent(client, city, sessions):
    feed = city.parks_channels[0]
    now = utcnow()
    age(sessions, feed, added_days_ago=400, now=now)
    create_dated(sessions, city, "Recent", published_at=now - timedelta(days=10, hours=1))
    assert health(client, city, feed)["stale"] is False
    for bad in (0, -1, 100000, "soon", None):
        r = client.patch(f"/api/v1/channels/{feed}", headers=city.admin.auth, json={"stale_after_days": bad})
        assert r.status_code == (200 if bad is None else 422), bad
    r = client.patch(f"/api/v1/channels/{feed}", headers=city.admin.auth, json={"stale_after_days": 7})
    assert r.json()["stale_after_days"] == 7 and r.json()["health"]["stale"] is True


def test_metrics_give_each_channels_days_since_its_last_post(client, city, sessions):
    feed, hook = city.parks_channels
    now = utcnow()
    age(sessions, feed, added_days_ago=400, now=now)
    create_dated(sessions, city, "Spring fair", published_at=now - timedelta(days=45, hours=2))
    text = client.get("/metrics").text
    line = next(line for line in text.splitlines()
                if line.startswith("civicpost_channel_days_since_post{") and f'channel_id="{feed}"' in line)
    assert 'stale="true"' in line and 'department="Parks and Recreation"' in line
    assert line.endswith(" 45.0")


def test_the_weekly_report_is_due_from_monday_8_am_in_the_citys_zone(settings):
    zone = settings.zone
    assert week_of(datetime(2026, 11, 30, 12, 59, tzinfo=UTC), zone) is None  # 7:59 a.m. in New York
    assert week_of(datetime(2026, 11, 30, 13, 0, tzinfo=UTC), zone) == "2026-W49"
    assert week_of(datetime(2026, 12, 6, 23, 0, tzinfo=UTC), zone) == "2026-W49"  # Sunday evening


def test_each_person_hears_once_a_week_of_their_own_departments_and_admins_of_all(client, city, sessions, settings,
                                                                                 smtp, engine):
    parks_feed, parks_hook = city.parks_channels
    police_feed, police_hook = city.police_channels
    for channel in (parks_feed, parks_hook, police_feed, police_hook):
        age(sessions, channel, added_days_ago=5)
    age(sessions, parks_feed, added_days_ago=400)
    create_dated(sessions, city, "Spring fair", published_at=MONDAY - timedelta(days=45, hours=2))
    age(sessions, police_hook, added_days_ago=5, token_expires_at=MONDAY + timedelta(days=9, hours=1))
    with transaction(sessions) as session:
        assert queue_weekly(session, now=MONDAY, zone=settings.zone) == 3
    with transaction(sessions) as session:
        assert queue_weekly(session, now=MONDAY + timedelta(hours=5), zone=settings.zone) == 0  # once a week
        rows = {row.user_id: row.facts for row in session.scalars(select(Notification))}
    assert set(rows) == {city.parks_staff.id, city.police_staff.id, city.admin.id}  # the approver has no department
    assert [d["name"] for d in rows[city.parks_staff.id]["departments"]] == ["Parks and Recreation"]
    assert [d["name"] for d in rows[city.admin.id]["departments"]] == ["Parks and Recreation", "Police Department"]
    mail_settings = settings.model_copy(update={"smtp_host": smtp.host, "smtp_port": smtp.port,
                                                "smtp_starttls": False, "base_url": "https://civicpost.city.example"})
    Sender(mail_settings, make_sessionmaker(engine), name="sender").run_once()
    sent = {tuple(e.rcpt_tos): message_from_bytes(e.content) for e in smtp.behaviour.messages}
    parks = sent[(city.parks_staff.email,)].get_payload(decode=True).decode()
    assert "parks City website (feed): silent 45 days" in parks and "Police" not in parks
    police = sent[(city.police_staff.email,)]
    assert police["Subject"] == "This week: channels gone quiet and access about to expire"
    assert "police Partner hook (webhook): its access ends in 9 days" in police.get_payload(decode=True).decode()


def test_a_quiet_week_sends_nothing_and_a_person_who_unticked_it_gets_nothing(client, city, sessions, settings,
                                                                           sign_in):
    with transaction(sessions) as session:
        assert queue_weekly(session, now=MONDAY, zone=settings.zone) == 0  # every channel was added today
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/account")
    assert "quiet channels" in page.text
    r = browser.post("/staff/account/notifications", data={"csrf_token": csrf_of(page.text), "kinds": ["published"]},
                     follow_redirects=True)
    assert r.status_code == 200
    for channel in city.parks_channels + city.police_channels:
        age(sessions, channel, added_days_ago=60, now=MONDAY + timedelta(days=7))
    with transaction(sessions) as session:
        queue_weekly(session, now=MONDAY + timedelta(days=7), zone=settings.zone)
        told = {row.user_id for row in session.scalars(select(Notification))}
    assert city.parks_staff.id not in told and city.admin.id in told

"""A platform's daily limit (Instagram: 50 posts in 24 hours) is a blocking problem before approval."""

from datetime import timedelta

import pytest

from civicpost import quotas
from civicpost.db import transaction, utcnow
from civicpost.models import Channel, DeliveryStatus
from tests.factories import create_channel, create_deliveries

NOW = utcnow().replace(microsecond=0)


@pytest.fixture
def instagram(client, city) -> int:
    return create_channel(client, city.admin, "instagram", credentials={"access_token": "IGAA-token"},
                          settings={"ig_user_id": "17841405822304914"})


@pytest.fixture
def announcement(draft) -> int:
    return draft()["id"]


def add(sessions, channel_id: int, announcement_id: int, count: int, *, status=DeliveryStatus.published,
        at=NOW - timedelta(hours=1)) -> None:
    create_deliveries(sessions, channel_id=channel_id, announcement_id=announcement_id, count=count, status=status,
                      at=at)


def problems(sessions, channel_ids: list[int], *, moment=NOW, announcement_id=None):
    with transaction(sessions) as session:
        channels = [session.get(Channel, c) for c in channel_ids]
        found = quotas.daily_limit_problems(session, channels=channels, moment=moment,
                                            announcement_id=announcement_id, now=NOW)
        return list(found.values())


def test_a_channel_under_its_platforms_daily_limit_has_no_problem(sessions, instagram, announcement):
    add(sessions, instagram, announcement, 49)

    assert problems(sessions, [instagram]) == []


def test_the_post_that_would_be_the_fifty_first_in_24_hours_is_a_blocking_problem_naming_the_channel(
        sessions, instagram, announcement):
    add(sessions, instagram, announcement, 50)

    [problem] = problems(sessions, [instagram])

    assert (problem.code, problem.severity) == ("daily_limit", "error")
    assert "Instagram allows 50 posts in 24 hours" in problem.message
    assert "Parks on Instagram would have 51" in problem.message


def test_posts_older_than_a_day_and_failed_or_cancelled_ones_do_not_count(sessions, instagram, announcement):
    add(sessions, instagram, announcement, 50, at=NOW - timedelta(hours=25))
    add(sessions, instagram, announcement, 10, status=DeliveryStatus.failed)
    add(sessions, instagram, announcement, 10, status=DeliveryStatus.cancelled)

    assert problems(sessions, [instagram]) == []


def test_a_retracted_post_still_counts_because_the_platform_counted_it_when_it_was_made(
        sessions, instagram, announcement):
    add(sessions, instagram, announcement, 49)
    add(sessions, instagram, announcement, 1, status=DeliveryStatus.retracted)

    assert [p.code for p in problems(sessions, [instagram])] == ["daily_limit"]


def test_posts_on_their_way_count_by_when_they_are_due_in_any_day_around_the_new_one(
        sessions, instagram, announcement):
    add(sessions, instagram, announcement, 45)
    add(sessions, instagram, announcement, 3, status=DeliveryStatus.pending, at=NOW + timedelta(hours=2))
    add(sessions, instagram, announcement, 1, status=DeliveryStatus.retrying, at=NOW + timedelta(minutes=5))
    add(sessions, instagram, announcement, 1, status=DeliveryStatus.unknown, at=NOW - timedelta(minutes=5))

    # 45 + 5 on their way + this one: 51 within the 24 hours from an hour ago.
    assert [p.code for p in problems(sessions, [instagram])] == ["daily_limit"]


def test_one_still_waiting_long_after_its_time_counts_as_going_out_now(sessions, instagram, announcement):
    add(sessions, instagram, announcement, 49)
    add(sessions, instagram, announcement, 1, status=DeliveryStatus.pending, at=NOW - timedelta(hours=30))

    assert [p.code for p in problems(sessions, [instagram])] == ["daily_limit"]


def test_a_post_scheduled_for_after_the_busy_day_is_not_blocking(sessions, instagram, announcement):
    add(sessions, instagram, announcement, 50)

    assert problems(sessions, [instagram], moment=NOW + timedelta(hours=24)) == []


def test_the_announcements_own_earlier_deliveries_do_not_count_against_it(sessions, instagram, announcement, draft):
    other = draft()["id"]
    add(sessions, instagram, other, 49)
    add(sessions, instagram, announcement, 1)

    assert problems(sessions, [instagram], announcement_id=announcement) == []
    assert [p.code for p in problems(sessions, [instagram])] == ["daily_limit"]


def test_platforms_without_a_daily_limit_are_never_counted(sessions, city, announcement):
    feed = city.parks_channels[0]
    add(sessions, feed, announcement, 200)

    assert problems(sessions, [feed]) == []


@pytest.fixture
def threads(client, city) -> int:
    r = client.post("/api/v1/channels", headers=city.admin.auth, json={
        "department": "parks", "platform": "threads", "name": "Parks on Threads",
        "credentials": {"access_token": "THAA-token"}, "settings": {"threads_user_id": "25000000000000001"}})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def approve(client, person, announcement_id: int):
    seen = client.get(f"/api/v1/announcements/{announcement_id}", headers=person.auth).json()["fingerprint"]
    return client.post(f"/api/v1/announcements/{announcement_id}/approve", headers=person.auth,
                       json={"fingerprint": seen})


def submitted(client, city, draft, channels: list[int]) -> int:
    announcement = draft(channels=channels)["id"]
    r = client.post(f"/api/v1/announcements/{announcement}/submit", headers=city.parks_staff.auth)
    assert r.status_code == 200, r.text
    return announcement


def test_approving_an_announcement_that_would_take_a_channel_over_its_daily_limit_is_refused_naming_it(
        client, sessions, city, draft, threads):
    busy = draft()["id"]
    add(sessions, threads, busy, 250)
    announcement = submitted(client, city, draft, [threads, *city.parks_channels])

    r = approve(client, city.approver, announcement)

    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == f"renditions.{threads}"
    assert error["code"] == "daily_limit"
    assert "Parks on Threads would have 251" in error["message"]
    assert error["suggestion"] == "Publish it later, or remove this channel from the announcement."
    shown = client.get(f"/api/v1/announcements/{announcement}", headers=city.approver.auth).json()
    assert (shown["state"], shown["deliveries"]) == ("submitted", [])  # nothing half-done


def test_the_same_announcement_is_approved_once_the_busy_day_has_room(client, sessions, city, draft, threads):
    busy = draft()["id"]
    add(sessions, threads, busy, 249)
    announcement = submitted(client, city, draft, [threads])

    assert approve(client, city.approver, announcement).status_code == 200

"""Quiet channels on the staff pages (SPEC §8.3): the dashboard names each of
the person's channels that went silent or whose access is about to end, in
words beside an icon, and a channel's page shows how long it has been silent,
its limit and when its access ends."""

import re
from datetime import timedelta

from sqlalchemy import update

from civicpost.db import transaction, utcnow
from civicpost.models import Channel
from tests.factories import create_dated


def set_channel(sessions, channel_id: int, **fields) -> None:
    with transaction(sessions) as session:
        session.execute(update(Channel).where(Channel.id == channel_id).values(**fields))


def badges(html: str, kind: str) -> list[str]:
    found = re.findall(rf'<span class="badge badge-{kind}"[^>]*>(.*?)</span>', html, re.S)
    return [re.sub(r"<svg.*?</svg>", "", text, flags=re.S).strip() for text in found]


def quiet_city(sessions, city) -> None:
    now = utcnow()
    feed, hook = city.parks_channels
    set_channel(sessions, feed, name="Parks feed", created_at=now - timedelta(days=400))
    set_channel(sessions, hook, name="Parks hook", created_at=now - timedelta(days=45, hours=1))
    create_dated(sessions, city, "Spring fair", published_at=now - timedelta(days=45, hours=2))
    for channel_id in city.police_channels:
        set_channel(sessions, channel_id, created_at=now - timedelta(days=400))


def test_the_dashboard_names_each_of_my_departments_silent_channels_and_for_how_long(sessions, city, sign_in):
    quiet_city(sessions, city)
    page = sign_in(city.parks_staff).get("/staff/")
    assert page.status_code == 200
    shown = badges(page.text, "quiet")
    # The fair went out on the department's first channel only.
    assert sorted(shown) == ["Parks feed: silent 45 days", "Parks hook: never posted, added 45 days ago"]
    police = {c.name for c in _channels(sessions, city.police_channels)}
    assert not any(text.split(":")[0] in police for text in shown)
    assert 'class="icon icon-quiet"' in page.text


def test_an_admin_sees_every_departments_quiet_channels_with_a_link_to_each(sessions, city, sign_in):
    quiet_city(sessions, city)
    page = sign_in(city.admin).get("/staff/")
    names = {text.split(":")[0] for text in badges(page.text, "quiet")}
    police = {c.name for c in _channels(sessions, city.police_channels)}
    assert {"Parks feed", "Parks hook"} <= names and police <= names
    assert f'href="/staff/channels/{city.parks_channels[0]}"' in page.text


def test_a_channel_that_never_posted_says_when_it_was_added(sessions, city, sign_in):
    hook = city.parks_channels[1]
    set_channel(sessions, hook, name="Parks hook", created_at=utcnow() - timedelta(days=31, hours=1))
    assert "Parks hook: never posted, added 31 days ago" in badges(sign_in(city.parks_staff).get("/staff/").text,
                                                                    "quiet")


def test_no_channel_to_look_after_shows_no_panel(sessions, city, sign_in):
    page = sign_in(city.parks_staff).get("/staff/")
    assert page.status_code == 200
    assert "Channels to look after" not in page.text and not badges(page.text, "quiet")


def test_access_that_ends_within_two_weeks_is_on_the_dashboard(sessions, city, sign_in):
    feed = city.parks_channels[0]
    set_channel(sessions, feed, name="Parks feed", token_expires_at=utcnow() + timedelta(days=9, hours=1))
    assert badges(sign_in(city.parks_staff).get("/staff/").text, "expiring") == ["Parks feed: access ends in 9 days"]


def test_the_channel_page_shows_days_since_the_last_post_its_limit_and_when_access_ends(sessions, city, sign_in):
    feed = city.parks_channels[0]
    now = utcnow()
    set_channel(sessions, feed, name="Parks feed", created_at=now - timedelta(days=400), stale_after_days=14,
                last_post_seen_at=now - timedelta(days=20, hours=1), token_expires_at=now + timedelta(days=3, hours=1))
    page = sign_in(city.admin).get(f"/staff/channels/{feed}")
    assert page.status_code == 200
    text = re.sub(r"<[^>]+>", " ", page.text)
    text = re.sub(r"\s+", " ", text)
    assert "Last post 20 days ago" in text and "Parks feed: silent 20 days" in text
    assert "Silent for too long after 14 days" in text
    assert "Parks feed: access ends in 3 days" in text


def test_a_channel_page_says_when_the_platform_does_not_tell_when_access_ends(sessions, city, sign_in):
    page = sign_in(city.admin).get(f"/staff/channels/{city.parks_channels[0]}")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "Access ends the platform does not say" in text


def _channels(sessions, ids: list[int]) -> list[Channel]:
    with sessions() as session:
        return [c for c in (session.get(Channel, i) for i in ids) if c is not None]


def test_the_admins_list_of_channels_says_which_have_gone_quiet(client, city, sessions, sign_in):
    feed, hook = city.parks_channels
    with transaction(sessions) as session:
        session.execute(update(Channel).where(Channel.id == feed).values(created_at=utcnow() - timedelta(days=50)))
    page = sign_in(city.admin).get("/staff/channels").text
    row = page[page.index(f'href="/staff/channels/{feed}"'):]
    row = row[:row.index("</tr>")]
    assert "never posted, added 50 days ago" in row
    other = page[page.index(f'href="/staff/channels/{hook}"'):]
    assert '<td data-label="Last post">never posted, added today</td>' in other[:other.index("</tr>")]


def test_the_staff_directory_shows_each_listed_account_with_what_keeps_it_current(sessions, city, sign_in):
    quiet_city(sessions, city)
    feed, hook = city.parks_channels
    set_channel(sessions, feed, token_expires_at=utcnow() + timedelta(days=3, hours=1))
    page = sign_in(city.admin).get("/staff/directory")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    # The city's own site is listed (the feed); a webhook is plumbing, not an account residents follow.
    assert "Parks feed" in text and "Parks hook" not in text
    assert badges(page.text, "quiet") == ["Parks feed: silent 45 days", "police City website: never posted, added 400 days ago"]
    assert badges(page.text, "expiring") == ["Parks feed: access ends in 3 days"]
    assert "Website:" in text and "Atom feed:" in text
    assert f'href="/staff/channels/{feed}"' in page.text
    assert "2 accounts need care." in text


def test_staff_see_only_their_departments_accounts_and_no_links_to_admin_pages(sessions, city, sign_in):
    police_feed = city.police_channels[0]
    set_channel(sessions, police_feed, name="Police feed")
    set_channel(sessions, city.parks_channels[0], name="Parks feed")
    page = sign_in(city.parks_staff).get("/staff/directory").text
    assert "Parks feed" in page and "Police feed" not in page
    assert "/staff/channels/" not in page
    assert "Every listed account is current." in page


def test_a_retired_account_is_named_apart_as_no_longer_on_the_public_list(sessions, city, sign_in):
    set_channel(sessions, city.parks_channels[0], name="Old parks feed", active=False)
    page = sign_in(city.admin).get("/staff/directory").text
    retired = page[page.index("Retired: not on the public list"):]
    assert "Old parks feed" in retired

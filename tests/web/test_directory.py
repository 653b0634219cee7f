"""The public directory of official accounts: per department, with links, printable, with a QR code."""

import io
import re
import xml.etree.ElementTree as ET

import pytest
import segno

from civicpost.db import transaction, utcnow
from civicpost.models import Channel, DeliveryStatus, State
from civicpost.web.directory import profile_url
from tests.factories import create_channel, create_dated, create_deliveries

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def accounts_of_the_city(client, sessions, city):
    """Social channels for Parks and Police, some with a published post to learn the profile from."""
    made = {
        key: create_channel(client, city.admin, platform, department=department, name=name, credentials=creds,
                            settings=settings)
        for key, department, platform, name, creds, settings in (
            ("masto", "parks", "mastodon", "Parks on Mastodon", {"access_token": "t"},
             {"api_base": "https://social.example"}),
            ("bsky", "parks", "bluesky", "Parks on Bluesky", {"handle": "parks.city.example", "app_password": "p"}, {}),
            ("x", "police", "x", "Police on X", {"oauth2_access_token": "t"}, {}),
            ("fb", "police", "facebook", "Police on Facebook", {"page_access_token": "t"}, {"page_id": "1234567"}),
            ("quiet", "police", "mastodon", "Police on Mastodon", {"access_token": "t"},
             {"api_base": "https://social.example"}),
            ("gone", "parks", "x", "Old Parks account", {"oauth2_access_token": "t"}, {}),
        )
    }
    with transaction(sessions) as session:  # retired (no page or API retires a channel yet)
        session.get(Channel, made["gone"]).active = False
    post = create_dated(sessions, city, "T", state=State.published)
    for key, url in (("masto", "https://social.example/@parks/1130"),
                     ("bsky", "https://bsky.app/profile/parks.city.example/post/3kabc"),
                     ("x", "https://x.com/CityPolice/status/1799")):
        create_deliveries(sessions, channel_id=made[key], announcement_id=post, count=1,
                          status=DeliveryStatus.published, at=utcnow(), remote_url=url)
    return made


def reference_svg(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="svg", scale=4, border=4)
    return out.getvalue()


def modules(svg: bytes) -> str:
    """The dark modules' path: the code itself, whatever the size and colours."""
    paths = [p.get("d") for p in ET.fromstring(svg).iter(f"{SVG}path") if p.get("class") == "qrline"]
    assert len(paths) == 1
    return paths[0]


def section(html: str, heading: str) -> str:
    match = re.search(rf"<h2 id=\"dept-\d+\">{re.escape(heading)}</h2>.*?</section>", html, re.S)
    assert match, f"no section for {heading}"
    return match.group(0)


def test_the_directory_lists_each_departments_public_accounts_with_profile_links(client, accounts_of_the_city):
    page = client.get("/directory")
    assert page.status_code == 200
    parks, police = section(page.text, "Parks and Recreation"), section(page.text, "Police Department")
    assert "Parks on Mastodon" in parks and 'href="https://social.example/@parks"' in parks
    assert 'href="https://bsky.app/profile/parks.city.example"' in parks
    assert 'href="https://x.com/CityPolice"' in police
    assert 'href="https://www.facebook.com/1234567"' in police
    quiet = re.search(r"Mastodon:</span> Police on Mastodon(.*?)</li>", police, re.S).group(1)
    assert "href" not in quiet  # nothing published yet: named, but no guessed link
    assert "Police on Mastodon" not in parks and "Parks on Bluesky" not in police


def test_the_profile_comes_from_the_newest_published_post_never_from_one_that_did_not_go_out(
        client, sessions, city, accounts_of_the_city):
    """The X account was renamed: its newest published post says so; a newer failed or retracted one
    (their URLs were never, or are no longer, the account's) does not count."""
    post = create_dated(sessions, city, "T", state=State.published)
    for status, url in ((DeliveryStatus.published, "https://x.com/CityPoliceOld/status/1"),
                        (DeliveryStatus.published, "https://x.com/CityPoliceNew/status/2"),
                        (DeliveryStatus.failed, "https://x.com/Somebody/status/3"),
                        (DeliveryStatus.retracted, "https://x.com/Else/status/4")):
        create_deliveries(sessions, channel_id=accounts_of_the_city["x"], announcement_id=post, count=1,
                          status=status, at=utcnow(), remote_url=url)
    police = section(client.get("/directory").text, "Police Department")
    assert 'href="https://x.com/CityPoliceNew"' in police
    assert "CityPoliceOld" not in police and "Somebody" not in police and "Else" not in police


def test_the_city_feed_links_to_the_site_and_the_atom_feed_and_plumbing_is_left_out(client, accounts_of_the_city, settings):
    page = client.get("/directory").text
    parks = section(page, "Parks and Recreation")
    assert f'href="{settings.base_url}/"' in parks and f'href="{settings.base_url}/feed.atom"' in parks
    assert "Partner hook" not in page  # webhooks are not accounts residents follow
    assert "Old Parks account" not in page  # inactive channels are not official any more


def test_profile_links_come_only_from_addresses_that_reveal_the_account():
    assert profile_url("x", {}, "https://x.com/i/web/status/1799") is None  # what the X adapter records
    assert profile_url("mastodon", {}, "javascript:alert(1)//@a/1") is None
    assert profile_url("mastodon", {}, "https://social.example/@parks/1130") == "https://social.example/@parks"
    assert profile_url("facebook", {}, "https://www.facebook.com/99/posts/12") == "https://www.facebook.com/99"
    assert profile_url("bluesky", {}, None) is None


def test_the_directory_has_a_qr_code_that_encodes_its_own_address(client, settings):
    expected = settings.base_url.rstrip("/") + "/directory"
    page = client.get("/directory").text
    img = re.search(r'<img src="/directory/qr.svg"[^>]*>', page).group(0)
    assert f'alt="QR code that opens this list at {expected}"' in img
    r = client.get("/directory/qr.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.content)
    assert root.tag == f"{SVG}svg"
    assert modules(r.content) == modules(reference_svg(expected))
    assert modules(r.content) != modules(reference_svg(expected + "x"))


def test_the_directory_prints_cleanly(client):
    page = client.get("/directory").text
    assert '<link rel="stylesheet" href="/static/directory.css">' in page
    css = client.get("/static/directory.css").text
    printed = css[css.index("@media print"):]
    assert ".site-header nav" in printed and "display: none" in printed and "break-inside: avoid" in printed
    assert "Printed from" in page

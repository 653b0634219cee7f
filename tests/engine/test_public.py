"""The built-in feed: the public page, Atom and JSON Feed show published announcements."""

import xml.etree.ElementTree as ET

from tests.engine.observing import state_of, wait_for
from tests.factories import create_approved, create_channel

ATOM = "{http://www.w3.org/2005/Atom}"


def publish(client, city, worker_factory, **body) -> dict:
    a = create_approved(client, city, channels=[city.parks_channels[0]], **body)
    worker_factory().start()
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    return a


def test_a_published_announcement_is_on_the_public_page_atom_and_json_feed(client, city, worker_factory):
    a = publish(client, city, worker_factory, title="Leaf pickup starts Monday", body="Rake leaves to the curb.\n\nPickup runs two weeks.",
                translations={"es": {"title": "Recogida de hojas", "body": "Rastrille las hojas."}})
    home = client.get("/", headers={"accept": "text/html"})
    assert home.status_code == 200 and "Leaf pickup starts Monday" in home.text
    page = client.get(f"/announcements/{a['id']}")
    assert page.status_code == 200
    assert "<p>Pickup runs two weeks.</p>" in page.text and 'href="?lang=es"' in page.text
    spanish = client.get(f"/announcements/{a['id']}?lang=es")
    assert "Recogida de hojas" in spanish.text and 'lang="es"' in spanish.text
    root = ET.fromstring(client.get("/feed.atom").content)
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Leaf pickup starts Monday"]
    assert entries[0].find(f"{ATOM}link").get("href").endswith(f"/announcements/{a['id']}")
    data = client.get("/feed.json")
    assert data.headers["content-type"].startswith("application/feed+json")
    assert data.json()["version"] == "https://jsonfeed.org/version/1.1"
    assert data.json()["items"][0]["title"] == "Leaf pickup starts Monday"


def test_a_retracted_announcement_leaves_the_public_site_at_once(client, city, worker_factory):
    a = publish(client, city, worker_factory, title="Wrong date for leaf pickup")
    client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth)
    gone = client.get(f"/announcements/{a['id']}")
    assert gone.status_code == 410 and "Retracted: Wrong date for leaf pickup" in gone.text
    assert "Wrong date" not in client.get("/").text
    assert client.get("/feed.json").json()["items"] == []


def test_drafts_are_never_public_and_the_404_is_a_friendly_page(client, city, draft):
    a = draft(title="Secret draft")
    r = client.get(f"/announcements/{a['id']}", headers={"accept": "text/html"})
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "Secret draft" not in r.text and "no published announcement" in r.text
    assert "Secret draft" not in client.get("/feed.atom").text


def test_announcement_text_is_escaped_on_the_public_page(client, city, worker_factory):
    a = publish(client, city, worker_factory, title="<script>alert(1)</script> Pool", body="Fish & chips <b>tonight</b>")
    page = client.get(f"/announcements/{a['id']}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "Fish &amp; chips &lt;b&gt;tonight&lt;/b&gt;" in page


def test_a_javascript_address_from_a_webhook_is_dropped_and_the_post_still_counts(client, city, receiver, worker_factory, sign_in):
    receiver.answer_url = "javascript:alert(1)"
    hook = create_channel(client, city.admin, "webhook", name="Partner hook", settings={"url": receiver.url})
    a = create_approved(client, city, channels=[city.parks_channels[0], hook])
    worker_factory().start()
    got = wait_for(lambda: (s := state_of(client, city, a["id"]))["state"] == "published" and s)
    delivery = next(d for d in got["deliveries"] if d["channel_id"] == hook)
    assert delivery["status"] == "published" and delivery["remote_id"] == "hook-1" and delivery["remote_url"] is None
    page = client.get(f"/announcements/{a['id']}").text
    assert "javascript:" not in page and "Also posted on" not in page
    assert "javascript:" not in sign_in(city.approver).get(f"/staff/announcements/{a['id']}").text
    trail = client.get(f"/api/v1/announcements/{a['id']}/audit", headers=city.approver.auth).text
    assert "javascript:" not in trail


def test_links_recorded_before_the_check_are_not_rendered_anywhere(client, city, receiver, worker_factory, sign_in, sessions):
    from sqlalchemy import update

    from civicpost.db import transaction
    from civicpost.models import Announcement, Delivery
    hook = create_channel(client, city.admin, "webhook", name="Partner hook", settings={"url": receiver.url})
    second = create_channel(client, city.admin, "webhook", name="Partner mirror", settings={"url": receiver.url})
    a = create_approved(client, city, channels=[city.parks_channels[0], hook, second])
    worker_factory().start()
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    # Rows written by an older version, which stored whatever a platform said.
    with transaction(sessions) as session:
        session.execute(update(Delivery).where(Delivery.channel_id == hook).values(remote_url="javascript:alert(1)"))
        session.execute(update(Delivery).where(Delivery.channel_id == second)
                        .values(remote_url="data:text/html,<script>alert(1)</script>"))
        session.execute(update(Announcement).where(Announcement.id == a["id"]).values(link="javascript:alert(2)"))
    page = client.get(f"/announcements/{a['id']}").text
    assert "javascript:" not in page and "data:text" not in page and "Also posted on" not in page
    staff = sign_in(city.approver).get(f"/staff/announcements/{a['id']}").text
    assert 'href="javascript:' not in staff and 'href="data:' not in staff
    got = state_of(client, city, a["id"])
    assert {d["channel_id"]: d["remote_url"] for d in got["deliveries"]}[hook] is None
    assert "javascript:" not in client.get("/feed.json").text and "javascript:" not in client.get("/feed.atom").text

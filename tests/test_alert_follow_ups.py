"""Follow-ups of a published alert: an update, the all-clear, and the correction a retract posts.

The deliveries go out through a real worker to the local sandbox platforms, and
every CAP document is checked against the CAP 1.2 schema.
"""

import datetime as dt
from collections.abc import Iterator

import pytest
from lxml import etree
from sqlalchemy import select

from civicpost import cap
from civicpost.engine.worker import Worker
from civicpost.models import Announcement
from civicpost.sandbox.app import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from tests.engine.observing import state_of, wait_for
from tests.factories import (
    create_channel,
    create_draft,
    create_person,
    create_published_alert,
    grant_emergency_publisher,
    make_alert,
)

ATOM = "{http://www.w3.org/2005/Atom}"
SOCIAL = ("x", "mastodon", "bluesky")


def text_of(document: bytes, name: str) -> list[str]:
    return [e.text for e in etree.fromstring(document).iter(f"{{{cap.NS}}}{name}")]


@pytest.fixture(autouse=True)
def parks_staff_publish_emergencies(client, city) -> None:
    grant_emergency_publisher(client, city.admin, city.parks_staff)


@pytest.fixture
def sandbox() -> Iterator[tuple[str, object]]:
    app = create_sandbox_app()
    with running_sandbox(app=app) as base:
        yield base, app.state.sandbox


@pytest.fixture
def worker(settings, engine) -> Iterator[Worker]:
    fast = settings.model_copy(update={"retry_base_seconds": 0.05, "retry_max_seconds": 0.2, "max_attempts": 3,
                                       "publish_timeout_seconds": 5, "lease_seconds": 5})
    running = Worker(fast, engine=engine, concurrency=4)
    running.start()
    yield running
    running.stop(timeout=10)


def all_published(client, city, announcement_id: int) -> dict:
    def done():
        got = state_of(client, city, announcement_id)
        return got if got["deliveries"] and {d["status"] for d in got["deliveries"]} == {"published"} else None
    return wait_for(done, timeout=20)


def published_alert_on_the_sandbox(client, city, base: str) -> tuple[dict, list[int]]:
    """An alert published at once (break glass) to three sandbox platforms and the city's site, all delivered."""
    channels = [create_channel(client, city.admin, platform, base=base) for platform in SOCIAL]
    channels.append(city.parks_channels[0])  # the city's own site
    a = create_draft(client, city.parks_staff, title="Boil water notice", emergency=True, channels=channels,
                     body="Boil tap water before drinking.", alert=make_alert())
    r = client.post(f"/api/v1/announcements/{a['id']}/publish-now", headers=city.parks_staff.auth,
                    json={"reason": "Water main broke on Elm Street"})
    assert r.status_code == 200, r.text
    all_published(client, city, a["id"])
    return a, channels


def texts(fake_platforms, platform: str) -> list[str]:
    return [post.text for post in getattr(fake_platforms, platform).timeline()]


def test_an_update_and_the_all_clear_reach_every_channel_and_the_cap_thread_references_each_earlier_message(
        client, city, sandbox, worker, sign_in):
    base, platforms = sandbox
    alert, channels = published_alert_on_the_sandbox(client, city, base)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)).isoformat()
    r = client.post(f"/api/v1/announcements/{alert['id']}/alert-update", headers=city.parks_staff.auth,
                    json={"body": "Crews expect repairs by 6 p.m.",
                          "alert": {"severity": "Moderate", "expires": later}})
    assert r.status_code == 201, r.text
    update = r.json()
    assert update["follows_id"] == alert["id"] and update["follow_kind"] == "update" and update["emergency"]
    assert sorted(update["channels"]) == sorted(channels)
    assert update["alert"]["severity"] == "Moderate" and update["alert"]["event"] == "Water main break"
    all_published(client, city, update["id"])
    for platform in SOCIAL:
        assert any("UPDATE: Crews expect repairs by 6 p.m." in t for t in texts(platforms, platform)), platform

    # The feed of current alerts points at the newest message, the Update.
    entry = etree.fromstring(client.get("/alerts.atom").content).find(f"{ATOM}entry")
    assert entry is not None and entry.findtext(f"{ATOM}id").endswith(f"/alerts/{alert['id']}.xml")
    links = {link.get("rel"): link.get("href") for link in entry.findall(f"{ATOM}link")}
    assert links["alternate"].endswith(f"/alerts/{update['id']}.xml")
    # The public page shows the newer details and the update in the alert's timeline.
    page = client.get(f"/announcements/{alert['id']}").text
    assert "Moderate" in page and "Crews expect repairs by 6 p.m." in page

    r = client.post(f"/api/v1/announcements/{alert['id']}/all-clear", headers=city.approver.auth,
                    json={"body": "Tap water is safe to drink."})
    assert r.status_code == 201, r.text
    clear = r.json()
    all_published(client, city, clear["id"])
    for platform in SOCIAL:
        assert any("ALL CLEAR: Tap water is safe to drink." in t for t in texts(platforms, platform)), platform

    documents = {}
    for name, item in (("alert", alert), ("update", update), ("clear", clear)):
        got = client.get(f"/alerts/{item['id']}.xml")
        assert got.status_code == 200, (name, got.text)
        cap.validate(got.content)
        documents[name] = got.content
    assert text_of(documents["alert"], "msgType") == ["Alert"]
    assert text_of(documents["update"], "msgType") == ["Update"]
    assert text_of(documents["clear"], "msgType") == ["Update"]
    assert text_of(documents["clear"], "responseType") == ["AllClear"]
    assert text_of(documents["update"], "severity") == ["Moderate"]

    def entry(document: bytes) -> str:
        return ",".join(text_of(document, "sender") + text_of(document, "identifier") + text_of(document, "sent"))

    assert text_of(documents["update"], "references") == [entry(documents["alert"])]
    assert text_of(documents["clear"], "references") == [f"{entry(documents['alert'])} {entry(documents['update'])}"]

    # Ended: gone from the feed of current alerts, no banner, not first on the home page.
    feed = etree.fromstring(client.get("/alerts.atom").content)
    assert feed.findall(f"{ATOM}entry") == []
    page = client.get(f"/announcements/{alert['id']}").text
    assert "alert-banner" not in page and "ended" in page
    assert "alert-banner" not in client.get("/").text
    # The alert's own document still answers.
    assert client.get(f"/alerts/{alert['id']}.xml").status_code == 200
    actions = [e["action"] for e in client.get(f"/api/v1/announcements/{alert['id']}/audit",
                                                headers=city.approver.auth).json()["items"]]
    assert "alert_update" in actions and "all_clear" in actions


def test_a_retracted_alert_is_taken_down_corrected_on_every_channel_and_cancelled_in_cap(
        client, city, sandbox, worker):
    base, platforms = sandbox
    alert, channels = published_alert_on_the_sandbox(client, city, base)
    r = client.post(f"/api/v1/announcements/{alert['id']}/retract", headers=city.approver.auth)
    assert r.status_code == 202, r.text

    def correction():
        thread = [e for e in client.get(f"/api/v1/announcements/{alert['id']}/audit",
                                        headers=city.approver.auth).json()["items"] if e["action"] == "correction"]
        return thread[0]["detail"]["follow_up"] if thread else None

    correction_id = wait_for(correction)
    all_published(client, city, correction_id)

    def taken_back():
        return {d["status"] for d in state_of(client, city, alert["id"])["deliveries"]} == {"retracted"}

    wait_for(taken_back)
    for platform in SOCIAL:
        posts = texts(platforms, platform)
        assert len(posts) == 1, (platform, posts)  # the alert's post is gone, the correction is up
        assert 'CORRECTION: The alert "Boil water notice" was sent in error.' in posts[0], platform
    got = state_of(client, city, correction_id)
    assert got["follow_kind"] == "correction" and sorted(got["channels"]) == sorted(channels)
    document = client.get(f"/alerts/{correction_id}.xml")
    assert document.status_code == 200
    cap.validate(document.content)
    assert text_of(document.content, "msgType") == ["Cancel"]
    assert text_of(document.content, "references")[0].startswith(
        f"127.0.0.1,127.0.0.1-announcement-{alert['id']}-alert,")
    assert client.get(f"/alerts/{alert['id']}.xml").status_code == 404
    assert etree.fromstring(client.get("/alerts.atom").content).findall(f"{ATOM}entry") == []
    # Ended: no more follow-ups.
    r = client.post(f"/api/v1/announcements/{alert['id']}/alert-update", headers=city.approver.auth,
                    json={"body": "More news."})
    assert r.status_code == 409 and "retracted" in r.json()["detail"]


def test_each_follow_up_in_the_wrong_state_is_refused_with_409_saying_why(client, city, sessions):
    draft = create_draft(client, city.parks_staff, emergency=True, alert=make_alert())
    r = client.post(f"/api/v1/announcements/{draft['id']}/alert-update", headers=city.parks_staff.auth,
                    json={"body": "News."})
    assert r.status_code == 409 and "draft, not published" in r.json()["detail"]
    ordinary = create_published_alert(client, city, sessions, title="Pool opens", emergency=False, alert=None)
    r = client.post(f"/api/v1/announcements/{ordinary['id']}/alert-update", headers=city.approver.auth,
                    json={"body": "News."})
    assert r.status_code == 409 and "not an emergency alert" in r.json()["detail"]
    alert = create_published_alert(client, city, sessions)
    first = client.post(f"/api/v1/announcements/{alert['id']}/all-clear", headers=city.approver.auth)
    assert first.status_code == 201, first.text
    assert first.json()["body"] == "ALL CLEAR"
    again = client.post(f"/api/v1/announcements/{alert['id']}/all-clear", headers=city.approver.auth)
    assert again.status_code == 409 and "already ended" in again.json()["detail"]
    after = client.post(f"/api/v1/announcements/{alert['id']}/alert-update", headers=city.approver.auth,
                        json={"body": "News."})
    assert after.status_code == 409 and "already ended" in after.json()["detail"]
    of_follow_up = client.post(f"/api/v1/announcements/{first.json()['id']}/alert-update",
                               headers=city.approver.auth, json={"body": "News."})
    assert of_follow_up.status_code == 409 and f"alert {alert['id']}" in of_follow_up.json()["detail"]
    edited = client.patch(f"/api/v1/announcements/{first.json()['id']}", headers=city.approver.auth,
                          json={"body": "ALL CLEAR: changed"})
    assert edited.status_code == 409 and "post another update" in edited.json()["detail"]


def test_only_emergency_publishers_and_approvers_post_follow_ups_and_other_departments_get_404(
        client, city, sessions):
    alert = create_published_alert(client, city, sessions)
    plain = create_person(sessions, "staff", ("parks",))
    r = client.post(f"/api/v1/announcements/{alert['id']}/alert-update", headers=plain.auth, json={"body": "News."})
    assert r.status_code == 403 and "emergency publisher" in r.json()["detail"]
    grant_emergency_publisher(client, city.admin, city.police_staff)
    for path in ("alert-update", "all-clear"):
        theirs = client.post(f"/api/v1/announcements/{alert['id']}/{path}", headers=city.police_staff.auth,
                             json={"body": "News."})
        missing = client.post(f"/api/v1/announcements/{alert['id'] + 1000}/{path}", headers=city.police_staff.auth,
                              json={"body": "News."})
        assert theirs.status_code == missing.status_code == 404
    r = client.post(f"/api/v1/announcements/{alert['id']}/alert-update", headers=city.parks_staff.auth,
                    json={"body": "News."})
    assert r.status_code == 201 and r.json()["author"] == city.parks_staff.email


@pytest.mark.parametrize(("alert", "field", "words"), [
    ({"severity": "Terrible"}, "alert.severity", "Extreme"),
    ({"expires": "2020-01-01T00:00:00Z"}, "alert.expires", "in the past"),
    ({"exercise": True}, "alert.exercise", "a drill stays a drill"),
    ({"wind": "strong"}, "alert.wind", "not a field"),
])
def test_changed_alert_details_are_checked_like_the_originals(client, city, sessions, alert, field, words):
    published = create_published_alert(client, city, sessions)
    r = client.post(f"/api/v1/announcements/{published['id']}/alert-update", headers=city.approver.auth,
                    json={"body": "News.", "alert": alert})
    assert r.status_code == 422, r.text
    assert words in {e["field"]: e["message"] for e in r.json()["errors"]}[field]


def test_a_follow_up_too_long_for_a_channel_is_refused_with_422_and_nothing_is_written(client, city, sessions):
    x = create_channel(client, city.admin, "x")
    alert = create_published_alert(client, city, sessions, channels=[x])
    r = client.post(f"/api/v1/announcements/{alert['id']}/alert-update", headers=city.approver.auth,
                    json={"body": "word " * 200})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == f"renditions.{x}", r.text
    ok = client.post(f"/api/v1/announcements/{alert['id']}/alert-update", headers=city.approver.auth,
                     json={"body": "Short news."})
    assert ok.status_code == 201
    with sessions() as session:  # the refused one left no row
        assert session.scalars(select(Announcement.id).where(Announcement.follows_id == alert["id"])).all() == [
            ok.json()["id"]]


def test_the_city_rewords_follow_ups_per_language_with_english_as_the_fallback(client, city, sessions):
    shown = client.get("/api/v1/alert-wording", headers=city.parks_staff.auth).json()
    assert shown["languages"]["en"]["update"] == "UPDATE: {body}"
    r = client.put("/api/v1/alert-wording", headers=city.parks_staff.auth, json={"languages": {}})
    assert r.status_code == 403
    r = client.put("/api/v1/alert-wording", headers=city.admin.auth,
                   json={"languages": {"es": {"update": "ACTUALIZACIÓN {when}: {body}"}}})
    assert r.status_code == 422 and "unknown placeholder {when}" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "languages.es.update"
    r = client.put("/api/v1/alert-wording", headers=city.admin.auth,
                   json={"languages": {"en": {"update": "Update on {headline}: {body}"},
                                       "es": {"update": "ACTUALIZACIÓN: {body}"}}})
    assert r.status_code == 200, r.text
    assert r.json()["languages"]["en"]["all_clear"] == "ALL CLEAR: {body}"
    english = create_published_alert(client, city, sessions)
    spanish = create_published_alert(client, city, sessions, language="es", title="Hierva el agua",
                                     translations={"en": {"title": "Boil water", "body": "Boil it."}})
    r = client.post(f"/api/v1/announcements/{english['id']}/alert-update", headers=city.approver.auth,
                    json={"body": "Repairs by 6 p.m."})
    assert r.json()["body"] == "Update on Boil water notice: Repairs by 6 p.m."
    r = client.post(f"/api/v1/announcements/{spanish['id']}/alert-update", headers=city.approver.auth,
                    json={"body": "Reparación a las 6."})
    assert r.json()["body"] == "ACTUALIZACIÓN: Reparación a las 6."
    # The channels publish in English: the English wording, around the main body (none was given in English).
    assert r.json()["translations"]["en"] == {"title": "Boil water",
                                              "body": "Update on Boil water: Reparación a las 6."}
    r = client.post(f"/api/v1/announcements/{spanish['id']}/all-clear", headers=city.approver.auth,
                    json={"body": "Agua segura.", "translations": {"en": "Water is safe."}})
    assert r.json()["body"] == "ALL CLEAR: Agua segura."  # no Spanish all-clear: the English one
    assert r.json()["translations"]["en"]["body"] == "ALL CLEAR: Water is safe."


def test_an_update_needs_a_body(client, city, sessions):
    alert = create_published_alert(client, city, sessions)
    r = client.post(f"/api/v1/announcements/{alert['id']}/alert-update", headers=city.approver.auth, json={})
    assert r.status_code == 422 and "body" in r.text

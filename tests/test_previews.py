"""POST /api/v1/previews: what each channel would receive, measured, storing nothing."""

import shutil

from sqlalchemy import func, select

from civicpost.models import Announcement, AuditEvent
from tests.factories import create_channel


def test_a_preview_gives_text_length_limit_fits_and_problems_per_channel_and_stores_nothing(client, city, sessions):
    x = create_channel(client, city.admin, "x")
    with sessions() as session:
        events_before = session.scalar(select(func.count()).select_from(AuditEvent))
    body = {"department": "parks", "title": "Pool opens", "body": "Join us at the pool! #parksandrec",
            "link": "https://www.worcesterma.gov/parks/pools/elm-street-summer-season-2027", "channels": [x, city.parks_channels[0]]}
    r = client.post("/api/v1/previews", headers=city.parks_staff.auth, json=body)
    assert r.status_code == 200, r.text
    by = {p["channel_id"]: p for p in r.json()["renditions"]}
    rx = by[x]
    assert rx["platform"] == "x" and rx["limit"] == 280 and rx["fits"] is True
    assert "Join us at the pool!" in rx["text"]
    # The long link counts 23, as X counts it.
    assert rx["length"] < len(rx["text"])
    hashtag = [p for p in rx["problems"] if p["code"] == "hashtag_case"]
    assert hashtag and hashtag[0]["severity"] == "warning" and "#ParksAndRec" in hashtag[0]["suggestion"]
    assert by[city.parks_channels[0]]["limit"] is None
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Announcement)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == events_before


def test_a_preview_over_x_limit_says_it_does_not_fit_and_submitting_is_refused(client, city, draft):
    x = create_channel(client, city.admin, "x")
    long_body = "The Elm Street pool opens Saturday. " * 12
    preview = client.post("/api/v1/previews", headers=city.parks_staff.auth,
                          json={"department": "parks", "title": "Pool", "body": long_body, "channels": [x]}).json()
    rendition = preview["renditions"][0]
    assert rendition["fits"] is False and rendition["length"] > 280
    assert any(p["code"] == "too_long" and p["severity"] == "error" for p in rendition["problems"])
    a = draft(body=long_body, channels=[x])
    r = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    assert r.status_code == 422 and {e["code"] for e in r.json()["errors"]} == {"too_long"}


def test_a_channel_that_threads_splits_instead_of_refusing(client, city):
    x = create_channel(client, city.admin, "x", settings={"overflow": "thread"})
    long_body = "The Elm Street pool opens Saturday. " * 12
    rendition = client.post("/api/v1/previews", headers=city.parks_staff.auth,
                            json={"department": "parks", "title": "Pool", "body": long_body, "channels": [x]}).json()["renditions"][0]
    assert rendition["fits"] is True and len(rendition["parts"]) >= 2
    assert rendition["parts"][0].endswith(f"1/{len(rendition['parts'])}")


def test_a_preview_for_another_departments_channel_is_refused(client, city):
    r = client.post("/api/v1/previews", headers=city.parks_staff.auth,
                    json={"department": "parks", "title": "t", "body": "b", "channels": city.police_channels})
    assert r.status_code == 422


def test_a_template_change_after_approval_shows_and_cannot_change_what_goes_out(client, city, draft, settings, engine, tmp_path):
    from fastapi.testclient import TestClient

    from civicpost.web import create_app

    a = draft()
    seen = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth).json()["fingerprint"]
    approved = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                           json={"fingerprint": seen}).json()
    custom = tmp_path / "templates"
    shutil.copytree(settings.templates_dir, custom)
    (custom / "posts" / "feed.txt.j2").write_text("NEW WORDING {{ title }}\n")
    changed = settings.model_copy(update={"templates_dir": custom})
    with TestClient(create_app(changed, engine=engine)) as other:
        got = other.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()
    assert got["fingerprint"] != got["approved_fingerprint"] == approved["approved_fingerprint"]
    from sqlalchemy.orm import Session

    from civicpost.models import Delivery

    with Session(engine) as session:
        texts = {d.rendition["text"] for d in session.scalars(select(Delivery))}
    assert not any(t.startswith("NEW WORDING") for t in texts)

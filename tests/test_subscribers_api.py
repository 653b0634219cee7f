"""Topics and subscribers under /api/v1: counts for every staff member, addresses for admins only,
an all-or-nothing CSV import with per-line errors."""

from sqlalchemy import func, select

from civicpost.db import transaction
from civicpost.models import Subscriber, SubscriberConsent

HEADER = "email,phone,topics,consent_source,confirmed_at\n"


def post_csv(client, person, text, content_type="text/csv"):
    return client.post("/api/v1/subscribers/import", headers={**person.auth, "Content-Type": content_type},
                       content=text.encode() if isinstance(text, str) else text)


def test_every_department_is_a_topic_and_an_admin_adds_more(client, city):
    r = client.get("/api/v1/topics", headers=city.parks_staff.auth)
    assert r.status_code == 200
    assert {t["slug"]: t["department"] for t in r.json()["items"]} == {"parks": "parks", "police": "police"}
    r = client.post("/api/v1/topics", headers=city.admin.auth,
                    json={"slug": "snow", "name": "Snow emergencies", "description": "Plowing and parking bans"})
    assert r.status_code == 201 and r.json()["department"] is None
    assert client.get("/api/v1/topics", headers=city.admin.auth).json()["items"][-1]["slug"] == "snow"


def test_only_an_admin_adds_a_topic_and_bad_ones_are_refused_with_reasons(client, city):
    topic = {"slug": "snow", "name": "Snow"}
    assert client.post("/api/v1/topics", headers=city.approver.auth, json=topic).status_code == 403
    assert client.post("/api/v1/topics", json=topic).status_code == 401
    for bad in ({"slug": "Snow!", "name": "x"}, {"slug": "snow", "name": ""}, {"slug": "snow", "name": "a\x07b"},
                {"slug": "snow", "name": "x" * 201}, {"slug": "snow", "name": "x", "description": "d" * 1001},
                {"slug": "snow", "name": "x", "extra": 1}):
        r = client.post("/api/v1/topics", headers=city.admin.auth, json=bad)
        assert r.status_code == 422, bad
        assert r.json()["errors"]
    r = client.post("/api/v1/topics", headers=city.admin.auth, json={"slug": "parks", "name": "Parks again"})
    assert r.status_code == 409 and "already exists" in r.json()["detail"]


def test_an_import_stores_sealed_addresses_and_confirms_only_rows_with_confirmed_at(client, city, sessions):
    text = (HEADER + "Resident@Example.org,,parks police,paper form at the library,2026-03-01T09:00:00-05:00\n"
            "late@example.org,+1 555 010 4477,parks,city fair sign-up sheet,\n")
    r = post_csv(client, city.admin, text)
    assert r.status_code == 201, r.text
    assert r.json() == {"rows": 2, "created": 2, "updated": 0, "confirmed": 1}
    with transaction(sessions) as session:
        sealed = session.scalars(select(Subscriber.email_encrypted)).all()
        assert all(b"example.org" not in s for s in sealed)
        assert session.scalar(select(func.count()).select_from(SubscriberConsent)) == 2
    listed = client.get("/api/v1/subscribers?topic=parks", headers=city.admin.auth).json()
    assert listed["total"] == 2 and listed["confirmed"] == 1
    assert [(s["email"], s["phone"], s["topics"]) for s in listed["items"]] == [
        ("resident@example.org", None, ["parks", "police"]), ("late@example.org", "+15550104477", ["parks"])]
    assert listed["items"][1]["email_confirmed_at"] is None
    counts = {t["slug"]: (t["subscribers"], t["confirmed"])
              for t in client.get("/api/v1/topics", headers=city.parks_staff.auth).json()["items"]}
    assert counts == {"parks": (2, 1), "police": (1, 1)}


def test_staff_who_are_not_admins_see_counts_but_never_addresses(client, city):
    assert post_csv(client, city.admin, HEADER + "a@example.org,,parks,form,\n").status_code == 201
    for person in (city.parks_staff, city.approver):
        r = client.get("/api/v1/subscribers", headers=person.auth)
        assert r.status_code == 200
        assert r.json()["items"] is None and r.json()["total"] == 1
        assert "example.org" not in r.text
    assert client.get("/api/v1/subscribers?topic=nope", headers=city.admin.auth).status_code == 404


def test_an_import_with_any_bad_row_stores_nothing_and_names_every_bad_line(client, city, sessions):
    text = (HEADER + "good@example.org,,parks,form,\n"
            "not-an-address,,parks,form,\n"
            ",,parks,form,\n"
            "x@example.org,12,parks,form,\n"
            "y@example.org,,nowhere,form,\n"
            "z@example.org,,parks,,\n"
            "w@example.org,,parks,form,yesterday\n"
            "good@example.org,,parks,form,\n"
            "too,many,fields,here,now,really\n")
    r = post_csv(client, city.admin, text)
    assert r.status_code == 422
    found = [(e["line"], e["field"]) for e in r.json()["errors"]]
    assert found == [(3, "email"), (4, "email"), (5, "phone"), (6, "topics"), (7, "consent_source"),
                     (8, "confirmed_at"), (9, "email"), (10, "row")]
    assert "nothing was imported" in r.json()["detail"]
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 0


def test_an_import_refuses_what_is_not_a_utf8_csv_with_the_header(client, city):
    r = post_csv(client, city.admin, HEADER, content_type="text/plain")
    assert r.status_code == 415 and "text/csv" in r.json()["detail"]
    assert post_csv(client, city.admin, '{"a": 1}', content_type="application/json").status_code in (415, 422)
    assert post_csv(client, city.admin, "email,topics\na@example.org,parks\n").json()["errors"][0]["line"] == 1
    assert post_csv(client, city.admin, b"\xff\xfe" + HEADER.encode("utf-16-le")).status_code == 422
    assert post_csv(client, city.admin, HEADER).status_code == 422
    assert post_csv(client, city.parks_staff, HEADER + "a@example.org,,parks,form,\n").status_code == 403


def test_a_records_export_holds_subscribers_only_when_an_admin_asks(client, city, sessions, settings, tmp_path):
    import zipfile
    from datetime import timedelta

    from civicpost.db import utcnow
    from civicpost.exports import jobs

    assert post_csv(client, city.admin, HEADER + "kept@example.org,,parks,paper form,\n").status_code == 201
    today = utcnow().date()

    def export(name: str, **more) -> zipfile.ZipFile:
        written = jobs.run_by_command(sessions, settings, date_from=today - timedelta(days=1),
                                      date_to=today + timedelta(days=1), department=None, out=tmp_path / name, **more)
        return zipfile.ZipFile(written.path)

    plain = export("plain.zip")
    assert not [n for n in plain.namelist() if "subscriber" in n]
    assert all(b"kept@example.org" not in plain.read(n) for n in plain.namelist())
    asked = export("asked.zip", subscribers=True)
    people = asked.read("data/subscribers.csv").decode()
    assert "kept@example.org" in people and "parks" in people
    assert "import: paper form" in asked.read("data/subscriber_consents.csv").decode()
    assert b"Export-Subscribers: yes" in asked.read("bag-info.txt")


def test_the_staff_topics_page_lists_counts_and_lets_an_admin_add_one(client, city, sign_in):
    from tests.pages import csrf_of

    admin = sign_in(city.admin)
    page = admin.get("/staff/topics")
    assert page.status_code == 200 and "Parks and Recreation" in page.text
    refused = admin.post("/staff/topics", data={"csrf_token": csrf_of(page.text), "slug": "Bad Slug!", "name": ""})
    assert refused.status_code == 422 and 'id="error-summary"' in refused.text
    taken = admin.post("/staff/topics", data={"csrf_token": csrf_of(page.text), "slug": "parks", "name": "Parks"})
    assert taken.status_code == 409 and "already exists" in taken.text
    added = admin.post("/staff/topics", data={"csrf_token": csrf_of(page.text), "slug": "snow",
                                              "name": "Snow emergencies", "description": "Plowing"},
                       follow_redirects=True)
    assert added.status_code == 200 and "Snow emergencies" in added.text
    assert client.get("/subscribe").text.count('name="topics" value="snow"') == 1
    assert sign_in(city.parks_staff).get("/staff/topics").status_code == 403

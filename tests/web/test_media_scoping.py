"""Images belong to the department they were uploaded for (finding 11): only its
announcements may use them, and another department's image answers exactly
as a missing one does."""

import hashlib

from sqlalchemy import select, update

from civicpost.media import department_media_id
from civicpost.models import Department, Media
from tests.factories import create_media, make_png


def department_id(sessions, slug: str) -> int:
    with sessions() as session:
        return session.scalar(select(Department.id).where(Department.slug == slug))


def test_an_upload_belongs_to_its_department_with_an_id_of_its_own_and_one_file_by_content(client, city, settings, sessions):
    parks = create_media(client, city.parks_staff)  # one department: no need to name it
    police = create_media(client, city.police_staff, department="police")
    assert parks.status_code == police.status_code == 201, (parks.text, police.text)
    parks_id, police_id = parks.json()["id"], police.json()["id"]
    assert parks_id != police_id and len(parks_id) == len(police_id) == 64
    stored = (settings.media_dir / parks_id).read_bytes()
    content = hashlib.sha256(stored).hexdigest()
    assert parks_id == department_media_id(department_id(sessions, "parks"), content)
    # The bytes are kept once, by content; each department's id names the same file.
    assert (settings.media_dir / content).read_bytes() == stored == (settings.media_dir / police_id).read_bytes()
    assert (settings.media_dir / content).stat().st_ino == (settings.media_dir / parks_id).stat().st_ino
    with sessions() as session:
        rows = {m.id: m.department_id for m in session.scalars(select(Media))}
    assert rows == {parks_id: department_id(sessions, "parks"), police_id: department_id(sessions, "police")}


def test_who_must_name_the_department_and_who_may_upload_for_it(client, city, people):
    r = create_media(client, city.approver)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "department"
    assert create_media(client, city.approver, department="police").status_code == 201
    assert create_media(client, city.admin, department="parks", data=make_png((1, 2, 3))).status_code == 201
    r = create_media(client, city.parks_staff, department="police")
    assert r.status_code == 403 and "not a member of Police Department" in r.json()["detail"]
    r = create_media(client, city.parks_staff, department="nowhere")
    assert r.status_code == 422 and r.json()["errors"][0] == {"field": "department", "message": "unknown department 'nowhere'"}
    both = people.person("staff", ("parks", "police"))
    r = create_media(client, both)
    assert r.status_code == 422 and "parks, police" in r.json()["errors"][0]["message"]
    assert create_media(client, both, department="police").status_code == 201


def test_a_draft_cannot_use_another_departments_image_and_is_told_exactly_what_a_missing_one_gets(client, city, draft):
    police_image = create_media(client, city.police_staff).json()["id"]
    missing = "f" * 64
    body = {"department": "parks", "title": "Pool", "body": "Opens Saturday.", "channels": city.parks_channels}

    def refused(path: str, method: str, person, media_id: str):
        r = client.request(method, path, headers=person.auth,
                           json={**(body if method == "POST" else {}), "media": [{"id": media_id, "alt_text": "A pool"}]})
        assert r.status_code == 422, (path, r.text)
        return r.json()

    a = draft()
    for path, method, people in [("/api/v1/announcements", "POST", (city.parks_staff, city.admin)),
                                 ("/api/v1/previews", "POST", (city.parks_staff, city.approver)),
                                 (f"/api/v1/announcements/{a['id']}", "PATCH", (city.parks_staff, city.approver))]:
        for person in people:
            theirs, nothing = refused(path, method, person, police_image), refused(path, method, person, missing)
            assert theirs == {**nothing, "errors": [{"field": "media", "message": f"no media with id {police_image}"}]}
            assert "Police" not in str(theirs)
    parks_image = create_media(client, city.parks_staff).json()["id"]
    assert draft(media=[{"id": parks_image, "alt_text": "A pool"}])["media"][0]["id"] == parks_image


def test_an_old_image_without_a_department_is_usable_by_approvers_only(client, city, sessions, draft):
    old = create_media(client, city.parks_staff).json()["id"]
    with sessions() as session, session.begin():
        session.execute(update(Media).where(Media.id == old).values(department_id=None))
    a = draft()
    media = [{"id": old, "alt_text": "A pool"}]
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth, json={"media": media})
    assert r.status_code == 422
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth, json={"media": media})
    assert r.status_code == 200, r.text
    # Once attached it stays usable: the author can still change its alt text.
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth,
                     json={"media": [{"id": old, "alt_text": "The Elm Street pool"}]})
    assert r.status_code == 200 and r.json()["media"] == [{"id": old, "alt_text": "The Elm Street pool"}]


def test_the_same_picture_sent_twice_is_one_row_and_one_file(client, city, settings):
    first, again = create_media(client, city.parks_staff), create_media(client, city.parks_staff)
    assert first.json() == again.json()
    assert sorted(p.name for p in settings.media_dir.iterdir() if not p.name.startswith(".")) == sorted(
        {first.json()["id"], hashlib.sha256((settings.media_dir / first.json()["id"]).read_bytes()).hexdigest()})


def test_an_unpublished_image_is_not_public_but_its_department_and_approvers_see_it(client, city, sign_in, draft):
    image = create_media(client, city.parks_staff).json()["id"]
    draft(media=[{"id": image, "alt_text": "A pool"}])
    nobody = client.get(f"/media/{image}")
    missing = client.get(f"/media/{'0' * 64}")
    assert nobody.status_code == missing.status_code == 404 and nobody.content == missing.content
    outsider = sign_in(city.police_staff).get(f"/media/{image}")
    assert outsider.status_code == 404 and outsider.content == missing.content
    for person in (city.parks_staff, city.approver, city.admin):
        seen = sign_in(person).get(f"/media/{image}")
        assert seen.status_code == 200 and seen.headers["content-type"] == "image/png", person.email
        assert seen.headers["cache-control"] == "private, no-store"

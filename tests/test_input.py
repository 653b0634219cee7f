"""Bad input gets a clear problem JSON answer, and nothing is half-written."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from civicpost.models import Announcement, AuditEvent


def _create(client, person, **body):
    return client.post("/api/v1/announcements", headers=person.auth, json=body)


BASE = {"department": "parks", "title": "Pool opens", "body": "Saturday at 9."}


def _count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_unknown_fields_are_refused_by_name(client, city):
    r = _create(client, city.parks_staff, **BASE, colour="green")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422 and problem["title"] and "colour" in problem["detail"]
    assert problem["errors"] == [{"field": "colour", "message": "is not a field of this request; remove it", "type": "extra_forbidden"}]


def test_a_naive_publish_time_is_refused_with_a_message_that_says_to_add_an_offset(client, city):
    r = _create(client, city.parks_staff, **BASE, publish_at="2030-06-01T09:00:00")
    assert r.status_code == 422
    error = r.json()["errors"][0]
    assert error["field"] == "publish_at"
    assert "offset" in error["message"] and "2026-12-01T09:00:00-05:00" in error["message"]


def test_a_publish_time_in_the_past_is_refused(client, city, sessions):
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = _create(client, city.parks_staff, **BASE, publish_at=past)
    assert r.status_code == 422
    assert "in the past" in r.json()["detail"]
    assert _count(sessions, Announcement) == 0


def test_a_garbled_publish_time_is_refused(client, city):
    r = _create(client, city.parks_staff, **BASE, publish_at="next tuesday")
    assert r.status_code == 422
    assert "RFC 3339" in r.json()["errors"][0]["message"]


def test_strings_have_limits_and_empty_ones_are_refused(client, city):
    r = _create(client, city.parks_staff, department="parks", title="x" * 201, body="")
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"title", "body"}
    r = _create(client, city.parks_staff, **{**BASE, "link": "javascript:alert(1)"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "link"


def test_a_body_over_one_mebibyte_is_refused_with_413(client, city, sessions):
    r = _create(client, city.parks_staff, **{**BASE, "body": "a" * (1024 * 1024 + 10)})
    assert r.status_code == 413
    assert r.json()["status"] == 413 and "limit" in r.json()["detail"]
    assert _count(sessions, Announcement) == 0


def test_a_streamed_body_over_the_limit_is_refused_too(client, city):
    def chunks():
        for _ in range(20):
            yield b"x" * 65536

    r = client.post("/api/v1/announcements", headers={**city.parks_staff.auth, "content-type": "application/json"}, content=chunks())
    assert r.status_code == 413


def test_malformed_json_is_a_clear_422(client, city):
    r = client.post(
        "/api/v1/announcements", headers={**city.parks_staff.auth, "content-type": "application/json"}, content=b'{"title": '
    )
    assert r.status_code == 422
    assert "JSON" in r.json()["errors"][0]["message"]


def test_unicode_round_trips_exactly(client, city, draft):
    title = "Piscina abierta 🏊 — 游泳池开放"
    body = "Ñandú café, naïve résumé; नमस्ते 👩🏽‍🚒"
    a = draft(title=title, body=body, translations={"es": {"title": "Piscina", "body": "Abre el sábado."}})
    got = client.get(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth).json()
    assert got["title"] == title and got["body"] == body
    assert got["translations"] == {"es": {"title": "Piscina", "body": "Abre el sábado."}}


def test_a_failed_request_leaves_nothing_half_written(client, city, sessions):
    before = (_count(sessions, Announcement), _count(sessions, AuditEvent))
    r = _create(client, city.parks_staff, **BASE, channels=[*city.parks_channels, 99999])
    assert r.status_code == 422
    assert "no channel with id 99999" in r.json()["errors"][0]["message"]
    r = _create(client, city.parks_staff, **BASE, media=[{"id": "0" * 64, "alt_text": "a pool"}])
    assert r.status_code == 422 and "POST /api/v1/media" in r.json()["detail"]
    assert (_count(sessions, Announcement), _count(sessions, AuditEvent)) == before


def test_a_failed_edit_leaves_the_announcement_as_it_was(client, city, draft):
    a = draft()
    r = client.patch(
        f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth,
        json={"title": "Changed title", "channels": [99999]},
    )
    assert r.status_code == 422
    got = client.get(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth).json()
    assert got["title"] == a["title"] and got["channels"] == a["channels"]


def test_an_unknown_announcement_is_404_problem_json(client, city):
    r = client.get("/api/v1/announcements/424242", headers=city.parks_staff.auth)
    assert r.status_code == 404
    assert r.json()["detail"] == "no announcement with id 424242"


def test_a_translation_in_the_announcements_own_language_is_refused(client, city):
    r = _create(client, city.parks_staff, **BASE, translations={"en": {"title": "t", "body": "b"}})
    assert r.status_code == 422 and "own language" in r.json()["detail"]


def test_a_malformed_cursor_says_to_start_again(client, city):
    r = client.get("/api/v1/announcements?cursor=bm9wZQ", headers=city.parks_staff.auth)
    assert r.status_code == 422 and "start again" in r.json()["detail"]

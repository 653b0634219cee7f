"""Numbers that overflow and characters that hide: every such input is a 4xx
that names the field, never a 500 (finding 10)."""

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from civicpost.schemas import MAX_ID, AnnouncementIn

HUGE_IDS = [2**31, 2**63, 2**64, 10**30, 0, -1]
BASE = {"department": "parks", "title": "Pool opens", "body": "Saturday at 9."}


def _send(client, method: str, path: str, person, body=None):
    """JSON sent as ASCII (\\u escapes), so even a lone surrogate reaches the server."""
    content = json.dumps(body).encode() if body is not None else None
    headers = {**person.auth, **({"content-type": "application/json"} if content is not None else {})}
    return client.request(method, path, headers=headers, content=content)


def _id_routes(app) -> list[tuple[str, str, list[str]]]:
    """Every API route with an id in its path, from the OpenAPI document (so new routes are covered too)."""
    routes = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            ids = [p["name"] for p in operation.get("parameters", [])
                   if p["in"] == "path" and p["schema"].get("type") == "integer"]
            if ids:
                routes.append((method.upper(), path, ids))
    return routes


def test_every_api_id_in_a_path_outside_1_to_2_31_is_a_422_naming_it(app, client, city):
    routes = _id_routes(app)
    assert len(routes) >= 11
    for method, path, names in routes:
        for value in HUGE_IDS:
            url = path
            for name in names:
                url = url.replace("{" + name + "}", str(value))
            r = _send(client, method, url, city.admin, {} if method in ("POST", "PATCH", "PUT") else None)
            assert r.status_code == 422, (method, url, r.status_code, r.text)
            assert set(names) & {e["field"] for e in r.json()["errors"]}, (method, url, r.text)


def test_the_largest_id_there_can_be_is_simply_not_found(client, city):
    assert client.get(f"/api/v1/announcements/{MAX_ID}", headers=city.parks_staff.auth).status_code == 404
    assert client.get(f"/api/v1/channels/{MAX_ID}", headers=city.parks_staff.auth).status_code == 404


def test_a_cursor_carrying_an_impossible_id_says_to_start_again(client, city):
    for inside in [str(2**31), str(2**63), str(2**64), "-1", "0", "²", "１２", "12abc", ""]:
        cursor = base64.urlsafe_b64encode(f"a:{inside}".encode()).decode().rstrip("=")
        r = client.get(f"/api/v1/announcements?cursor={cursor}", headers=city.parks_staff.auth)
        assert r.status_code == 422, (inside, r.text)
        assert r.json()["errors"] == [{"field": "cursor", "message": "malformed"}] and "start again" in r.json()["detail"]


def test_a_channel_id_out_of_range_in_a_body_is_a_422_naming_channels(client, city):
    for path in ("/api/v1/announcements", "/api/v1/previews"):
        for channel in HUGE_IDS:
            r = _send(client, "POST", path, city.parks_staff, {**BASE, "channels": [channel]})
            assert r.status_code == 422, (path, channel, r.text)
            assert r.json()["errors"][0]["field"] == "channels.0"


def test_an_override_key_that_is_not_an_ascii_channel_id_is_a_422_naming_overrides(client, city):
    for path in ("/api/v1/announcements", "/api/v1/previews"):
        for key in ["²", "٣", "0", "-4", str(2**31), str(2**63), "1e3", " 7"]:
            body = {**BASE, "channels": city.parks_channels[:1], "overrides": {key: "Short text"}}
            r = _send(client, "POST", path, city.parks_staff, body)
            assert r.status_code == 422, (path, key, r.text)
            error = r.json()["errors"][0]
            assert error["field"] == "overrides" and "channel id" in error["message"]


def test_a_patch_with_an_impossible_override_key_is_refused_too(client, city, draft):
    a = draft()
    r = _send(client, "PATCH", f"/api/v1/announcements/{a['id']}", city.parks_staff, {"overrides": {"²": "x"}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "overrides"


FAR_AHEAD = ["9999-12-31T23:00:00-05:00", "9999-12-31T23:59:59-12:00", "9999-12-31", "2199-01-01T00:00:00Z",
             "0001-01-01T00:00:00+05:00"]


def test_a_publish_time_unreasonably_far_ahead_is_a_422_with_a_sentence(client, city, draft):
    a = draft()
    for when in FAR_AHEAD:
        for method, path, body in [
            ("POST", "/api/v1/announcements", {**BASE, "publish_at": when}),
            ("POST", "/api/v1/previews", {**BASE, "publish_at": when}),
            ("PATCH", f"/api/v1/announcements/{a['id']}", {"publish_at": when}),
        ]:
            r = _send(client, method, path, city.parks_staff, body)
            assert r.status_code == 422, (when, path, r.text)
            error = r.json()["errors"][0]
            assert error["field"] == "publish_at" and "choose a date before" in error["message"], error


def test_a_publish_time_four_years_ahead_is_fine(client, city):
    soon = datetime.now(UTC).replace(year=datetime.now(UTC).year + 4, month=6, day=1).isoformat()
    assert _send(client, "POST", "/api/v1/announcements", city.parks_staff, {**BASE, "publish_at": soon}).status_code == 201


HIDDEN = {
    "NUL": "\x00",
    "escape (C0)": "\x1b",
    "delete": "\x7f",
    "next line (C1)": "\x85",
    "CSI (C1)": "\x9b",
    "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a",
    "first strong isolate": "\u2068",
    "pop directional isolate": "\u2069",
    "lone surrogate": "\ud800",
}
LINE_BREAKS = {"line feed": "\n", "carriage return": "\r", "CRLF": "\r\n", "line separator": "\u2028"}


def _announcement_fields(city, text: str) -> dict[str, tuple[dict, str]]:
    """(request body, the field the error must name) for each text field of an announcement."""
    channel = city.parks_channels[0]
    return {
        "title": ({**BASE, "title": f"Pool {text}opens"}, "title"),
        "body": ({**BASE, "body": f"Saturday {text}at 9."}, "body"),
        "link": ({**BASE, "link": f"https://city.example/po{text}ol"}, "link"),
        "translation title": ({**BASE, "translations": {"es": {"title": f"Pis{text}cina", "body": "Sábado."}}},
                              "translations.es.title"),
        "translation body": ({**BASE, "translations": {"es": {"title": "Piscina", "body": f"Sá{text}bado."}}},
                             "translations.es.body"),
        "override": ({**BASE, "channels": [channel], "overrides": {str(channel): f"Pool {text}opens"}},
                     f"overrides.{channel}"),
        "alt text": ({**BASE, "media": [{"id": "a" * 64, "alt_text": f"A {text}pool"}]}, "media.0.alt_text"),
    }


def test_hidden_characters_in_any_announcement_text_field_are_refused_naming_the_field(client, city, draft):
    a = draft()
    for kind, name, (body, field) in [(k, n, case) for k in HIDDEN for n, case in _announcement_fields(city, HIDDEN[k]).items()]:
        for method, path in [("POST", "/api/v1/announcements"), ("POST", "/api/v1/previews")]:
            r = _send(client, method, path, city.parks_staff, body)
            assert r.status_code == 422, (kind, name, path, r.text)
            errors = {e["field"]: e["message"] for e in r.json()["errors"]}
            assert field in errors, (kind, name, errors)
            if kind != "lone surrogate" and name != "link":  # pydantic refuses those itself, by type or pattern
                assert f"U+{ord(HIDDEN[kind][0]):04X}" in errors[field]
                assert "remove it" in errors[field] or "write it on one line" in errors[field]
            assert field.split(".")[0].replace("_", " ") in r.json()["detail"] or field in r.json()["detail"]
        patch = {k: v for k, v in body.items() if k not in ("department",)}
        r = _send(client, "PATCH", f"/api/v1/announcements/{a['id']}", city.parks_staff, patch)
        assert r.status_code == 422 and field in {e["field"] for e in r.json()["errors"]}, (kind, name, r.text)


def test_a_line_break_in_a_title_or_link_is_refused_so_it_cannot_reach_an_email_header(client, city):
    for kind, line_break in LINE_BREAKS.items():
        cases = {
            "title": {**BASE, "title": f"Pool opens{line_break}Bcc: everyone@example.com"},
            "link": {**BASE, "link": f"https://city.example/{line_break}x"},
            "translations.es.title": {**BASE, "translations": {"es": {"title": f"a{line_break}b", "body": "c"}}},
        }
        for field, body in cases.items():
            r = _send(client, "POST", "/api/v1/announcements", city.parks_staff, body)
            assert r.status_code == 422, (kind, field, r.text)
            error = next(e for e in r.json()["errors"] if e["field"] == field)
            if field != "link":  # a link's own pattern refuses it first
                assert "line break" in error["message"] and "write it on one line" in error["message"], error


def test_a_body_keeps_line_breaks_and_tabs_and_windows_line_endings_become_plain_ones(client, city, draft):
    a = draft(body="Opening hours:\r\n\tSaturday 9-5\r\n\tSunday 10-4\rSee you there.",
              media=[], overrides={}, translations={"es": {"title": "Piscina", "body": "Abre\r\nel sábado."}})
    got = client.get(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth).json()
    assert got["body"] == "Opening hours:\n\tSaturday 9-5\n\tSunday 10-4\nSee you there."
    assert got["translations"]["es"]["body"] == "Abre\nel sábado."


def test_names_of_departments_users_and_channels_are_one_plain_line(client, city):
    for kind, char in {**HIDDEN, "line feed": "\n", "tab": "\t"}.items():
        _one_plain_line(client, city, kind, char)


def _one_plain_line(client, city, kind: str, char: str) -> None:
    cases = [
        ("/api/v1/departments", {"slug": "library", "name": f"Public {char}Library"}, "name"),
        ("/api/v1/users", {"email": "lee@city.example", "name": f"Lee {char}Park", "role": "approver",
                           "password": "a long password here"}, "name"),
        ("/api/v1/users", {"email": f"lee{char}@city.example", "name": "Lee", "role": "approver",
                           "password": "a long password here"}, "email"),
        ("/api/v1/channels", {"department": "parks", "platform": "feed", "name": f"Parks {char}feed"}, "name"),
        ("/api/v1/channels", {"department": "parks", "platform": "email", "name": "Parks mail",
                              "settings": {"smtp_host": "127.0.0.1", "from": f"parks@city.example{char}",
                                           "to": ["list@city.example"]}}, "settings.from"),
    ]
    for path, body, field in cases:
        r = _send(client, "POST", path, city.admin, body)
        assert r.status_code == 422, (kind, path, r.text)
        assert field in {e["field"] for e in r.json()["errors"]}, (kind, path, r.text)


def test_a_rejection_reason_with_hidden_characters_is_refused(client, city, draft):
    a = draft()
    client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    for kind in ("NUL", "right-to-left override", "lone surrogate"):
        r = _send(client, "POST", f"/api/v1/announcements/{a['id']}/reject", city.approver,
                  {"reason": f"Please {HIDDEN[kind]}fix the time"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason", (kind, r.text)


def test_a_department_filter_that_is_not_a_slug_is_a_422_naming_it(client, city):
    for value in ["\x00", "Parks", "parks\n", "²", "p" * 100]:
        for path in ("/api/v1/announcements", "/api/v1/channels"):
            r = client.get(path, params={"department": value}, headers=city.parks_staff.auth)
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "department", (value, r.text)


REFUSED = st.sampled_from([*HIDDEN.values(), "\x01", "\x1f", "\x9f", "\u202c", "\u2067"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=st.text(max_size=20), hidden=REFUSED, after=st.text(max_size=20))
def test_no_title_or_body_with_a_hidden_character_ever_validates(before, hidden, after):
    for field in ("title", "body"):
        body = {**BASE, field: f"x{before}{hidden}{after}x"}
        with pytest.raises(ValidationError) as refused:
            AnnouncementIn.model_validate(body)
        assert any(e["loc"] == (field,) for e in refused.value.errors())


@settings(max_examples=200, deadline=None)
@given(title=st.text(min_size=1, max_size=50), body=st.text(min_size=1, max_size=200))
def test_whatever_text_comes_in_validation_either_refuses_it_or_keeps_it_plain(title, body):
    try:
        parsed = AnnouncementIn.model_validate({**BASE, "title": title, "body": body})
    except ValidationError:
        return
    assert not any(c in parsed.title for c in "\r\n\x00\u202e")
    assert "\r" not in parsed.body and "\x00" not in parsed.body

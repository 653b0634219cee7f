"""The staff pages take the same hostile numbers and characters as the API:
a page that says what to fix (or the ordinary 404), never a 500 (finding 10)."""

from sqlalchemy import func, select

from civicpost.models import Announcement, Channel
from tests.pages import csrf_of

HTML = {"accept": "text/html"}


def form(page_html: str, **fields) -> dict:
    data = {"csrf_token": csrf_of(page_html), "department": "parks", "title": "Pool opens Saturday",
            "body": "The Elm Street pool opens Saturday at 9 a.m.", "language": "en", "action": "save"}
    data.update(fields)
    return data


def announcements_in(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Announcement))


def test_hidden_characters_typed_into_the_form_are_refused_next_to_their_field(sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    cases = {
        "title": ("Pool opens\u202eyadrutaS", "Title contains a hidden text-direction control (U+202E"),
        "body": ("Opens at 9\x00 a.m.", "Body contains an invisible control character (U+0000)"),
        "link": ("https://city.example/\u2066pools", "Link contains a hidden text-direction control (U+2066"),
    }
    for field, (value, message) in cases.items():
        r = browser.post("/staff/announcements/new", data=form(page.text, **{field: value}), headers=HTML)
        assert r.status_code == 422, (field, r.text)
        assert message in r.text and f'href="#{field}"' in r.text
    r = browser.post("/staff/announcements/new", data=form(page.text, title="Pool opens\nBcc: all@example.com"), headers=HTML)
    assert r.status_code == 422 and "Title contains a line break (U+000A); write it on one line." in r.text
    assert announcements_in(sessions) == 0


def test_a_body_typed_in_the_form_keeps_its_lines(sign_in, city, client):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    r = browser.post("/staff/announcements/new", data=form(page.text, body="Hours:\r\n\tSat 9-5\r\n\tSun 10-4"),
                     follow_redirects=False)
    assert r.status_code == 303, r.text
    a = client.get(r.headers["location"].replace("/staff", "/api/v1"), headers=city.parks_staff.auth).json()
    assert a["body"] == "Hours:\n\tSat 9-5\n\tSun 10-4"


def test_tampered_channel_ids_and_override_names_name_no_channel_and_break_nothing(sign_in, city, client):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    feed = city.parks_channels[0]
    data = form(page.text, channels=[str(feed), "²", "٣", str(2**64), "0", "-1"],
                **{"override-²": "x", f"override-{2**64}": "y", "translations-٣-title": "z"})
    r = browser.post("/staff/announcements/new", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    a = client.get(r.headers["location"].replace("/staff", "/api/v1"), headers=city.parks_staff.auth).json()
    assert a["channels"] == [feed] and a["overrides"] == {} and a["translations"] == {}


def test_a_publish_time_in_year_9999_is_refused_with_a_sentence_not_a_crash(sign_in, city, sessions, draft):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    for when in ("9999-12-31T23:00", "2199-06-01T09:00"):
        r = browser.post("/staff/announcements/new", data=form(page.text, publish_at=when), headers=HTML)
        assert r.status_code == 422 and "Choose a date within the next 5 years" in r.text, when
        preview = browser.post("/staff/announcements/preview", data=form(page.text, publish_at=when,
                               channels=[str(city.parks_channels[0])]))
        assert preview.status_code == 200
    a = draft()
    edit = browser.get(f"/staff/announcements/{a['id']}/edit")
    r = browser.post(f"/staff/announcements/{a['id']}/edit", data=form(edit.text, publish_at="9999-12-31T23:00"),
                     headers=HTML)
    assert r.status_code == 422 and "Choose a date within the next 5 years" in r.text
    assert announcements_in(sessions) == 1


def test_ids_too_large_for_the_database_in_page_addresses_are_the_ordinary_404(sign_in, city, draft):
    a = draft()
    staff, admin = sign_in(city.parks_staff), sign_in(city.admin)
    token = csrf_of(staff.get("/staff/announcements/new").text)
    for number in (str(2**31), "9999999999", str(2**63), str(2**64), "0", "-1", "²", "99999999999999999999"):
        for browser, path in [(staff, f"/announcements/{number}"), (staff, f"/staff/announcements/{number}"),
                              (staff, f"/staff/announcements/{number}/edit"), (admin, f"/staff/channels/{number}")]:
            r = browser.get(path, headers=HTML)
            assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), (path, r.status_code)
        for path in (f"/staff/announcements/{number}/submit", f"/staff/deliveries/{number}/retry",
                     f"/staff/announcements/{number}/approve", f"/staff/announcements/{number}/reject"):
            r = staff.post(path, data={"csrf_token": token, "reason": "x"}, headers=HTML)
            assert r.status_code in (404, 422) and r.status_code < 500, (path, r.status_code)
    assert staff.get(f"/staff/announcements/{a['id']}").status_code == 200


def test_the_calendar_refuses_dates_at_the_ends_of_the_calendar_with_a_sentence(sign_in, city):
    browser = sign_in(city.parks_staff)
    for when in ("9999-12-31", "0001-01-01"):
        for view in ("week", "month"):
            r = browser.get(f"/staff/calendar?view={view}&date={when}", headers=HTML)
            assert r.status_code == 422 and "the calendar shows dates from 1970" in r.text, (when, view)


def test_a_rejection_reason_with_hidden_characters_is_sent_back_to_the_approver(sign_in, city, client, draft):
    a = draft()
    client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    browser = sign_in(city.approver)
    page = browser.get(f"/staff/announcements/{a['id']}")
    r = browser.post(f"/staff/announcements/{a['id']}/reject", headers=HTML,
                     data={"csrf_token": csrf_of(page.text), "reason": "Fix the\x00 time", "back": "announcement"})
    assert r.status_code == 422 and "Reason contains an invisible control character (U+0000)" in r.text
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth).json()["state"] == "submitted"


def test_a_port_typed_as_a_superscript_two_is_asked_for_again(sign_in, city, sessions):
    browser = sign_in(city.admin)
    page = browser.get("/staff/channels")
    r = browser.post("/staff/channels", headers=HTML, data={
        "csrf_token": csrf_of(page.text), "department": "parks", "platform": "email", "name": "Parks mail",
        "settings.smtp_host": "127.0.0.1", "settings.smtp_port": "²", "settings.from": "parks@city.example",
        "settings.to": "list@city.example"})
    assert r.status_code == 422 and "Enter a whole number" in r.text
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Channel).where(Channel.name == "Parks mail")) == 0


def test_a_nul_that_slips_past_the_forms_into_a_query_is_a_422_page_not_a_crash(app):
    """The sign-in form validates nothing of its own; PostgreSQL refuses NUL in text."""
    from fastapi.testclient import TestClient

    with TestClient(app) as browser:
        page = browser.get("/staff/login")
        r = browser.post("/staff/login", headers=HTML, data={
            "email": "pat\x00@city.example", "password": "whatever", "csrf_token": csrf_of(page.text)})
    assert r.status_code < 500 and r.headers["content-type"].startswith("text/html")

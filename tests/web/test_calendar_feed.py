"""A person's private calendar address: the publishing calendar in their calendar app (iCalendar)."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from civicpost.calendar_feed import fold, text
from civicpost.db import utcnow
from civicpost.models import State
from tests.factories import create_dated
from tests.pages import csrf_of


def make_address(browser) -> str:
    page = browser.get("/staff/account")
    answer = browser.post("/staff/account/calendar-feed", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 200, answer.text
    found = re.search(r'id="calendar-url" type="text" readonly value="([^"]+)"', answer.text)
    assert found, "the page that answers the form shows the new address"
    return found.group(1).replace("&amp;", "&")


def path_of(url: str) -> str:
    return url[url.index("/staff/"):]


def events(body: str) -> list[dict[str, str]]:
    """The VEVENTs of an iCalendar document, each as {property: value}, lines unfolded."""
    unfolded = body.replace("\r\n ", "")
    found, current = [], None
    for line in unfolded.split("\r\n"):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            found.append(current)
            current = None
        elif current is not None and ":" in line:
            name, _, value = line.partition(":")
            current[name] = value
    return found


@pytest.fixture
def soon():
    return (utcnow() + timedelta(days=2)).replace(microsecond=0)


def test_staff_subscribe_to_their_departments_calendar_without_signing_in(client, sign_in, city, sessions, soon):
    create_dated(sessions, city, "Pool opens Saturday", publish_at=soon)
    create_dated(sessions, city, "Road closure", department="police", publish_at=soon + timedelta(hours=1))
    url = make_address(sign_in(city.parks_staff))
    assert url.startswith("http") and "/staff/calendar.ics?key=" in url

    answer = client.get(path_of(url))  # no cookie: a calendar app
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    body = answer.text
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    (pool,) = events(body)  # Police's closure is not Parks staff's to see
    assert pool["SUMMARY"] == "Pool opens Saturday (Parks and Recreation)"
    assert pool["DTSTART"] == soon.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert pool["STATUS"] == "TENTATIVE" and pool["DURATION"] == "PT15M"
    assert re.fullmatch(r"http://[^/]+/staff/announcements/\d+", pool["URL"])

    approver = make_address(sign_in(city.approver))
    titles = sorted(e["SUMMARY"] for e in events(client.get(path_of(approver)).text))
    assert titles == ["Pool opens Saturday (Parks and Recreation)", "Road closure (Police Department)"]


def test_titles_with_commas_semicolons_line_breaks_and_any_script_survive_in_folded_lines(
    client, sign_in, city, sessions, soon
):
    title = "Café, ñandú; 🎉 Ærø\nsecond line \\ backslash — " + "долгий заголовок " * 6
    create_dated(sessions, city, title, publish_at=soon)
    body = client.get(path_of(make_address(sign_in(city.parks_staff)))).text
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    (event,) = events(body)
    assert event["SUMMARY"] == text(title + " (Parks and Recreation)")
    assert "\\," in event["SUMMARY"] and "\\;" in event["SUMMARY"] and "\\n" in event["SUMMARY"]
    assert "\n" not in event["SUMMARY"]


def test_folding_never_splits_a_character():
    line = "SUMMARY:" + "é🎉" * 40
    folded = fold(line)
    parts = folded.split("\r\n ")
    assert "".join(parts) == line
    assert all(len(p.encode()) <= (75 if i == 0 else 74) for i, p in enumerate(parts))


def test_a_new_address_stops_the_old_one_and_stopping_leaves_none(client, sign_in, city):
    browser = sign_in(city.parks_staff)
    first = make_address(browser)
    second = make_address(browser)
    assert client.get(path_of(first)).status_code == 404
    assert client.get(path_of(second)).status_code == 200

    page = browser.get("/staff/account")
    assert second.split("key=")[1] not in page.text, "the address is shown once, never again"
    assert "You made a calendar address on" in page.text
    stopped = browser.post("/staff/account/calendar-feed/revoke", data={"csrf_token": csrf_of(page.text)},
                           follow_redirects=True)
    assert "Your calendar address is stopped" in stopped.text
    assert client.get(path_of(second)).status_code == 404
    assert "You have no calendar address." in browser.get("/staff/account").text


def test_a_deactivated_persons_address_reads_nothing(client, sign_in, city):
    url = make_address(sign_in(city.parks_staff))
    r = client.patch(f"/api/v1/users/{city.parks_staff.id}", headers=city.admin.auth, json={"active": False})
    assert r.status_code == 200, r.text
    assert client.get(path_of(url)).status_code == 404


@pytest.mark.parametrize("key", ["", "x", "A" * 42, "A" * 44, "A" * 200, "' OR 1=1 --" + "A" * 32,
                                 "ÄAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "A" * 42 + "\n"])
def test_a_wrong_key_is_a_plain_404(client, city, key):
    answer = client.get("/staff/calendar.ics", params={"key": key}, headers={"accept": "text/html"})
    assert answer.status_code in (404, 422)
    assert "Traceback" not in answer.text and "sqlalchemy" not in answer.text.lower()
    if answer.status_code == 404:
        assert "/staff/account" in answer.text


def test_an_unchanged_calendar_answers_304_and_a_change_shows_at_once(client, sign_in, city, sessions, soon):
    path = path_of(make_address(sign_in(city.parks_staff)))
    first = client.get(path)
    tag = first.headers["etag"]
    assert client.get(path, headers={"if-none-match": tag}).status_code == 304
    create_dated(sessions, city, "Leaf pickup", publish_at=soon)
    changed = client.get(path, headers={"if-none-match": tag})
    assert changed.status_code == 200 and "Leaf pickup" in changed.text and changed.headers["etag"] != tag


def test_published_announcements_show_as_confirmed_and_old_ones_drop_out(client, sign_in, city, sessions):
    now = utcnow()
    create_dated(sessions, city, "Went out yesterday", state=State.published,
                 publish_at=now - timedelta(days=1), published_at=now - timedelta(days=1))
    create_dated(sessions, city, "Went out last year", state=State.published,
                 publish_at=datetime(now.year - 1, 1, 5, tzinfo=UTC))
    found = events(client.get(path_of(make_address(sign_in(city.parks_staff)))).text)
    assert [(e["SUMMARY"], e["STATUS"]) for e in found] == [("Went out yesterday (Parks and Recreation)", "CONFIRMED")]


def test_making_or_stopping_an_address_needs_the_forms_token(sign_in, city):
    browser = sign_in(city.parks_staff)
    assert browser.post("/staff/account/calendar-feed", data={}).status_code == 403
    assert browser.post("/staff/account/calendar-feed/revoke", data={"csrf_token": "forged"}).status_code == 403

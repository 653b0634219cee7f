"""Plain words on every page: one date format for the city, the time zone
named once, platforms named as their owners write them, fingerprints behind a
"Details" disclosure, "Preview" the same word everywhere, a platform's error
as a sentence (never a Python repr, never a reason phrase said twice), and a
favicon served from the app itself."""

import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from civicpost.audit import record
from civicpost.config import Settings
from civicpost.db import transaction
from civicpost.engine.outcomes import Facts, decide
from civicpost.models import DeliveryStatus, State
from civicpost.platforms import PlatformError, build_adapter
from civicpost.web import create_app
from tests.factories import PASSWORD, create_approved, create_channel, create_submitted, make_outgoing, set_outcome
from tests.pages import csrf_of

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "pages"
HTML = {"accept": "text/html"}

# The city's one way to write a moment, a day, or (under a day's heading) a time.
FULL = re.compile(r"[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4}, \d{1,2}:\d{2} [ap]\.m\. [A-Z][A-Za-z0-9+-]{1,5}")
DAY = re.compile(r"[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4}")
CLOCK = re.compile(r"\d{1,2}:\d{2} [ap]\.m\.")
TIME_ELEMENT = re.compile(r"<time datetime=\"([^\"]+)\">(.*?)</time>", re.S)


def times_on(html: str) -> list[str]:
    return [words for _, words in TIME_ELEMENT.findall(html)]


@pytest.fixture
def published(client, city, sessions) -> dict:
    """An approved announcement the engine has published on every channel."""
    a = create_approved(client, city, title="Pool opens Saturday")
    set_outcome(sessions, a["id"], State.published, DeliveryStatus.published, published_at=datetime.now(UTC),
                remote_url="https://city.example/posts/1")
    return a


def pages_of(sign_in, city, a: dict) -> dict[str, str]:
    staff, approver, admin = sign_in(city.parks_staff), sign_in(city.approver), sign_in(city.admin)
    found = {
        "public home": staff.get("/"),
        "public announcement": staff.get(f"/announcements/{a['id']}"),
        "staff announcement": staff.get(f"/staff/announcements/{a['id']}"),
        "calendar week": staff.get("/staff/calendar?view=week"),
        "calendar month": staff.get("/staff/calendar?view=month"),
        "new draft": staff.get("/staff/announcements/new"),
        "approvals": approver.get("/staff/approvals"),
        "channels": admin.get("/staff/channels"),
        "channel": admin.get(f"/staff/channels/{city.parks_channels[0]}"),
        "user": admin.get(f"/staff/users/{city.parks_staff.id}"),
    }
    for name, response in found.items():
        assert response.status_code == 200, f"{name}: {response.status_code}"
    return {name: response.text for name, response in found.items()}


def test_every_time_a_person_reads_is_in_the_citys_one_format(sign_in, city, client, published):
    create_submitted(client, city, title="Dog park closed", publish_at="2030-12-01T09:00:00-05:00")
    pages = pages_of(sign_in, city, published)

    seen = {name: times_on(html) for name, html in pages.items()}
    for name, words in seen.items():
        for said in words:
            assert FULL.fullmatch(said) or DAY.fullmatch(said) or CLOCK.fullmatch(said), f"{name}: {said!r}"
    assert "Sun 1 Dec 2030, 9:00 a.m. EST" in seen["approvals"]
    for name in ("public home", "public announcement", "staff announcement", "user"):
        assert any(FULL.fullmatch(said) for said in seen[name]), f"{name} shows no full time: {seen[name]}"
    # The same moment reads the same on the public and the staff page.
    assert set(seen["public announcement"]) & set(seen["staff announcement"])


def test_no_page_writes_am_or_pm_or_a_month_first_date_of_its_own(sign_in, city, published):
    for name, html in pages_of(sign_in, city, published).items():
        text = re.sub(r"<[^>]+>", " ", html)
        assert not re.search(r"\d{1,2}:\d{2} ?[AP]M\b", text), name
        assert not re.search(r"\b(January|February|March|April|May|June|July|August|September|October|November"
                             r"|December) \d{1,2}, \d{4}", text), name


def test_templates_leave_formatting_to_the_when_filter():
    for path in TEMPLATES.rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        assert "strftime" not in source, f"{path.name} formats a time itself: use the when filter"


def test_the_time_zone_is_named_once(sign_in, city, published):
    pages = pages_of(sign_in, city, published)
    for name, html in pages.items():
        assert not re.search(r"\b([A-Za-z_/]+) \(\1\)", html), name
    zone_words = re.search(r"Date and time in ([^.<]+)\.", pages["new draft"])
    assert zone_words and zone_words.group(1) in ("America/New_York (EST)", "America/New_York (EDT)")


def test_a_city_in_utc_is_told_utc_once(city, settings, engine):
    with TestClient(create_app(settings.model_copy(update={"timezone": "UTC"}), engine=engine)) as browser:
        login = browser.get("/staff/login")
        form = {"email": "pat@city.example", "password": PASSWORD, "csrf_token": csrf_of(login.text), "next": "/staff/"}
        assert browser.post("/staff/login", data=form, follow_redirects=False).status_code == 303
        page = browser.get("/staff/announcements/new").text
    assert "Date and time in UTC." in page and "UTC (UTC)" not in page


def test_platforms_are_named_as_their_owners_write_them(sign_in, city, client, published, sessions):
    for platform in ("x", "facebook", "bluesky"):
        create_channel(client, city.admin, platform, name=f"Parks account {platform}")
    with transaction(sessions) as session:
        record(session, actor=None, actor_label="worker", action="delivery.published", object_type="announcement",
               object_id=published["id"], detail={"platform": "bluesky", "channel": city.parks_channels[0]})
    channels = sign_in(city.admin).get("/staff/channels").text
    # The cell's words, beside its icon.
    shown = [re.sub(r"<[^>]+>", "", cell).strip()
             for cell in re.findall(r'<td data-label="Platform">(.*?)</td>', channels, re.DOTALL)]
    assert {"X", "Facebook", "Bluesky", "City website", "Webhook"} <= set(shown), shown
    page = sign_in(city.parks_staff).get(f"/staff/announcements/{published['id']}").text
    assert "Published on Bluesky" in page and "on bluesky" not in page


def test_fingerprints_sit_behind_a_details_disclosure(sign_in, city, client):
    a = create_approved(client, city)
    page = sign_in(city.parks_staff).get(f"/staff/announcements/{a['id']}").text
    history = page[page.index('id="history-heading"'):]
    assert a["fingerprint"] in history
    outside = re.sub(r"<details.*?</details>", "", history, flags=re.S)
    assert not re.search(r"[0-9a-f]{12}", outside), "a fingerprint shows outside its Details"
    assert re.search(r"<details[^>]*><summary>Details", history)


def test_preview_is_the_same_word_on_every_page(sign_in, city, client):
    a = create_submitted(client, city)
    staff, approver = sign_in(city.parks_staff), sign_in(city.approver)
    form = staff.get("/staff/announcements/new").text
    assert '<h2 id="preview-heading">Preview</h2>' in form
    assert 'value="preview" class="secondary" formnovalidate>Preview</button>' in form
    assert "press “Preview”" in form and "Update preview" not in form
    assert '<h2 id="preview-heading">Preview</h2>' in staff.get(f"/staff/announcements/{a['id']}").text
    queue = approver.get("/staff/approvals").text
    assert "<h3>Preview</h3>" in queue and "How it looks on each channel" not in queue


def webhook_refusal(status: int, reason_body: dict) -> str:
    url = "https://hooks.city.example/in"
    with respx.mock(assert_all_called=True) as router:
        router.post(url).respond(status, json=reason_body)
        adapter = build_adapter("webhook", {"secret": "s"}, {"url": url}, timeout=5, allow_private_network=True)
        with pytest.raises(PlatformError) as caught:
            adapter.publish(make_outgoing(text='{"title": "Pools open"}'))
    return str(caught.value)


def test_a_platform_whose_message_is_its_reason_phrase_is_not_quoted_twice():
    said = webhook_refusal(403, {"error": "Forbidden"})
    assert said == "the webhook receiver answered 403 Forbidden", said
    assert "Forbidden Forbidden" not in said and "Forbidden: Forbidden" not in said
    said = webhook_refusal(403, {"error": "token expired"})
    assert said == "the webhook receiver answered 403 Forbidden: token expired", said


@pytest.mark.parametrize(("error", "said"), [
    (RuntimeError("connection reset", "by peer"), "connection reset by peer"),
    (ConnectionRefusedError(111, "Connection refused"), "Connection refused"),
    (OSError(), "an error without a message (OSError)"),
])
def test_an_unexpected_error_reaches_staff_as_words_never_a_python_repr(error, said):
    sending = Facts(status=DeliveryStatus.sending, attempts=1, reconcile=False)
    decision = decide(error, sending, settings=Settings(env="test", database_url="sqlite://"), now=datetime.now(UTC))
    assert said in decision.note and "(" not in decision.note.replace("(OSError)", ""), decision.note


def test_an_unreachable_platform_is_named_in_words():
    with respx.mock() as router:
        router.post("https://hooks.city.example/in").mock(side_effect=httpx.ConnectError("connection refused"))
        adapter = build_adapter("webhook", {"secret": "s"}, {"url": "https://hooks.city.example/in"}, timeout=5,
                                allow_private_network=True)
        with pytest.raises(PlatformError) as caught:
            adapter.publish(make_outgoing(text='{"title": "Pools open"}'))
    assert str(caught.value) == "webhook not delivered: connection refused"


def test_a_delivery_error_is_shown_as_stored(sign_in, city, client, sessions):
    a = create_approved(client, city)
    stored = "X answered 403 Forbidden: You are not allowed to create a Tweet with duplicate content."
    set_outcome(sessions, a["id"], State.failed, DeliveryStatus.failed, last_error=stored)
    page = sign_in(city.parks_staff).get(f"/staff/announcements/{a['id']}").text
    dashboard = sign_in(city.parks_staff).get("/staff/").text
    for html in (page, dashboard):
        assert stored in html and "Forbidden Forbidden" not in html and "('" not in html


def test_the_favicon_is_an_svg_served_by_the_app_and_linked_from_every_page(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.lstrip().startswith("<svg") and "<title>" in icon.text
    # Nothing from another host: the only address in it is the SVG namespace.
    assert re.findall(r"https?://[^\"' ]+", icon.text) == ["http://www.w3.org/2000/svg"]
    for path in ("/", "/directory", "/staff/login"):
        html = client.get(path, headers=HTML).text
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html, path
    assert client.get("/static/favicon.svg").content == icon.content


def test_a_calendar_day_is_written_like_every_other_date(sign_in, city):
    week = sign_in(city.parks_staff).get("/staff/calendar?view=week&date=2026-03-08").text
    assert "Week of Mon 2 Mar 2026 to Sun 8 Mar 2026" in week
    assert '<time datetime="2026-03-08">Sun 8 Mar 2026</time>' in week


def test_the_form_words_the_odd_hours_of_daylight_saving_in_the_citys_format(sign_in, city):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new").text
    draft = {"csrf_token": csrf_of(page), "department": "parks", "title": "Pool opens", "body": "Opens at 9 a.m.",
             "language": "en", "action": "save"}
    twice = browser.post("/staff/announcements/new", data={**draft, "publish_at": "2030-11-03T01:30"}).text
    assert ("1:30 a.m. happens twice on Sun 3 Nov 2030 in America/New_York, because the clocks go back that night; "
            "civicpost uses the first one, Sun 3 Nov 2030, 1:30 a.m. EDT.") in twice
    missing = browser.post("/staff/announcements/new", data={**draft, "publish_at": "2030-03-10T02:30"}).text
    assert "2:30 a.m. does not exist on Sun 10 Mar 2030 in America/New_York" in missing


def test_an_error_page_says_what_happened_in_words_once(sign_in, city, client):
    refused = sign_in(city.parks_staff).get("/staff/users", headers=HTML)
    assert refused.status_code == 403 and "<h1>Not allowed</h1>" in refused.text
    assert "<p>This page is for administrators.</p>" in refused.text
    missing = client.get("/announcements/999999", headers=HTML)
    assert missing.status_code == 404 and "<h1>Page not found</h1>" in missing.text
    assert "<p>there is no published announcement at this address</p>" in missing.text
    wrong_method = client.put("/directory", headers=HTML)
    assert wrong_method.status_code == 405 and "<h1>That cannot be done here</h1>" in wrong_method.text
    for page in (refused, missing, wrong_method):
        body = page.text[page.text.index("<main"):]
        # The standard reason phrases are for programs (the API's problem JSON), not for people.
        assert not re.search(r"Forbidden|Not Found|Method Not Allowed", body), body


def test_a_persons_recent_changes_are_in_words(sign_in, city):
    page = sign_in(city.admin).get(f"/staff/users/{city.parks_staff.id}").text
    changes = page[page.index('id="history-heading"'):]
    assert "Added by" in changes and "API token made by" in changes and "user.create" not in changes

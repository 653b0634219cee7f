"""Writing an announcement in the staff form: saved through the same services as the API."""

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from sqlalchemy import func, select

from civicpost.models import Announcement, AuditEvent, Media, State
from tests.factories import create_channel, grant_emergency_publisher, make_png
from tests.pages import csrf_of


def form_data(page_html: str, **fields) -> dict:
    data = {"csrf_token": csrf_of(page_html), "department": "parks", "title": "Pool opens Saturday",
            "body": "The Elm Street pool opens Saturday at 9 a.m.", "language": "en", "action": "save"}
    data.update(fields)
    return data


def field_tag(html: str, field_id: str) -> str:
    match = re.search(rf'<(?:input|textarea|select)[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert match, f"no field {field_id}"
    return match.group(0)


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_form_creates_a_draft_with_translation_channels_override_image_and_a_local_publish_time(
        sign_in, city, client, sessions):
    grant_emergency_publisher(client, city.admin, city.parks_staff)
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    assert page.status_code == 200 and "America/New_York (" in page.text
    feed, hook = city.parks_channels
    data = form_data(
        page.text,
        **{"translations-0-language": "es", "translations-0-title": "La piscina abre el sábado",
           "translations-0-body": "La piscina de Elm Street abre el sábado a las 9.",
           "channels": [str(feed), str(hook)], f"override-{hook}": "Pool opens Saturday (partner text)",
           "image_alt": "The Elm Street pool, empty and sunny", "publish_at": "2030-07-04T09:00", "emergency": "yes"},
    )
    picture = make_png((20, 140, 60), size=(40, 30))
    r = browser.post("/staff/announcements/new", data=data, files={"image_file": ("pool.png", picture, "image/png")},
                     follow_redirects=False)
    assert r.status_code == 303, r.text
    a = client.get(r.headers["location"].replace("/staff", "/api/v1"), headers=city.parks_staff.auth).json()
    assert a["state"] == "draft" and a["emergency"] is True
    assert a["translations"] == {"es": {"title": "La piscina abre el sábado",
                                        "body": "La piscina de Elm Street abre el sábado a las 9."}}
    assert a["channels"] == sorted([feed, hook]) and a["overrides"] == {str(hook): "Pool opens Saturday (partner text)"}
    assert len(a["media"]) == 1 and a["media"][0]["alt_text"] == "The Elm Street pool, empty and sunny"
    # 9 a.m. in July is EDT (UTC-4).
    assert a["publish_at"] == "2030-07-04T09:00:00-04:00"
    with sessions() as session:
        assert session.get(Media, a["media"][0]["id"]) is not None
    shown = browser.get(r.headers["location"])
    assert "Saved as a draft" in shown.text and "Thu 4 Jul 2030, 9:00 a.m. EDT" in shown.text


def test_a_winter_publish_time_is_read_as_standard_time(sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    r = browser.post("/staff/announcements/new", data=form_data(page.text, publish_at="2030-12-01T09:00"),
                     follow_redirects=False)
    assert r.status_code == 303
    with sessions() as session:
        assert session.scalars(select(Announcement)).one().publish_at == datetime(2030, 12, 1, 14, 0, tzinfo=UTC)


def test_a_time_that_happens_twice_when_clocks_go_back_uses_the_first_and_says_so(sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    r = browser.post("/staff/announcements/new", data=form_data(page.text, publish_at="2030-11-03T01:30"))
    assert r.status_code == 200 and "happens twice" in r.text
    with sessions() as session:
        assert session.scalars(select(Announcement)).one().publish_at == datetime(2030, 11, 3, 5, 30, tzinfo=UTC)


def test_a_time_skipped_when_clocks_go_forward_is_refused_on_its_field(sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    r = browser.post("/staff/announcements/new", data=form_data(page.text, publish_at="2030-03-10T02:30"))
    assert r.status_code == 422 and "does not exist" in r.text
    assert 'aria-invalid="true"' in field_tag(r.text, "publish_at")
    assert count(sessions, Announcement) == 0


def test_validation_errors_keep_what_was_typed_and_are_tied_to_their_fields(sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    feed = city.parks_channels[0]
    data = form_data(page.text, title="", link="not a web address", body="Keep this text, please.",
                     channels=[str(feed)], **{"translations-0-title": "Sin idioma"})
    r = browser.post("/staff/announcements/new", data=data)
    assert r.status_code == 422
    html = r.text
    for field_id in ("title", "link", "translations-0-language"):
        tag = field_tag(html, field_id)
        assert 'aria-invalid="true"' in tag and f"{field_id}-error" in tag
        assert f'id="{field_id}-error"' in html
    assert "Keep this text, please.</textarea>" in html and 'value="not a web address"' in html
    assert "Sin idioma" in html
    assert re.search(rf'id="channel-{feed}"[^>]*checked', html)
    assert 'href="#title"' in html  # the summary links to the field
    assert count(sessions, Announcement) == 0


def test_a_service_refusal_is_tied_to_its_field_and_nothing_is_written(sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    events = count(sessions, AuditEvent)
    # A Police channel in a Parks announcement: editing.create refuses it.
    r = browser.post("/staff/announcements/new",
                     data=form_data(page.text, channels=[str(city.police_channels[0])], action="submit"))
    assert r.status_code == 422 and "belongs to another department" in r.text
    assert 'id="channels-error"' in r.text and 'aria-describedby="channels-error"' in r.text
    assert count(sessions, Announcement) == 0 and count(sessions, AuditEvent) == events


def test_submitting_without_channels_leaves_no_draft_behind(sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    r = browser.post("/staff/announcements/new", data=form_data(page.text, action="submit"))
    assert r.status_code == 422 and "choose at least one channel" in r.text.lower()
    assert count(sessions, Announcement) == 0


def test_submit_for_approval_from_the_form_submits_it(sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    r = browser.post("/staff/announcements/new",
                     data=form_data(page.text, channels=[str(city.parks_channels[0])], action="submit"))
    assert "Submitted for approval" in r.text
    with sessions() as session:
        assert session.scalars(select(Announcement)).one().state == State.submitted


def test_an_image_that_is_not_an_image_is_refused_on_the_file_field(sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    r = browser.post("/staff/announcements/new", data=form_data(page.text),
                     files={"image_file": ("photo.jpg", b"%PDF-1.7 not a picture", "image/jpeg")})
    assert r.status_code == 422 and 'aria-invalid="true"' in field_tag(r.text, "image_file")
    assert count(sessions, Announcement) == 0 and count(sessions, Media) == 0


def test_the_form_offers_only_my_departments_and_their_channels(sign_in, city):
    page = sign_in(city.parks_staff).get("/staff/announcements/new").text
    assert 'data-department="parks"' in page and 'data-department="police"' not in page
    assert f'id="channel-{city.parks_channels[0]}"' in page and f'id="channel-{city.police_channels[0]}"' not in page
    admin_page = sign_in(city.admin).get("/staff/announcements/new").text
    assert 'data-department="police"' in admin_page and 'data-department="parks"' in admin_page


def test_the_preview_button_shows_cards_without_saving(sign_in, city, client, sessions):
    x = create_channel(client, city.admin, "x")
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    r = browser.post("/staff/announcements/new",
                     data=form_data(page.text, body="Join us! #parksandrec", channels=[str(x)], action="preview"))
    assert r.status_code == 200 and " / 280" in r.text and "#ParksAndRec" in r.text
    assert 'value="Pool opens Saturday"' in r.text
    assert count(sessions, Announcement) == 0


def test_the_preview_endpoint_returns_cards_with_counters_and_suggestions_and_stores_nothing(sign_in, city, client, sessions):
    x = create_channel(client, city.admin, "x")
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    events = count(sessions, AuditEvent)
    data = form_data(page.text, body="Join us at the pool! #parksandrec", channels=[str(x), str(city.parks_channels[0])])
    token = data.pop("csrf_token")
    r = browser.post("/staff/announcements/preview", data=data, headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and "<html" not in r.text
    assert re.search(r'class="counter-value">\d+ / 280<', r.text)
    assert "#ParksAndRec" in r.text and "Parks on X" in r.text and "City website" in r.text
    assert count(sessions, Announcement) == 0 and count(sessions, AuditEvent) == events


def test_an_over_long_post_shows_its_counter_as_an_error(sign_in, city, client):
    x = create_channel(client, city.admin, "x")
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    data = form_data(page.text, body="The Elm Street pool opens Saturday. " * 12, channels=[str(x)])
    r = browser.post("/staff/announcements/preview", data=data)
    assert 'class="counter counter-over"' in r.text and "too long" in r.text


def test_the_preview_of_another_department_shows_nothing(sign_in, city):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    data = form_data(page.text, department="police", channels=[str(city.police_channels[0])])
    r = browser.post("/staff/announcements/preview", data=data)
    assert r.status_code == 200 and "police City website" not in r.text


def test_a_form_post_without_the_csrf_token_is_refused(sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    data = form_data(page.text)
    del data["csrf_token"]
    assert browser.post("/staff/announcements/new", data=data).status_code == 403
    assert browser.post("/staff/announcements/preview", data=data).status_code == 403
    assert count(sessions, Announcement) == 0


def test_editing_a_draft_changes_it_and_keeps_its_publish_time(sign_in, city, client, draft):
    a = draft(publish_at="2030-07-04T09:00:00-04:00")
    browser = sign_in(city.parks_staff)
    page = browser.get(f"/staff/announcements/{a['id']}/edit")
    assert page.status_code == 200 and 'value="2030-07-04T09:00"' in page.text
    data = form_data(page.text, title="Pool opens Sunday", publish_at="2030-07-04T09:00",
                     channels=[str(c) for c in a["channels"]])
    r = browser.post(f"/staff/announcements/{a['id']}/edit", data=data, follow_redirects=False)
    assert r.status_code == 303
    after = client.get(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth).json()
    assert after["title"] == "Pool opens Sunday" and after["publish_at"] == "2030-07-04T09:00:00-04:00"


class _Structure(HTMLParser):
    """What axe-core would trip over first: duplicate ids, unlabelled controls, dangling references, empty names."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.labels: set[str] = set()
        self.controls: list[str] = []
        self.references: list[str] = []
        self.names: list[tuple[str, list[str]]] = []  # open <a>/<button>/<label>, and its text

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        self.references += (a.get("aria-describedby") or "").split() + (a.get("aria-labelledby") or "").split()
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        if (tag in ("textarea", "select") or (tag == "input" and a.get("type") not in ("hidden", "submit", "button"))) \
                and "aria-label" not in a:
            self.controls.append(a.get("id") or f"<{tag} name={a.get('name')}> without id")
        if tag in ("a", "button", "label"):
            self.names.append((tag, []))

    def handle_data(self, data):
        for _, text in self.names:
            text.append(data)

    def handle_endtag(self, tag):
        if tag in ("a", "button", "label") and self.names:
            opened, text = self.names.pop()
            assert "".join(text).strip(), f"a <{opened}> with no text"

    def problems(self) -> list[str]:
        seen, found = set(), []
        for i in self.ids:
            if i in seen:
                found.append(f"duplicate id {i}")
            seen.add(i)
        found += [f"unlabelled control {c}" for c in self.controls if c not in self.labels]
        found += [f"reference to missing id {r}" for r in self.references if r not in seen]
        return found


def structure_problems(html: str) -> list[str]:
    parser = _Structure()
    parser.feed(html)
    return parser.problems()


def test_every_drafting_page_has_unique_ids_labelled_controls_and_real_references(sign_in, city, client, draft):
    x = create_channel(client, city.admin, "x")
    browser = sign_in(city.parks_staff)
    new = browser.get("/staff/announcements/new").text
    invalid = browser.post("/staff/announcements/new", data=form_data(new, title="", link="nope", channels=[str(x)],
                                                                      publish_at="2030-03-10T02:30")).text
    previewed = browser.post("/staff/announcements/new",
                             data=form_data(new, body="#parksandrec", channels=[str(x)], action="preview")).text
    a = draft(channels=[x], body="Join us! #parksandrec")
    client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    b = draft(title="Second one")
    client.post(f"/api/v1/announcements/{b['id']}/submit", headers=city.parks_staff.auth)
    approver = sign_in(city.approver)
    queue = approver.get("/staff/approvals").text
    refused = approver.post(f"/staff/announcements/{a['id']}/reject", data={"csrf_token": csrf_of(queue), "reason": ""}).text
    pages = {
        "new": new, "invalid": invalid, "previewed": previewed, "queue": queue, "refused": refused,
        "edit": browser.get(f"/staff/announcements/{a['id']}/edit").text,
        "announcement": approver.get(f"/staff/announcements/{a['id']}").text,
        "confirm": browser.get(f"/staff/announcements/{a['id']}/cancel").text,
    }
    assert 'aria-invalid="true"' in invalid and 'aria-invalid="true"' in refused
    for name, html in pages.items():
        assert structure_problems(html) == [], name
        assert '<html lang="en">' in html and "<main" in html and html.count("<h1") == 1, name

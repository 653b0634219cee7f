"""The draft form's Alert details: for those who may flag an emergency, checked by the API's own rules."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.factories import grant_emergency_publisher
from tests.pages import csrf_of

CITY = ZoneInfo("America/New_York")  # the tests' CIVICPOST_TIMEZONE
POLYGON = "39.78,-89.65 39.79,-89.64 39.77,-89.63 39.78,-89.65"


def _publisher(sign_in, city, client):
    """Parks' staff member, made an emergency publisher, signed in."""
    grant_emergency_publisher(client, city.admin, city.parks_staff)
    return sign_in(city.parks_staff)


def _local(moment: datetime) -> str:
    return moment.astimezone(CITY).strftime("%Y-%m-%dT%H:%M")


def _fields(page: str, **changes: str) -> dict[str, str]:
    ends = (datetime.now(UTC) + timedelta(hours=6)).replace(second=0, microsecond=0)
    return {
        "csrf_token": csrf_of(page), "department": "parks", "title": "Boil water notice",
        "body": "Boil tap water for one minute before drinking.", "language": "en", "emergency": "yes",
        "alert-event": "Water main break", "alert-category": "Infra", "alert-urgency": "Immediate",
        "alert-severity": "Severe", "alert-certainty": "Observed", "alert-expires": _local(ends),
        "alert-instruction": "Boil water before drinking.", "alert-area_desc": "East side, Elm to Oak Street",
        "alert-polygon": POLYGON, "alert-exercise": "yes", "action": "save", **changes,
    }


def test_an_emergency_publisher_fills_the_alert_details_and_finds_them_again_on_the_edit_form(sign_in, city,
                                                                                              client):
    browser = _publisher(sign_in, city, client)
    page = browser.get("/staff/announcements/new")
    assert '<legend>Alert details</legend>' in page.text and 'id="alert-details"' in page.text
    assert "Utilities and infrastructure (water, power)" in page.text  # CAP's values in plain words
    sent = _fields(page.text)

    r = browser.post("/staff/announcements/new", data=sent, follow_redirects=False)

    assert r.status_code == 303, r.text
    announcement_id = int(r.headers["location"].rsplit("/", 1)[1])
    alert = client.get(f"/api/v1/announcements/{announcement_id}", headers=city.parks_staff.auth).json()["alert"]
    assert {k: alert[k] for k in ("event", "category", "urgency", "severity", "certainty", "instruction",
                                  "area_desc", "polygon", "exercise")} == {
        "event": "Water main break", "category": "Infra", "urgency": "Immediate", "severity": "Severe",
        "certainty": "Observed", "instruction": "Boil water before drinking.",
        "area_desc": "East side, Elm to Oak Street", "polygon": POLYGON, "exercise": True}
    assert _local(datetime.fromisoformat(alert["expires"])) == sent["alert-expires"]  # the city's wall clock
    edit = browser.get(f"/staff/announcements/{announcement_id}/edit").text
    assert f'value="{sent["alert-expires"]}"' in edit and 'value="Water main break"' in edit
    assert '<option value="Severe" selected>' in edit and 'id="alert-exercise" name="alert-exercise" value="yes" ' \
        'checked' in edit

    # Emptying every field on the edit form removes the alert; the announcement stays an emergency.
    cleared = {k: ("" if k.startswith("alert-") else v) for k, v in _fields(edit).items()}
    cleared.pop("alert-exercise")
    assert browser.post(f"/staff/announcements/{announcement_id}/edit", data=cleared,
                        follow_redirects=False).status_code == 303
    after = client.get(f"/api/v1/announcements/{announcement_id}", headers=city.parks_staff.auth).json()
    assert after["alert"] is None and after["emergency"] is True


def test_each_wrong_field_is_named_beside_it_and_the_form_keeps_what_was_typed(sign_in, city, client):
    browser = _publisher(sign_in, city, client)
    page = browser.get("/staff/announcements/new")
    past = _local(datetime.now(UTC) - timedelta(hours=2))

    r = browser.post("/staff/announcements/new", data=_fields(
        page.text, **{"alert-event": "", "alert-category": "", "alert-polygon": "39.78,-89.65 nowhere",
                      "alert-expires": past, "alert-severity": "Apocalyptic"}))

    assert r.status_code == 422
    text = r.text
    assert 'id="alert-event-error"' in text and "Enter the event: what is happening" in text
    assert 'id="alert-category-error"' in text and "Choose a category." in text
    assert 'id="alert-severity-error"' in text and "Choose how severe it is." in text
    assert 'id="alert-polygon-error"' in text and "The polygon is not a CAP polygon" in text
    assert 'id="alert-expires-error"' in text and "The end time is in the past" in text
    assert 'aria-describedby="alert-polygon-hint alert-polygon-error" aria-invalid="true"' in text
    # What was typed is shown back, wrong parts included; the summary links to each field.
    assert "39.78,-89.65 nowhere</textarea>" in text and f'value="{past}"' in text
    assert 'value="East side, Elm to Oak Street"' in text and 'href="#alert-polygon"' in text
    assert client.get("/api/v1/announcements", headers=city.parks_staff.auth).json()["items"] == []


def test_an_alert_that_ends_before_the_publish_time_is_refused_beside_the_end_time(sign_in, city, client):
    browser = _publisher(sign_in, city, client)
    page = browser.get("/staff/announcements/new")
    publish = datetime.now(UTC) + timedelta(days=2)
    r = browser.post("/staff/announcements/new", data=_fields(page.text, publish_at=_local(publish)))
    assert r.status_code == 422
    assert 'id="alert-expires-error"' in r.text and "The alert would expire before the announcement is published" \
        in r.text


def test_alert_details_without_the_emergency_box_ask_for_one_or_the_other(sign_in, city, client):
    browser = _publisher(sign_in, city, client)
    page = browser.get("/staff/announcements/new")
    sent = _fields(page.text)
    sent.pop("emergency")
    r = browser.post("/staff/announcements/new", data=sent)
    assert r.status_code == 422
    assert 'id="emergency-error"' in r.text and "Alert details are only for an emergency" in r.text


def test_an_emergency_publisher_sees_the_alert_details_and_ordinary_staff_do_not(sign_in, city, client):
    staff = sign_in(city.parks_staff)
    page = staff.get("/staff/announcements/new")
    assert "Alert details" not in page.text and 'name="alert-event"' not in page.text
    # Alert fields forged by a staff member are not read: the draft is saved without them.
    sent = _fields(page.text)
    sent.pop("emergency")
    r = staff.post("/staff/announcements/new", data=sent, follow_redirects=False)
    assert r.status_code == 303
    saved = int(r.headers["location"].rsplit("/", 1)[1])
    assert client.get(f"/api/v1/announcements/{saved}", headers=city.parks_staff.auth).json()["alert"] is None
    assert 'name="alert-event"' not in staff.get(f"/staff/announcements/{saved}/edit").text

    grant_emergency_publisher(client, city.admin, city.parks_staff)
    assert 'name="alert-event"' in staff.get("/staff/announcements/new").text

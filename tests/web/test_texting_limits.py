"""An admin sets the city's monthly SMS cap and quiet hours in the app (/staff/topics and /api/v1/texting);
the environment's values are the default until then; the change is audited; the estimate before approval
uses what the admin set."""

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from civicpost.db import transaction
from civicpost.models import AuditEvent
from tests.factories import create_channel, create_submitted, create_texting_subscribers
from tests.pages import csrf_of


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={
        "sms_account_sid": "AC" + "1" * 32, "sms_auth_token": SecretStr("sms-token"), "sms_from": "+15550009999",
        "sms_monthly_cap": 1000, "sms_quiet_hours": "22:00-07:00"})


def test_the_environment_is_the_default_until_an_admin_saves_values_and_the_change_is_audited(
        client, city, sessions):
    shown = client.get("/api/v1/texting", headers=city.parks_staff.auth).json()
    assert shown == {"monthly_cap": 1000, "quiet_hours": "22:00-07:00", "source": "environment",
                     "used_this_month": 0, "sms_ready": True}
    r = client.put("/api/v1/texting", headers=city.admin.auth, json={"monthly_cap": 20000, "quiet_hours": "21:30-08:00"})
    assert r.status_code == 200
    assert r.json() | {"used_this_month": 0} == {"monthly_cap": 20000, "quiet_hours": "21:30-08:00", "source": "admin",
                                                 "used_this_month": 0, "sms_ready": True}
    assert client.get("/api/v1/texting", headers=city.approver.auth).json()["monthly_cap"] == 20000
    with transaction(sessions) as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "texting.limits"))
        assert event.actor_id == city.admin.id
        assert event.detail == {"monthly_cap": 20000, "quiet_hours": "21:30-08:00",
                                "before": {"monthly_cap": 1000, "quiet_hours": "22:00-07:00"}}


@pytest.mark.parametrize("body, field", [
    ({"monthly_cap": -1, "quiet_hours": ""}, "monthly_cap"),
    ({"monthly_cap": 10**12, "quiet_hours": ""}, "monthly_cap"),
    ({"monthly_cap": "many", "quiet_hours": ""}, "monthly_cap"),
    ({"monthly_cap": 10, "quiet_hours": "9pm-8am"}, "quiet_hours"),
    ({"monthly_cap": 10, "quiet_hours": "25:00-08:00"}, "quiet_hours"),
    ({"monthly_cap": 10, "quiet_hours": "08:00-08:00"}, "quiet_hours"),
    ({"monthly_cap": 10, "quiet_hours": "21:00-08:00\x00"}, "quiet_hours"),
    ({"monthly_cap": 10, "quiet_hours": "２１:００-０８:００"}, "quiet_hours"),
    ({"monthly_cap": 10, "quiet_hours": "x" * 41}, "quiet_hours"),
    ({"monthly_cap": 10}, "quiet_hours"),
    ({"monthly_cap": 10, "quiet_hours": "", "extra": 1}, "extra"),
])
def test_bad_limits_are_refused_saying_what_to_fix(client, city, body, field):
    r = client.put("/api/v1/texting", headers=city.admin.auth, json=body)
    assert r.status_code == 422
    assert field in {e["field"].split(".")[-1] for e in r.json()["errors"]}, r.json()
    assert client.get("/api/v1/texting", headers=city.admin.auth).json()["source"] == "environment"


def test_only_an_admin_changes_the_limits(client, city):
    body = {"monthly_cap": 5, "quiet_hours": ""}
    assert client.put("/api/v1/texting", headers=city.approver.auth, json=body).status_code == 403
    assert client.put("/api/v1/texting", json=body).status_code == 401
    assert client.get("/api/v1/texting").status_code == 401


def test_an_admin_sets_the_limits_on_the_topics_page_and_bad_values_get_the_form_back(client, city, sign_in):
    admin = sign_in(city.admin)
    page = admin.get("/staff/topics")
    assert page.status_code == 200 and page.text.count("<h2 id=\"texting-heading\">Texting limits</h2>") == 1
    assert 'value="1000"' in page.text and "<title>Topics" in page.text
    assert "CIVICPOST_SMS_MONTHLY_CAP" in page.text
    token = csrf_of(page.text)
    bad = admin.post("/staff/topics/texting", data={"csrf_token": token, "monthly_cap": "lots", "quiet_hours": "x"})
    assert bad.status_code == 422 and 'id="error-summary"' in bad.text and 'href="#f-monthly_cap"' in bad.text
    bad = admin.post("/staff/topics/texting", data={"csrf_token": token, "monthly_cap": "10", "quiet_hours": "late"})
    assert bad.status_code == 422 and "HH:MM-HH:MM" in bad.text and 'href="#f-quiet_hours"' in bad.text
    assert admin.post("/staff/topics/texting", data={"monthly_cap": "10", "quiet_hours": ""}).status_code == 403
    saved = admin.post("/staff/topics/texting", data={"csrf_token": token, "monthly_cap": "20,000",
                                                       "quiet_hours": " 21:00 - 08:00 "}, follow_redirects=True)
    assert saved.status_code == 200 and "Saved the texting limits" in saved.text
    assert client.get("/api/v1/texting", headers=city.admin.auth).json() | {"used_this_month": 0} == {
        "monthly_cap": 20000, "quiet_hours": "21:00-08:00", "source": "admin", "used_this_month": 0,
        "sms_ready": True}
    assert sign_in(city.parks_staff).post("/staff/topics/texting", data={
        "csrf_token": token, "monthly_cap": "1", "quiet_hours": ""}).status_code == 403


def test_the_estimate_before_approval_uses_the_cap_the_admin_set(client, city, sessions, settings, sign_in):
    create_texting_subscribers(sessions, settings.fernet_key(), "parks", [f"+1555010{n:04d}" for n in range(150)])
    channel = create_channel(client, city.admin, "subscribers", name="Parks texts",
                             settings={"topics": ["parks"], "sms": True})
    a = create_submitted(client, city, channels=[channel])
    approver = sign_in(city.approver)
    assert "monthly cap" not in approver.get(f"/staff/announcements/{a['id']}").text
    client.put("/api/v1/texting", headers=city.admin.auth, json={"monthly_cap": 100, "quiet_hours": ""})
    page = approver.get(f"/staff/announcements/{a['id']}")
    assert "over the city's monthly cap of 100 SMS (0 used this month): no texts will be sent" in page.text

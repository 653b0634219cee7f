"""Before approving, the approver sees what texting residents will take: texts, cost, time, the cap."""

import pytest
from pydantic import SecretStr

from tests.factories import create_channel, create_submitted, create_texting_subscribers


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={
        "sms_account_sid": "AC" + "1" * 32, "sms_auth_token": SecretStr("sms-token"), "sms_from": "+15550009999",
        "sms_per_second": 1, "sms_price_per_segment": 0.01, "sms_monthly_cap": 1000})


@pytest.fixture
def texting(client, city, sessions, settings) -> int:
    create_texting_subscribers(sessions, settings.fernet_key(), "parks",
                               [f"+1555010{n:04d}" for n in range(150)])
    create_texting_subscribers(sessions, settings.fernet_key(), "parks", ["+15550109999"], stopped=True)
    return create_channel(client, city.admin, "subscribers", name="Parks texts",
                          settings={"topics": ["parks"], "sms": True})


def test_the_announcement_page_and_the_queue_show_texts_cost_and_time_before_approval(client, city, sign_in,
                                                                                       texting):
    a = create_submitted(client, city, channels=[texting])
    approver = sign_in(city.approver)
    for page in (approver.get(f"/staff/announcements/{a['id']}"), approver.get("/staff/approvals")):
        assert page.status_code == 200
        assert ("Texts to residents on Parks texts:</strong> 150 numbers × 1 SMS each = 150 SMS, costing about "
                "1.50, sent over about 3 minutes at the provider's pace.") in page.text
        assert "monthly cap" not in page.text


def test_over_the_monthly_cap_the_approver_is_told_no_texts_will_be_sent(client, city, sign_in, settings,
                                                                        texting, app):
    app.state.settings = settings.model_copy(update={"sms_monthly_cap": 100})
    a = create_submitted(client, city, channels=[texting])
    page = sign_in(city.approver).get(f"/staff/announcements/{a['id']}")
    assert "over the city's monthly cap of 100 SMS (0 used this month): no texts will be sent" in page.text


def test_an_emergency_over_the_cap_is_texted_anyway_and_says_so(client, city, sign_in, settings, texting, app):
    app.state.settings = settings.model_copy(update={"sms_monthly_cap": 100})
    a = create_submitted(client, city, channels=[texting], emergency=True)
    page = sign_in(city.approver).get(f"/staff/announcements/{a['id']}")
    assert "as an emergency it is texted anyway" in page.text


def test_staff_who_cannot_approve_see_no_estimate(client, city, sign_in, texting):
    a = create_submitted(client, city, channels=[texting])
    assert "Texts to residents" not in sign_in(city.parks_staff).get(f"/staff/announcements/{a['id']}").text

"""An admin sets up a `subscribers` channel on the channels page, without JavaScript."""

from sqlalchemy import select

from civicpost.models import Channel
from tests.pages import csrf_of


def post_form(browser, page_url: str, action: str, data: dict, **kwargs):
    page = browser.get(page_url)
    assert page.status_code == 200, page.text
    return browser.post(action, data={"csrf_token": csrf_of(page.text), **data}, **kwargs)


def test_an_admin_adds_a_subscribers_channel_that_texts_too_from_the_form(client, city, sign_in, sessions):
    admin = sign_in(city.admin)
    page = admin.get("/staff/channels?platform=subscribers")
    assert page.status_code == 200 and "Residents who subscribed (email)" in page.text
    data = {"platform": "subscribers", "department": "parks", "name": "Parks subscribers", "language": "en",
            "settings.topics": "parks, police", "settings.mode": "digest", "settings.sms": "yes"}
    r = post_form(admin, "/staff/channels?platform=subscribers", "/staff/channels", data, follow_redirects=False)
    assert r.status_code == 303, r.text
    with sessions() as session:
        channel = session.scalar(select(Channel).where(Channel.name == "Parks subscribers"))
        assert channel.settings == {"topics": ["parks", "police"], "mode": "digest", "sms": True}


def test_a_topic_that_is_not_there_is_named_on_the_form(client, city, sign_in):
    admin = sign_in(city.admin)
    data = {"platform": "subscribers", "department": "parks", "name": "Parks subscribers", "language": "en",
            "settings.topics": "parks, parkz"}
    r = post_form(admin, "/staff/channels?platform=subscribers", "/staff/channels", data)
    assert r.status_code == 422, r.text
    assert "Topics: No topic &#39;parkz&#39;" in r.text

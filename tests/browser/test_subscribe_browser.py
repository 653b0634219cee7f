"""/subscribe and the manage page in Debian's Chromium without script: a resident sees what to fix, signs up,
confirms with the button behind the link, changes topics and unsubscribes. axe finds no WCAG 2.1 A/AA
violation in light and dark, the pages fit 390 and 320 px phones, and nothing is loaded from another host."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from civicpost.db import transaction
from civicpost.models import Subscriber, Topic
from civicpost.subscribers import links
from civicpost.subscribers.crypto import SubscriberBox
from tests.browser.conftest import Live, axe_clean_and_narrow

pytestmark = pytest.mark.browser

def test_a_resident_subscribes_confirms_and_manages_without_script(browser, live: Live) -> None:
    context = browser.new_context(base_url=live.url, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(8000)
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).hostname or ""))
    page.goto("/")
    page.get_by_role("link", name="Subscribe").first.click()
    expect(page.get_by_role("checkbox", name="Parks and Recreation")).to_be_visible()
    axe_clean_and_narrow(browser, page, "form", screenshot="subscribe-form-390.png")
    page.get_by_label("Email address").fill("not an address")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text("choose at least one topic").first).to_be_visible()
    expect(page.get_by_text("tick the box to agree").first).to_be_visible()
    axe_clean_and_narrow(browser, page, "form-errors", screenshot="subscribe-form-errors-390.png")
    page.get_by_label("Email address").fill("browser.resident@example.org")
    page.get_by_role("checkbox", name="Parks and Recreation").check()
    page.get_by_role("checkbox", name="I agree").check()
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    box = SubscriberBox(live.settings.fernet_key())
    with transaction(live.app.state.write_sessions) as session:
        subscriber = session.scalar(select(Subscriber).where(
            Subscriber.email_digest == box.digest("browser.resident@example.org")))
        assert subscriber is not None
        parks = session.scalar(select(Topic.id).where(Topic.slug == "parks"))
        assert parks is not None
        confirm = links.confirm_url(live.url, box, subscriber, topic_ids=[parks])
        manage = links.manage_url(live.url, box, subscriber)
        unsubscribe = links.unsubscribe_url(live.url, box, subscriber)
    page.goto(confirm)
    axe_clean_and_narrow(browser, page, "confirm", screenshot="subscribe-confirm-390.png")
    page.get_by_role("button", name="Confirm my subscription").click()
    expect(page.get_by_role("heading", name="You are subscribed")).to_be_visible()
    page.goto(manage)
    expect(page.get_by_role("checkbox", name="Parks and Recreation")).to_be_checked()
    axe_clean_and_narrow(browser, page, "manage", screenshot="subscribe-manage-390.png")
    page.get_by_role("checkbox", name="Police Department").check()
    page.get_by_role("button", name="Save topics").click()
    expect(page.get_by_text("Saved").first).to_be_visible()
    page.get_by_role("radio", name="One message a day").check()
    page.get_by_role("button", name="Save how often").click()
    expect(page.get_by_text("Saved: you get one message a day")).to_be_visible()
    expect(page.get_by_role("radio", name="One message a day")).to_be_checked()
    page.get_by_role("button", name="Forget me").click()
    expect(page.get_by_text("Tick the box to confirm").first).to_be_visible()
    axe_clean_and_narrow(browser, page, "manage-errors", screenshot="subscribe-manage-errors-390.png")
    page.get_by_role("button", name="Unsubscribe from all").click()
    expect(page.get_by_text("You are unsubscribed from every topic")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Parks and Recreation")).not_to_be_checked()
    page.goto(unsubscribe)
    axe_clean_and_narrow(browser, page, "unsubscribe", screenshot="subscribe-unsubscribe-390.png")
    page.get_by_role("button", name="Unsubscribe from everything").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    page.goto("/embed/parks")
    expect(page.get_by_role("link", name="Get these by email")).to_be_visible()
    axe_clean_and_narrow(browser, page, "embed", screenshot="subscribe-embed-390.png")
    assert set(hosts) == {"127.0.0.1"}, hosts
    context.close()

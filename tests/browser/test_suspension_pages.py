"""/staff/suspensions in Debian's Chromium, without script: an approver pauses the city from the dashboard's
button (an error beside its field first), the banner shows on staff pages, an item approved during the pause
waits held, End lists it and "Release all" lets it go. axe finds no WCAG 2.1 A/AA violation in light and dark,
the page fits 390 and 320 px phones, and nothing is loaded from another host."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live, axe_clean_and_narrow

pytestmark = pytest.mark.browser

def test_an_approver_pauses_ends_and_releases_without_script(browser, live: Live) -> None:
    context = browser.new_context(base_url=live.url, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(8000)
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).hostname or ""))
    page.goto("/staff/login")
    page.get_by_label("Email").fill(live.approver.email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.goto("/staff/")
    page.get_by_role("link", name="Pause all scheduled posts").click()
    assert page.get_by_label("The whole city").is_checked()
    page.get_by_role("button", name="Pause scheduled posts").click()
    expect(page.get_by_text("Say why scheduled posts are paused").first).to_be_visible()
    axe_clean_and_narrow(browser, page, "start form with an error")
    page.get_by_label("Why").fill("Flooding downtown: hold everything")
    page.get_by_role("button", name="Pause scheduled posts").click()
    expect(page.get_by_role("heading", name="Scheduled posts are paused for the whole city")).to_be_visible()

    with live.api(live.parks_staff) as staff, live.api(live.approver) as approver:
        a = staff.post("/announcements", json={
            "department": "parks", "title": "Pool party Saturday", "body": "Bring a towel.",
            "channels": [live.parks_channels["feed"]]}).raise_for_status().json()["id"]
        submitted = staff.post(f"/announcements/{a}/submit").raise_for_status().json()
        approver.post(f"/announcements/{a}/approve", json={"fingerprint": submitted["fingerprint"],
                                                             "confirm_suspended": True}).raise_for_status()
    page.goto("/staff/suspensions")
    expect(page.get_by_text("Holding 1 item(s)")).to_be_visible()
    axe_clean_and_narrow(browser, page, "an active suspension")
    page.goto(f"/staff/announcements/{a}")
    expect(page.get_by_text("A request already on the wire when the pause began may still have landed")).to_be_visible()

    page.goto("/staff/suspensions")
    page.get_by_role("button", name="End suspension").click()
    expect(page.get_by_role("link", name="Pool party Saturday")).to_be_visible()
    axe_clean_and_narrow(browser, page, "an ended suspension with a held item")
    page.get_by_label("Publish now").check()
    page.get_by_role("button", name="Release all 1").click()
    expect(page.get_by_text("1 item(s) released")).to_be_visible()
    expect(page.get_by_text("It holds nothing now")).to_be_visible()
    assert set(hosts) == {urlsplit(live.url).hostname}
    context.close()

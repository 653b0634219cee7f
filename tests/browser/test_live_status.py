"""An approver keeps an announcement's page open while it goes out: the deliveries
change from pending to published in place, with no reload, and a screen reader hears it."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live, shoot

pytestmark = pytest.mark.browser


def scheduled_soon(live: Live, seconds: float) -> int:
    """An approved Parks announcement to the city site and the sandbox's Mastodon, due in `seconds`."""
    due = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    channels = [live.parks_channels["feed"], live.parks_channels["mastodon"]]
    with live.api(live.parks_staff) as staff:
        made = staff.post("/announcements", json={
            "department": "parks", "title": "Leaf pickup starts Monday", "publish_at": due,
            "body": "Curbside leaf pickup starts Monday in every ward.", "channels": channels,
        }).raise_for_status().json()
        staff.post(f"/announcements/{made['id']}/submit").raise_for_status()
    with live.api(live.approver) as approver:
        seen = approver.get(f"/announcements/{made['id']}").raise_for_status().json()["fingerprint"]
        approver.post(f"/announcements/{made['id']}/approve", json={"fingerprint": seen}).raise_for_status()
    return made["id"]


def test_the_deliveries_go_out_before_the_approvers_eyes_without_a_reload(live: Live, open_page):
    announcement_id = scheduled_soon(live, seconds=6)
    page = open_page(live.approver)
    page.goto(f"/staff/announcements/{announcement_id}")
    deliveries = page.get_by_role("table", name=re.compile("^Deliveries"))
    expect(deliveries.locator(".state-pending")).to_have_count(2)
    page.evaluate("window.stillTheSamePage = true")

    expect(deliveries.locator(".state-published")).to_have_count(2, timeout=30_000)
    assert page.evaluate("window.stillTheSamePage === true"), "the page was reloaded"
    expect(page.locator("#live-announcer")).to_have_text("Deliveries now: 2 published.")
    expect(page.locator("#announcement-state")).to_have_text("published")
    expect(deliveries.get_by_role("link", name=re.compile("^View the post"))).to_have_count(2)
    shoot(page, "live-status-published")

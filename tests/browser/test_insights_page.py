"""/staff/insights in Debian's Chromium: axe finds no WCAG 2.1 A/AA violation at
1280 and 390 px, the page fits a phone (tables scroll in their own box), the
filters work without JavaScript, and nothing is loaded from another host."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.conftest import Live, shoot
from tests.factories import create_post_engagement

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def readings(live: Live) -> None:
    sessions = live.app.state.write_sessions
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for n in range(60):
        platform = ("feed", "mastodon", "bluesky", "x")[n % 4]
        create_post_engagement(
            sessions, author_id=live.parks_staff.id, channel_id=live.parks_channels[platform],
            published_at=now - timedelta(days=n, hours=(n * 5) % 11), engagement=(n * 37) % 90 + n % 7,
            followers=1200 + n, title=f"Riverside Park notice number {n}",
        )


def assert_axe_clean(page: Page, name: str) -> None:
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, name + ": " + "; ".join(f"{v['id']}: {v['help']} {v['nodes'][0]['target']}"
                                                   for v in violations)


def assert_fits(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


def test_insights_are_accessible_fit_a_phone_and_filter_without_javascript(open_page, live: Live, readings) -> None:
    page = open_page(live.parks_staff)
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).hostname or ""))
    page.goto("/staff/insights")
    assert page.get_by_role("img", name="Median engagement per post by weekday and hour of publishing").is_visible()
    assert page.get_by_role("table", name="Median engagement per post by department and platform").is_visible()
    assert_axe_clean(page, "insights")
    shoot(page, "staff-insights")

    page.set_viewport_size(PHONE)
    assert_fits(page)
    assert_axe_clean(page, "insights on a phone")
    shoot(page, "staff-insights-phone")

    page.get_by_label("Platform", exact=True).select_option("mastodon")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    assert "platform=mastodon" in page.url
    assert page.get_by_role("table", name="Median engagement per post by department and platform") \
        .get_by_role("cell", name="Mastodon").is_visible()
    assert_fits(page)
    assert set(hosts) == {"127.0.0.1"}, hosts


def test_the_empty_state_is_accessible(open_page, live: Live, readings) -> None:
    page = open_page(live.police_staff)
    page.goto("/staff/insights")
    assert page.get_by_role("status").filter(has_text="No readings yet").is_visible()
    assert_axe_clean(page, "empty insights")

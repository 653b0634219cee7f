"""/staff/announcements in Debian's Chromium: axe finds no WCAG 2.1 A/AA violation,
a 390 px phone needs no sideways scrolling, the form works without JavaScript,
and nothing is loaded from another host."""

from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.conftest import Live, shoot

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def listed(live: Live) -> list[int]:
    with live.api(live.parks_staff) as staff:
        return [
            staff.post("/announcements", json={
                "department": "parks", "title": title, "body": body, "channels": list(live.parks_channels.values()),
            }).raise_for_status().json()["id"]
            for title, body in [
                ("Riverside Park splash pad opens for the summer season on Saturday morning",
                 "Bring sunscreen; the splash pad runs from 10 a.m. to 6 p.m. every day until Labor Day."),
                ("École du parc : inscriptions", "Les inscriptions ouvrent lundi."),
                ("Leaf collection", "Rake leaves to the curb by 7 a.m."),
                ("Long-" * 30 + "word", "A title without a space to wrap at."),
            ]
        ]


def assert_axe_clean(page: Page, name: str) -> None:
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, name + ": " + "; ".join(f"{v['id']}: {v['help']}" for v in violations)


def assert_fits(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


def watch_hosts(page: Page) -> list[str]:
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).hostname or ""))
    return hosts


def test_the_list_and_its_search_are_accessible_and_fit_a_phone(open_page, live: Live, listed: list[int]):
    page = open_page(live.parks_staff)
    hosts = watch_hosts(page)
    page.goto("/staff/announcements")
    assert page.get_by_role("link", name="Leaf collection").is_visible()
    assert_axe_clean(page, "list")
    shoot(page, "staff-announcements")

    page.set_viewport_size(PHONE)
    assert_fits(page)
    assert_axe_clean(page, "list on a phone")
    shoot(page, "staff-announcements-phone")

    page.get_by_role("searchbox", name="Search titles and text").fill("école")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    assert "q=%C3%A9cole" in page.url
    assert page.get_by_role("link", name="École du parc : inscriptions").is_visible()
    assert not page.get_by_role("link", name="Leaf collection").count()
    assert_fits(page)

    page.goto("/staff/announcements?q=nothing+like+this")
    assert page.get_by_role("status").filter(has_text="No announcements match").is_visible()
    assert_fits(page)
    assert_axe_clean(page, "empty list")
    assert set(hosts) == {"127.0.0.1"}, hosts


def test_the_filters_work_without_javascript(browser, live: Live, listed: list[int]):
    from tests.browser.conftest import signed_in_state

    context = browser.new_context(base_url=live.url, java_script_enabled=False, viewport=PHONE,
                                  storage_state=signed_in_state(browser, live, live.parks_staff))
    try:
        page = context.new_page()
        page.goto("/staff/announcements")
        page.get_by_label("State").select_option("draft")
        page.get_by_label("Search titles and text").fill("splash")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url("**state=draft**")
        assert page.get_by_role("link", name="Riverside Park splash pad", exact=False).is_visible()
        assert page.get_by_role("link", name="Leaf collection").count() == 0
        assert_fits(page)
    finally:
        context.close()

"""The draft form's Alert details in a real browser: shown with the Emergency box, errors beside each field,
axe-clean in the light and dark schemes, and no sideways scrolling at 390 px."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Live, signed_in_state

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


@pytest.fixture(scope="module")
def publisher(live: Live) -> Live:
    with live.api(live.admin) as admin:
        admin.patch(f"/users/{live.parks_staff.id}", json={"emergency_publisher": True}).raise_for_status()
    return live


def _form(browser: Browser, live: Live, *, width: int, scheme: str) -> Page:
    context = browser.new_context(base_url=live.url, storage_state=signed_in_state(browser, live, live.parks_staff),
                                  viewport={"width": width, "height": 900}, color_scheme=scheme)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/staff/announcements/new")
    return page


def _violations(page: Page) -> list:
    return [(v["id"], [n["html"][:120] for n in v["nodes"]])
            for v in Axe().run(page, options=AXE_OPTIONS).response["violations"]]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_alert_details_appear_with_the_emergency_box_and_show_errors_beside_each_field(
        scheme: str, publisher: Live, browser: Browser):
    page = _form(browser, publisher, width=1280, scheme=scheme)
    try:
        details = page.get_by_role("group", name="Alert details")
        expect(details).to_be_hidden()
        page.get_by_label("Emergency", exact=True).check()
        expect(details).to_be_visible()
        assert not _violations(page)

        page.get_by_label("Title", exact=True).fill("Boil water notice")
        page.get_by_label("Text", exact=True).fill("Boil tap water for one minute before drinking.")
        page.get_by_label("Event").fill("Water main break")
        page.get_by_label("Category").select_option("Infra")
        page.get_by_label("Polygon (optional)").fill("39.78,-89.65 nowhere")
        page.get_by_role("button", name="Save draft").click()

        expect(page.locator("#alert-polygon-error")).to_contain_text("The polygon is not a CAP polygon")
        expect(page.locator("#alert-urgency-error")).to_contain_text("Choose how urgent it is.")
        expect(page.get_by_label("Event")).to_have_value("Water main break")
        expect(page.get_by_label("Category")).to_have_value("Infra")
        expect(details).to_be_visible()
        assert not _violations(page)
    finally:
        page.context.close()


def test_the_alert_details_fit_390_px_without_sideways_scrolling(publisher: Live, browser: Browser):
    page = _form(browser, publisher, width=390, scheme="light")
    try:
        page.get_by_label("Emergency", exact=True).check()
        expect(page.get_by_role("group", name="Alert details")).to_be_visible()
        wide = page.evaluate("() => Math.max(window.innerWidth, document.documentElement.scrollWidth)")
        assert wide <= 390, f"the form with alert details is {wide} px wide at 390 px"
        assert not _violations(page)
    finally:
        page.context.close()


def test_ordinary_staff_never_see_the_alert_details(live: Live, browser: Browser):
    context = browser.new_context(base_url=live.url, storage_state=signed_in_state(browser, live, live.police_staff))
    try:
        page = context.new_page()
        page.goto("/staff/announcements/new")
        expect(page.get_by_label("Title", exact=True)).to_be_visible()
        assert page.locator("#alert-details").count() == 0
    finally:
        context.close()

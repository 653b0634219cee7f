"""The notification pages in Chromium: each person's choices on /staff/account and a
department's chat hook, axe clean at desktop and phone widths, working without JavaScript."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.browser.conftest import Live, shoot, signed_in_state

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


def check(page: Page, name: str) -> None:
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
        assert not violations, f"{name} at {width}px: " + "; ".join(
            f"{v['id']} at {[n['target'] for n in v['nodes']]}" for v in violations)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width}px"
    shoot(page, name)


@pytest.fixture
def no_script(browser: Browser, live: Live):
    """`no_script(person)`: a page signed in as `person` with JavaScript off."""
    contexts = []

    def make(person) -> Page:
        context = browser.new_context(base_url=live.url, storage_state=signed_in_state(browser, live, person),
                                      java_script_enabled=False)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def test_the_pages_have_no_wcag_21_aa_violations_at_desktop_or_phone_width(live: Live, open_page):
    # axe runs as a script: these checks are made with JavaScript on.
    for person, path, name in [(live.approver, "/staff/account", "staff-account-notifications"),
                               (live.admin, "/staff/account", "staff-account-notifications-admin"),
                               (live.admin, "/staff/departments/parks/notifications", "staff-department-hook")]:
        page = open_page(person)
        page.goto(path)
        check(page, name)
    page = open_page(live.admin)
    page.goto("/staff/departments/parks/notifications")
    page.get_by_label("Webhook address").fill("ftp://hooks.example/x")
    page.get_by_role("button", name="Set hook").click()
    page.wait_for_load_state()
    check(page, "staff-department-hook-error")


def test_an_approver_unticks_waiting_items_without_javascript(live: Live, no_script):
    page = no_script(live.approver)
    page.goto("/staff/account")
    box = page.get_by_role("checkbox", name="An announcement waits for my approval", exact=False)
    assert box.is_checked()
    box.uncheck()
    page.get_by_role("button", name="Save notification choices").click()
    page.wait_for_url("**/staff/account*")
    assert "Your notification choices are saved." in page.content()
    assert not page.get_by_role("checkbox", name="An announcement waits for my approval", exact=False).is_checked()
    box = page.get_by_role("checkbox", name="An announcement waits for my approval", exact=False)
    box.check()
    page.get_by_role("button", name="Save notification choices").click()


def test_an_admin_sets_a_departments_hook_and_a_bad_address_is_explained(live: Live, no_script):
    page = no_script(live.admin)
    page.goto("/staff/departments")
    page.get_by_role("link", name="Notifications of Parks", exact=False).click()
    page.get_by_label("Webhook address").fill("ftp://hooks.example/x")
    page.get_by_role("button", name="Set hook").click()
    assert "must start with https://" in page.content()
    page.get_by_label("Webhook address").fill("http://127.0.0.1:9/services/T0/B0/secret-part")
    page.get_by_role("button", name="Set hook").click()
    assert "now posts to the hook at 127.0.0.1" in page.content()
    assert "secret-part" not in page.content()
    page.get_by_role("button", name="Remove hook").click()
    assert "Removed" in page.content()

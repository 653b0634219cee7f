"""The texting limits on /staff/topics in Debian's Chromium without script: an admin sees what to fix and saves;
axe finds no WCAG 2.1 A/AA violation in light and dark, and the page fits 390 and 320 px phones."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live, axe_clean_and_narrow, signed_in_state

pytestmark = pytest.mark.browser

def test_an_admin_sets_the_texting_limits_without_script(browser, live: Live) -> None:
    context = browser.new_context(base_url=live.url, java_script_enabled=False,
                                  storage_state=signed_in_state(browser, live, live.admin))
    page = context.new_page()
    page.set_default_timeout(8000)
    page.goto("/staff/topics")
    expect(page.get_by_role("heading", name="Texting limits")).to_be_visible()
    axe_clean_and_narrow(browser, page, "form", screenshot="texting-limits-form-390.png")
    page.get_by_label("Monthly SMS cap").fill("lots")
    page.get_by_role("button", name="Save texting limits").click()
    expect(page.get_by_role("link", name="Monthly SMS cap: Give a whole number")).to_be_visible()
    axe_clean_and_narrow(browser, page, "form-errors", screenshot="texting-limits-form-errors-390.png")
    page.get_by_label("Monthly SMS cap").fill("20000")
    page.get_by_label("Quiet hours").fill("21:00-08:00")
    page.get_by_role("button", name="Save texting limits").click()
    expect(page.get_by_text("Saved the texting limits")).to_be_visible()
    assert page.get_by_label("Quiet hours").input_value() == "21:00-08:00"
    context.close()

"""The texting limits on /staff/topics in Debian's Chromium without script: an admin sees what to fix and saves;
axe finds no WCAG 2.1 A/AA violation in light and dark, and the page fits 390 and 320 px phones."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.conftest import SCREENSHOTS, Live, signed_in_state

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


def axe_clean_and_narrow(browser, page: Page, name: str) -> None:
    """axe needs script: a second context with it checks the same HTML, at 1280, 390 and 320 px, light and dark."""
    html, url = page.content(), page.url
    context = browser.new_context()
    other = context.new_page()
    other.set_default_timeout(8000)
    other.route(url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
    other.route("**/static/**", lambda route: route.continue_())
    other.goto(url)
    for scheme in ("light", "dark"):
        other.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        for width in (1280, 390, 320):
            other.set_viewport_size({"width": width, "height": 900})
            violations = Axe().run(other, options=AXE_OPTIONS).response["violations"]
            assert not violations, f"{name} {scheme} {width}px: " + "; ".join(
                f"{v['id']}: {v['help']} {v['nodes'][0]['target']}" for v in violations)
            if width < 1280:
                wide = other.evaluate("() => document.documentElement.scrollWidth")
                assert wide <= width, f"{name}: {wide} px wide on a {width} px phone ({scheme})"
            if width == 390 and scheme == "light":
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                other.screenshot(path=str(SCREENSHOTS / f"texting-limits-{name}-390.png"), full_page=True)
    context.close()


def test_an_admin_sets_the_texting_limits_without_script(browser, live: Live) -> None:
    context = browser.new_context(base_url=live.url, java_script_enabled=False,
                                  storage_state=signed_in_state(browser, live, live.admin))
    page = context.new_page()
    page.set_default_timeout(8000)
    page.goto("/staff/topics")
    assert page.get_by_role("heading", name="Texting limits").is_visible()
    axe_clean_and_narrow(browser, page, "form")
    page.get_by_label("Monthly SMS cap").fill("lots")
    page.get_by_role("button", name="Save texting limits").click()
    assert page.get_by_role("link", name="Monthly SMS cap: Give a whole number").is_visible()
    axe_clean_and_narrow(browser, page, "form-errors")
    page.get_by_label("Monthly SMS cap").fill("20000")
    page.get_by_label("Quiet hours").fill("21:00-08:00")
    page.get_by_role("button", name="Save texting limits").click()
    assert page.get_by_text("Saved the texting limits").is_visible()
    assert page.get_by_label("Quiet hours").input_value() == "21:00-08:00"
    context.close()

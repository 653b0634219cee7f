"""/staff/exports in Debian's Chromium: an administrator starts an export with the form (no
script needed), sees each error beside its field, sees the worker finish it with a download
link; axe finds no WCAG 2.1 A/AA violation at 1280 and 390 px, the page fits a phone and
nothing is loaded from another host."""

import time
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, shoot

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
PHONE = {"width": 390, "height": 844}


def assert_axe_clean(page: Page, name: str) -> None:
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, name + ": " + "; ".join(f"{v['id']}: {v['help']} {v['nodes'][0]['target']}"
                                                   for v in violations)


def assert_fits(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


def test_an_admin_starts_an_export_without_script_and_downloads_it(browser, live: Live, tmp_path) -> None:
    live.settings.export_dir = tmp_path / "exports"  # the running worker writes here
    state_page = browser.new_context(base_url=live.url, java_script_enabled=False)
    page = state_page.new_page()
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).hostname or ""))
    page.goto("/staff/login")
    page.get_by_label("Email").fill(live.admin.email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.goto("/staff/exports")
    expect(page.get_by_role("heading", name="Records exports")).to_be_visible()

    page.get_by_label("First day").fill("2026-01-31")
    page.get_by_role("button", name="Start export").click()
    expect(page.get_by_text("Enter the last day as a date").first).to_be_visible()
    page.get_by_label("Last day").fill("2030-12-31")
    page.get_by_label("Department").select_option(label="Parks and Recreation")
    page.get_by_role("button", name="Start export").click()
    expect(page.get_by_text("is waiting for a worker")).to_be_visible()
    deadline = time.monotonic() + 30
    while not page.get_by_role("link", name="Download export").count() and time.monotonic() < deadline:
        time.sleep(1)
        page.goto("/staff/exports")
    assert page.get_by_role("link", name="Download export").count() == 1
    with page.expect_download() as download:
        page.get_by_role("link", name="Download export").click()
    assert download.value.suggested_filename.endswith(".zip")
    assert set(hosts) == {"127.0.0.1"}
    state_page.close()


def test_the_exports_page_is_accessible_and_fits_a_phone(open_page, live: Live) -> None:
    page = open_page(live.admin)
    page.goto("/staff/exports")
    assert_axe_clean(page, "exports")
    page.get_by_role("button", name="Start export").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_axe_clean(page, "exports with errors")
    shoot(page, "staff-exports")
    page.set_viewport_size(PHONE)
    page.goto("/staff/exports")
    assert_fits(page)
    assert_axe_clean(page, "exports on a phone")
    shoot(page, "staff-exports-phone")

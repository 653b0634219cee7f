"""In Chromium: /docs works with nothing from another host, and the policy the
pages carry is enforced and noticed (issue 11 finding 5, issue 12 item 2)."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from civicpost.web.headers import POLICY
from tests.browser.conftest import Live

pytestmark = pytest.mark.browser


def only_this_machine(page: Page) -> list[str]:
    """Record every request the page makes; anything not for 127.0.0.1 is aborted (and stays recorded)."""
    requested: list[str] = []

    def route(route: Route) -> None:
        requested.append(route.request.url)
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    page.route("**/*", route)
    return requested


def reported(page: Page, violations: list[str], directive: str) -> bool:
    """Violations reach the test a moment after they happen."""
    for _ in range(40):
        if any(directive in v for v in violations):
            return True
        page.wait_for_timeout(50)
    return False


def test_the_api_docs_list_the_operations_with_every_request_made_to_this_machine(page: Page, live: Live):
    requested = only_this_machine(page)

    page.goto("/docs")

    create = page.locator('.opblock-post .opblock-summary-path[data-path="/api/v1/announcements"]')
    expect(create).to_be_visible()
    summary = create.locator("xpath=ancestor::*[contains(concat(' ', @class, ' '), ' opblock-summary ')][1]").inner_text()
    assert "POST" in summary and "/api/v1/announcements" in summary.replace("\u200b", "")
    assert len(page.locator(".opblock").all()) > 20  # the whole API, not one stray block
    assert any(url.endswith("/openapi.json") for url in requested)
    assert {urlsplit(url).hostname for url in requested} == {"127.0.0.1"}, requested


def test_a_page_that_breaks_its_policy_is_caught_by_the_browser_tests(page: Page, live: Live, csp_violations: list[str]):
    page.route("**/policy-probe", lambda route: route.fulfill(
        status=200, headers={"Content-Type": "text/html", "Content-Security-Policy": POLICY},
        body='<!doctype html><title>probe</title><p style="color: red">x</p><script>document.title = "ran"</script>'))

    page.goto("/policy-probe")

    assert page.title() == "probe"  # the inline script did not run
    assert reported(page, csp_violations, "script-src"), csp_violations
    assert any("style-src" in v for v in csp_violations), csp_violations
    csp_violations.clear()  # noticed: this one was made on purpose


def test_no_page_can_frame_the_staff_pages_not_even_one_of_ours(page: Page, live: Live, csp_violations: list[str]):
    """The approve and retract buttons cannot be put under someone else's click.

    The frame is made from one of our own pages (Chromium refuses a page from
    elsewhere to frame 127.0.0.1 before the policy is even read): frame-ancestors
    'none' refuses even that."""
    page.goto("/staff/login")
    page.evaluate("""() => { const frame = document.createElement("iframe");
                             frame.src = "/staff/approvals"; document.body.append(frame); }""")

    assert reported(page, csp_violations, "frame-ancestors"), csp_violations
    assert len(page.frames) == 2 and "Sign in" not in page.frames[1].content()
    csp_violations.clear()

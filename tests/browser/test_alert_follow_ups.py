"""An alert's follow-ups in Chromium: the alert's staff page with its update and all-clear forms and thread,
the public page with its timeline, and the admins' wording page are axe-clean in light and dark and fit a
390 px phone; the update form works without JavaScript."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.browser.conftest import Live, create_emergencies, shoot, wait_for_state

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


@pytest.fixture(scope="module")
def alert(live: Live) -> int:
    """An alert in effect on the city's site, with one update already out."""
    alert_id, _ = create_emergencies(live)
    with live.api(live.approver) as api:
        update = api.post(f"/announcements/{alert_id}/alert-update",
                          json={"body": "Crews expect repairs by 6 p.m. on Elm Street."}).raise_for_status().json()
    wait_for_state(live, live.approver, update["id"], {"published"})
    return alert_id


def pages(alert: int) -> list[tuple[str, str, str | None]]:
    return [("alert-staff-follow-ups", f"/staff/announcements/{alert}", "parks_staff"),
            ("alert-public-timeline", f"/announcements/{alert}", None),
            ("alert-wording", "/staff/admin/alert-wording", "admin")]


def check(page: Page, name: str) -> None:
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, (name, [(v["id"], [n["html"][:160] for n in v["nodes"]]) for v in violations])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_follow_up_pages_have_no_wcag_21_aa_violations(scheme: str, live: Live, alert: int, open_page):
    for name, path, who in pages(alert):
        page = open_page(getattr(live, who) if who else None)
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        if name == "alert-staff-follow-ups":
            assert page.get_by_role("button", name="Post an update").is_visible()
        if name == "alert-public-timeline":
            assert page.get_by_role("heading", name="Updates to this alert").is_visible()
        shoot(page, f"{name}-{scheme}")
        check(page, f"{name} ({scheme})")


def test_the_follow_up_pages_fit_a_390_px_phone(live: Live, alert: int, browser: Browser, open_page):
    for name, path, who in pages(alert):
        page = open_page(getattr(live, who) if who else None)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(path)
        wide = page.evaluate("() => Math.max(window.innerWidth, document.documentElement.scrollWidth)")
        assert wide <= 390, (name, wide)


def test_an_update_posted_from_the_page_without_javascript_reaches_the_public_timeline(live: Live, alert: int,
                                                                                       browser: Browser):
    from tests.browser.conftest import signed_in_state

    context = browser.new_context(base_url=live.url, java_script_enabled=False,
                                  storage_state=signed_in_state(browser, live, live.parks_staff))
    try:
        page = context.new_page()
        page.goto(f"/staff/announcements/{alert}")
        page.get_by_label("What has changed").fill("Water back on east of Oak Street.")
        page.get_by_role("button", name="Post an update").click()
        assert "Update posted" in page.content()
        with live.api(live.approver) as api:
            thread = [e for e in api.get(f"/announcements/{alert}/audit").json()["items"]
                      if e["action"] == "alert_update"]
        wait_for_state(live, live.approver, thread[-1]["detail"]["follow_up"], {"published"})
        page.goto(f"/announcements/{alert}")
        assert "UPDATE: Water back on east of Oak Street." in page.content()
    finally:
        context.close()

"""The record's pages in Debian's Chromium: a retracted announcement's public
address (410, when and why), an announcement's Versions list, and the staff
directory of official accounts are axe-clean in light and dark and fit a phone."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.conftest import Live, shoot, wait_for_state

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
PHONES = [390, 320]


@pytest.fixture(scope="module")
def record(live: Live) -> dict[str, int]:
    """An announcement edited twice, published on every Parks channel, then retracted with a reason."""
    staff, approver = live.api(live.parks_staff), live.api(live.approver)
    with staff, approver:
        a = staff.post("/announcements", json={
            "department": "parks", "title": "Spray park opens Friday", "channels": list(live.parks_channels.values()),
            "body": "The Maple Street spray park opens Friday at 10 a.m."}).raise_for_status().json()["id"]
        staff.patch(f"/announcements/{a}", json={
            "body": "The Maple Street spray park opens Friday at 11 a.m.\n\nBring sunscreen."}).raise_for_status()
        staff.post(f"/announcements/{a}/submit").raise_for_status()
        seen = approver.get(f"/announcements/{a}").raise_for_status().json()["fingerprint"]
        approver.post(f"/announcements/{a}/approve", json={"fingerprint": seen}).raise_for_status()
        wait_for_state(live, live.approver, a, {"published"})
        approver.post(f"/announcements/{a}/retract",
                      json={"reason": "The opening moved to Saturday; a new announcement follows."}).raise_for_status()
    return {"retracted": a}


def assert_clean_and_fits(page: Page, name: str) -> None:
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, name + ": " + "; ".join(f"{v['id']}: {v['help']} {v['nodes'][0]['target']}"
                                                   for v in violations)
    for width in PHONES:
        page.set_viewport_size({"width": width, "height": 844})
        scrolled = page.evaluate("() => document.documentElement.scrollWidth")
        assert scrolled <= width, f"{name} is {scrolled} px wide on a {width} px phone"
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_retracted_address_says_when_and_why_and_reads_well(open_page, live: Live, record, scheme: str) -> None:
    page = open_page(None)
    page.emulate_media(color_scheme=scheme)
    answer = page.goto(f"/announcements/{record['retracted']}")
    assert answer is not None and answer.status == 410
    assert page.get_by_role("heading", name="Retracted: Spray park opens Friday").is_visible()
    assert page.get_by_text("The opening moved to Saturday; a new announcement follows.").is_visible()
    assert_clean_and_fits(page, f"retracted page ({scheme})")
    shoot(page, f"public-retracted-{scheme}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_versions_and_the_accounts_pages_read_well(open_page, live: Live, record, scheme: str) -> None:
    page = open_page(live.admin)
    page.emulate_media(color_scheme=scheme)
    page.goto(f"/staff/announcements/{record['retracted']}")
    versions = page.get_by_role("region", name="Versions")
    assert versions.get_by_text("Version 2 (current)").is_visible()
    assert versions.get_by_text("Bring sunscreen.").is_visible()
    assert_clean_and_fits(page, f"versions ({scheme})")
    page.goto("/staff/directory")
    assert page.get_by_role("heading", name="Official accounts, kept current").is_visible()
    assert_clean_and_fits(page, f"staff directory ({scheme})")
    shoot(page, f"staff-directory-{scheme}")

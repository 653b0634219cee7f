"""Every staff and public page fits a phone: at 390 and 320 CSS pixels wide the
document is no wider than the screen, so nothing scrolls sideways (tables
become stacked rows, the calendar month an agenda list).

Screenshots go to /tmp/civicpost-phone/ for a person to look at.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.browser.conftest import Live, create_emergencies, png_bytes, signed_in_state, wait_for_state

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/civicpost-phone")
WIDTHS = [390, 320]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


@dataclass(frozen=True)
class PageCase:
    name: str
    path: str  # may name {published}, {draft}, {channel} or {person}
    who: str | None = None  # an attribute of Live: parks_staff, approver, admin
    status: int = 200


PAGES = [
    PageCase("public-home", "/"),
    PageCase("public-announcement", "/announcements/{published}"),
    PageCase("public-directory", "/directory"),
    PageCase("staff-login", "/staff/login"),
    PageCase("staff-dashboard", "/staff/", "parks_staff"),
    PageCase("staff-dashboard-approver", "/staff/", "approver"),
    PageCase("staff-announcements", "/staff/announcements", "parks_staff"),
    PageCase("staff-announcement-new", "/staff/announcements/new", "parks_staff"),
    PageCase("staff-announcement-published", "/staff/announcements/{published}", "parks_staff"),
    PageCase("staff-announcement-draft", "/staff/announcements/{draft}", "parks_staff"),
    PageCase("staff-announcement-edit", "/staff/announcements/{draft}/edit", "parks_staff"),
    PageCase("staff-approvals", "/staff/approvals", "approver"),
    PageCase("staff-approvals-filtered", "/staff/approvals?department=parks", "approver"),
    PageCase("staff-announcement-reschedule", "/staff/announcements/{draft}/reschedule", "parks_staff"),
    PageCase("staff-media", "/staff/media", "parks_staff"),
    PageCase("staff-calendar-week", "/staff/calendar?view=week", "parks_staff"),
    PageCase("staff-calendar-month", "/staff/calendar?view=month", "parks_staff"),
    PageCase("staff-account", "/staff/account", "parks_staff"),
    PageCase("staff-users", "/staff/users", "admin"),
    PageCase("staff-user", "/staff/users/{person}", "admin"),
    PageCase("staff-channels", "/staff/channels", "admin"),
    PageCase("staff-channels-new", "/staff/channels?platform=mastodon", "admin"),
    PageCase("staff-channel", "/staff/channels/{channel}", "admin"),
    PageCase("staff-departments", "/staff/departments", "admin"),
    PageCase("staff-insights", "/staff/insights", "parks_staff"),
    PageCase("public-alert", "/announcements/{alert}"),
    PageCase("staff-announcement-alert-to-sign-off", "/staff/announcements/{alert}", "approver"),
    PageCase("staff-announcement-break-glass", "/staff/announcements/{emergency}", "parks_staff"),
    PageCase("error-404", "/no-such-page", status=404),
    PageCase("error-403", "/staff/users", "parks_staff", status=403),
]


@dataclass
class Content:
    published: int
    draft: int
    alert: int
    emergency: int


@pytest.fixture(scope="module")
def content(live: Live) -> Content:
    """A published announcement with an image and a long title, a draft, one waiting, one scheduled for tomorrow."""
    staff, approver = live.api(live.parks_staff), live.api(live.approver)
    with staff, approver:
        image = staff.post("/media", files={"file": ("pool.png", png_bytes(), "image/png")}).raise_for_status().json()

        def create(title: str, body: str, **extra) -> int:
            payload = {"department": "parks", "title": title, "body": body,
                       "channels": list(live.parks_channels.values()), **extra}
            return staff.post("/announcements", json=payload).raise_for_status().json()["id"]

        published = create(
            "Riverside-Park-playground-reopening-with-new-accessible-swings",
            "Reopens Saturday. Map: https://city.example/parks/playgrounds/riverside-park-reopening-2026",
            link="https://city.example/parks/playgrounds/riverside-park-reopening-2026-with-a-long-address",
            media=[{"id": image["id"], "alt_text": "The new swings at Riverside Park"}],
        )
        draft = create("Leaf collection starts in October", "Rake leaves to the curb by 7 a.m. on your collection day.")
        submitted = create("Dog park closed for reseeding", "The Oak Hill dog park is closed Monday to Wednesday.")
        scheduled = create("Summer concert series in Riverside Park", "Concerts every Friday evening in July.",
                           publish_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())
        for announcement in (published, submitted, scheduled):
            answer = staff.post(f"/announcements/{announcement}/submit")
            assert answer.status_code == 200, answer.text
        for announcement in (published, scheduled):
            seen = approver.get(f"/announcements/{announcement}").raise_for_status().json()["fingerprint"]
            approver.post(f"/announcements/{announcement}/approve", json={"fingerprint": seen}).raise_for_status()
    wait_for_state(live, live.approver, published, {"published", "failed"})
    alert, emergency = create_emergencies(live)
    return Content(published=published, draft=draft, alert=alert, emergency=emergency)


def phone(browser: Browser, live: Live, who: str | None, width: int) -> Page:
    state = signed_in_state(browser, live, getattr(live, who)) if who else None
    # Not is_mobile: a phone would widen its layout to fit the page, hiding which element is too wide.
    context = browser.new_context(base_url=live.url, storage_state=state, viewport={"width": width, "height": 800},
                                  has_touch=True)
    context.set_default_timeout(10_000)
    return context.new_page()


WIDER_THAN_THE_SCREEN = """() => {
  const width = %d;
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > width + 1 && e.getClientRects().length)
    .slice(0, 5)
    .map(e => `${e.tagName.toLowerCase()}${e.className ? '.' + String(e.className).split(' ').join('.') : ''}: `
              + `right edge at ${Math.round(e.getBoundingClientRect().right)} px`);
}"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", PAGES, ids=[c.name for c in PAGES])
def test_the_page_fits_a_phone_without_scrolling_sideways(case: PageCase, width: int, live: Live, content: Content,
                                                           browser: Browser):
    path = case.path.format(published=content.published, draft=content.draft, channel=live.parks_channels["x"],
                            person=live.parks_staff.id, alert=content.alert, emergency=content.emergency)
    page = phone(browser, live, case.who, width)
    try:
        response = page.goto(path)
        assert response is not None
        assert response.status == case.status, f"{path} answered {response.status}"
        assert page.url.removeprefix(live.url) == path, f"{path} ended at {page.url}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{case.name}-{width}.png"), full_page=True)
        wide = page.evaluate("() => Math.max(window.innerWidth, document.documentElement.scrollWidth)")
        assert wide <= width, (
            f"{path} at {width} px is {wide} px wide; too wide: {page.evaluate(WIDER_THAN_THE_SCREEN % width)}")
        if width == WIDTHS[0]:
            # The stacked tables and the agenda month are layouts of their own: axe checks them too.
            violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
            assert not violations, [(v["id"], [n["html"][:120] for n in v["nodes"]]) for v in violations]
    finally:
        page.context.close()

"""The calendar's week in Chromium: a grid of days by hours on a desktop, the day list on a phone; an
announcement dragged onto an hour cell (or moved with the keyboard through its "Move" form) goes to that
day and hour, and the pages say first that it goes back for approval and after what happened.

Screenshots of a busy week go to test-output/screenshots/ for a person to look at.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, select

from civicpost.models import Channel, Department
from tests.browser.conftest import Live, Person, shoot, signed_in_state, wait_for_state

pytestmark = pytest.mark.browser

NEW_YORK = ZoneInfo("America/New_York")
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
WIDER_THAN_THE_SCREEN = "() => Math.max(window.innerWidth, document.documentElement.scrollWidth)"


@dataclass
class Week:
    monday: date
    to_drag: str  # the title of an approved announcement on Monday at 10:20
    to_move: str  # one on Tuesday at 11:40, moved with the keyboard

    def url(self, **extra: str) -> str:
        return f"/staff/calendar?view=week&date={self.monday.isoformat()}" + "".join(f"&{k}={v}" for k, v in extra.items())


def at(day: date, hour: int, minute: int) -> str:
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK).isoformat()


def schedule(live: Live, author: Person, channels: list[int], department: str, title: str, publish_at: str) -> int:
    with live.api(author) as staff, live.api(live.approver) as approver:
        made = staff.post("/announcements", json={"department": department, "title": title, "channels": channels,
                                                  "body": f"{title}: details on the city website.",
                                                  "publish_at": publish_at}).raise_for_status().json()
        staff.post(f"/announcements/{made['id']}/submit").raise_for_status()
        seen = approver.get(f"/announcements/{made['id']}").raise_for_status().json()["fingerprint"]
        approver.post(f"/announcements/{made['id']}/approve", json={"fingerprint": seen}).raise_for_status()
    return made["id"]


@pytest.fixture(scope="module")
def week(live: Live, engine: Engine) -> Week:
    """Next week, busy: both departments on most days, three at once on Thursday morning, one late at night."""
    today = datetime.now(NEW_YORK).date()
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    with engine.connect() as connection:
        police = list(connection.scalars(select(Channel.id).join(Department).where(Department.slug == "police")))
    parks = [live.parks_channels["feed"], live.parks_channels["mastodon"]]
    plan = [
        (0, 10, 20, "parks", "Pool opens for the summer season"),
        (0, 14, 0, "police", "Road closure on Main Street"),
        (1, 11, 40, "parks", "Tree planting volunteers wanted"),
        (2, 8, 15, "police", "Bike registration day at the station"),
        (3, 9, 0, "parks", "Farmers market moves to Riverside Park"),
        (3, 9, 30, "police", "Parade route and parking"),
        (3, 9, 45, "parks", "Library story time in the park"),
        (4, 17, 0, "parks", "Outdoor movie night: bring a blanket"),
        (5, 23, 30, "police", "Fireworks noise advisory"),
        (6, 7, 0, "parks", "Trail run registration closes"),
    ]
    for offset, hour, minute, department, title in plan:
        author, channels = (live.parks_staff, parks) if department == "parks" else (live.police_staff, police)
        made = schedule(live, author, channels, department, title, at(monday + timedelta(days=offset), hour, minute))
        assert wait_for_state(live, live.approver, made, {"scheduled"})["state"] == "scheduled"
    return Week(monday=monday, to_drag=plan[0][4], to_move=plan[2][4])


def open_week(browser: Browser, live: Live, url: str, *, width: int, height: int = 900, dark: bool = False) -> Page:
    context = browser.new_context(base_url=live.url, storage_state=signed_in_state(browser, live, live.approver),
                                  viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    if dark:
        page.emulate_media(color_scheme="dark")
    page.goto(url)
    return page


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_busy_week_is_accessible_and_fits_the_screen(browser: Browser, live: Live, week: Week, width: int,
                                                         dark: bool):
    page = open_week(browser, live, week.url(), width=width, dark=dark)
    try:
        grid = page.get_by_role("table", name="announcements by hour")
        if width >= 600:
            expect(grid).to_be_visible()
            expect(grid.get_by_role("columnheader")).to_have_count(8)
            expect(grid.get_by_role("rowheader", name="11:00 p.m.")).to_be_visible()  # widened for the fireworks
        else:
            expect(grid).to_be_hidden()
            days = page.locator(".cal-week").get_by_role("heading", level=3)  # the day list, one heading a day
            expect(days).to_have_count(7)
            expect(days.first).to_be_visible()
        expect(page.get_by_role("link", name=f"10:20 a.m. {week.to_drag}")).to_be_visible()
        assert page.evaluate(WIDER_THAN_THE_SCREEN) <= width
        shoot(page, f"calendar-week-{width}-{'dark' if dark else 'light'}")
        violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
        assert not violations, [(v["id"], [n["html"][:160] for n in v["nodes"]]) for v in violations]
    finally:
        page.context.close()


def test_this_week_marks_today_and_the_current_hour_in_words(browser: Browser, live: Live, week: Week):
    page = open_week(browser, live, "/staff/calendar?view=week", width=1280)
    try:
        today = page.locator("th[aria-current=date]")
        expect(today).to_contain_text("today")
        expect(page.locator("td.cal-now")).to_contain_text("now")
        shoot(page, "calendar-this-week-1280")
    finally:
        page.context.close()


def test_dragging_an_approved_item_onto_an_hour_cell_moves_it_there_after_saying_it_goes_back_for_approval(
        browser: Browser, live: Live, week: Week):
    # Tall enough for the whole week: Chromium ends a drag when the page scrolls under it.
    page = open_week(browser, live, week.url(), width=1280, height=2400)
    try:
        wednesday = (week.monday + timedelta(days=2)).isoformat()
        item = page.locator(".cal-grid li.cal-item", has_text=week.to_drag)
        item.drag_to(page.locator(f'td[data-day="{wednesday}"][data-hour="15"]'))
        page.wait_for_url("**/reschedule?**")
        expect(page.get_by_label("New publish time")).to_have_value(f"{wednesday}T15:20")
        expect(page.get_by_role("note")).to_contain_text("Moving it sends it back for approval")
        page.get_by_role("button", name="Move it and send it back for approval").click()
        status = page.get_by_role("status").filter(has_text="Moved")
        expect(status).to_contain_text(f"Moved “{week.to_drag}” to Wed")
        expect(status).to_contain_text("3:20 p.m.")
        expect(status).to_contain_text("back in the approval queue")
    finally:
        page.context.close()


def test_the_keyboard_moves_an_item_through_its_move_form(browser: Browser, live: Live, week: Week):
    page = open_week(browser, live, week.url(), width=1280)
    try:
        page.get_by_role("link", name=f"Move “{week.to_move}”").focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**/reschedule")
        expect(page.get_by_role("note")).to_contain_text("It is approved.")
        friday = (week.monday + timedelta(days=4)).isoformat()
        page.get_by_label("New publish time").fill(f"{friday}T08:10")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status").filter(has_text="Moved")).to_contain_text("8:10 a.m.")
        assert f"date={friday}" in page.url
    finally:
        page.context.close()


def test_without_javascript_the_grid_shows_and_move_opens_the_form(browser: Browser, live: Live, week: Week):
    context = browser.new_context(base_url=live.url, storage_state=signed_in_state(browser, live, live.approver),
                                  viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(week.url())
        expect(page.get_by_role("table", name="announcements by hour")).to_be_visible()
        page.get_by_role("link", name="Move “Library story time in the park”").click()
        expect(page.get_by_role("note")).to_contain_text("Moving it sends it back for approval")
    finally:
        context.close()

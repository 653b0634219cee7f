import pytest
from axe_playwright_python.sync_playwright import Axe
from tests.browser.test_accessibility import AXE_OPTIONS, violations_report
from tests.browser.conftest import shoot

pytestmark = pytest.mark.browser

def check(page, name):
    shoot(page, "scratch-" + name)
    v = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not v, violations_report(name, v)

@pytest.mark.parametrize("platform", ["x", "facebook", "mastodon", "bluesky", "email", "webhook", "feed"])
def test_forms(live, open_page, platform):
    page = open_page(live.admin)
    page.goto(f"/staff/channels?platform={platform}")
    check(page, "channels-" + platform)
    page.get_by_role("button", name="Add channel").click()
    page.wait_for_load_state()
    check(page, "channels-err-" + platform)

def test_errors(live, open_page):
    page = open_page(live.admin)
    page.goto("/staff/users")
    page.get_by_label("Email").fill("nope")
    page.get_by_role("button", name="Add user").click()
    page.wait_for_load_state()
    check(page, "users-err")
    page.goto("/staff/departments")
    page.get_by_label("Short name").fill("Bad Slug")
    page.get_by_role("button", name="Add department").click()
    page.wait_for_load_state()
    check(page, "departments-err")
    page.goto(f"/staff/channels/{live.parks_channels['x']}")
    page.get_by_role("button", name="Replace credentials").click()
    page.wait_for_load_state()
    check(page, "channel-err")
    page.goto(f"/staff/channels/{live.parks_channels['mastodon']}")
    page.get_by_role("button", name="Test connection").click()
    page.wait_for_load_state()
    check(page, "channel-tested")
    page.goto(f"/staff/channels/{live.parks_channels['feed']}")
    check(page, "channel-feed")
    page.goto("/staff/calendar?view=month&date=2026-03-01")
    check(page, "cal-march")

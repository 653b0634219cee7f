"""Quiet channels on the dashboard and the channel page in Debian's Chromium:
axe finds no WCAG 2.1 A/AA violation in the light and the dark scheme, at 1280
and 390 px, and the badges fit a phone."""

from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page
from sqlalchemy import update

from civicpost.db import transaction
from civicpost.models import Channel
from tests.browser.conftest import Live, shoot

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def quiet(live: Live) -> None:
    now = datetime.now(UTC)
    with transaction(live.app.state.write_sessions) as session:
        session.execute(update(Channel).where(Channel.id == live.parks_channels["mastodon"])
                        .values(created_at=now - timedelta(days=120), last_post_seen_at=now - timedelta(days=45, hours=1)))
        session.execute(update(Channel).where(Channel.id == live.parks_channels["bluesky"])
                        .values(created_at=now - timedelta(days=45, hours=1)))
        session.execute(update(Channel).where(Channel.id == live.parks_channels["x"])
                        .values(token_expires_at=now + timedelta(days=6, hours=1)))


def assert_axe_clean(page: Page, name: str) -> None:
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, name + ": " + "; ".join(f"{v['id']}: {v['help']} {v['nodes'][0]['target']}"
                                                   for v in violations)


def assert_fits(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_quiet_badges_read_in_both_schemes_and_fit_a_phone(open_page, live: Live, quiet, scheme: str) -> None:
    page = open_page(live.admin)
    page.emulate_media(color_scheme=scheme)
    page.goto("/staff/")
    silent = f"{live.parks_channel_names['mastodon']}: silent 45 days"
    assert page.get_by_text(silent).is_visible()
    assert page.get_by_text(f"{live.parks_channel_names['bluesky']}: never posted, added 45 days ago").is_visible()
    assert page.get_by_text(f"{live.parks_channel_names['x']}: access ends in 6 days").is_visible()
    assert_axe_clean(page, f"dashboard ({scheme})")
    shoot(page, f"staff-dashboard-quiet-{scheme}")
    page.set_viewport_size(PHONE)
    assert_fits(page)
    assert_axe_clean(page, f"dashboard on a phone ({scheme})")
    shoot(page, f"staff-dashboard-quiet-phone-{scheme}")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/staff/channels/{live.parks_channels['mastodon']}")
    assert page.get_by_text(silent).is_visible()
    assert_axe_clean(page, f"channel page ({scheme})")
    shoot(page, f"staff-channel-quiet-{scheme}")
    page.set_viewport_size(PHONE)
    assert_fits(page)
    assert_axe_clean(page, f"channel page on a phone ({scheme})")

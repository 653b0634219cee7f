"""The residents' counts on an announcement's page in Debian's Chromium: axe finds no WCAG 2.1 A/AA
violation in either scheme, and the counts fit a 390 px phone."""

from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from civicpost.db import transaction
from civicpost.models import SubscriberSend
from tests.browser.conftest import Live, shoot
from tests.engine.observing import wait_for
from tests.factories import create_subscribers

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def fanned_out(live: Live) -> int:
    """An approved announcement to a subscribers channel of six residents, its rows as a worker left them."""
    sessions = live.app.state.write_sessions
    create_subscribers(sessions, live.settings.fernet_key(), "parks", [f"r{i}@example.org" for i in range(6)])
    with live.api(live.admin) as admin:
        channel = admin.post("/channels", json={"department": "parks", "platform": "subscribers",
                                                "name": "Parks subscribers", "credentials": {},
                                                "settings": {"topics": ["parks"]}}).raise_for_status().json()["id"]
    with live.api(live.parks_staff) as staff:
        made = staff.post("/announcements", json={"department": "parks", "title": "Pool opens Saturday",
                                                  "body": "Lifeguards on duty all day.", "channels": [channel]})
        announcement = made.raise_for_status().json()["id"]
        staff.post(f"/announcements/{announcement}/submit").raise_for_status()
    with live.api(live.approver) as approver:
        seen = approver.get(f"/announcements/{announcement}").raise_for_status().json()["fingerprint"]
        approver.post(f"/announcements/{announcement}/approve", json={"fingerprint": seen}).raise_for_status()

    def expanded() -> list[int]:
        with transaction(sessions) as session:
            return list(session.scalars(select(SubscriberSend.id).order_by(SubscriberSend.id)))

    ids = wait_for(expanded)
    # As a run with a bounce, two in flight and a worker that died would leave them (the engine's rows).
    states = ["sent", "sent", "failed", "pending", "pending", "sent"]
    with transaction(sessions) as session:
        for row_id, state in zip(ids, states, strict=True):
            session.execute(update(SubscriberSend).where(SubscriberSend.id == row_id)
                            # Pending rows wait beyond the test: the live worker (no mail server) leaves them.
                            .values(state=state, reclaimed=row_id == ids[-1],
                                    next_attempt_at=datetime.now(UTC) + timedelta(hours=1)))
    return announcement


def assert_axe_clean(page: Page, name: str) -> None:
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, name + ": " + "; ".join(f"{v['id']}: {v['help']} {v['nodes'][0]['target']}"
                                                   for v in violations)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_residents_counts_read_in_both_schemes_and_fit_a_phone(open_page, live: Live, fanned_out: int,
                                                                   scheme: str) -> None:
    page = open_page(live.approver)
    page.emulate_media(color_scheme=scheme)
    page.goto(f"/staff/announcements/{fanned_out}")
    counts = page.locator(".residents-counts")
    expect(counts).to_contain_text("Sent")
    expect(counts.locator("div", has_text="Failed").locator("dd")).to_have_text("1")
    expect(page.get_by_text("up to 1 resident may have received it twice")).to_be_visible()
    page.locator("#residents-heading").scroll_into_view_if_needed()
    assert_axe_clean(page, f"announcement page ({scheme})")
    shoot(page, f"residents-counts-1280-{scheme}")
    page.set_viewport_size(PHONE)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"
    assert_axe_clean(page, f"announcement page on a phone ({scheme})")
    shoot(page, f"residents-counts-390-{scheme}")

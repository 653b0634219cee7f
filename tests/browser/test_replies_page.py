"""In Chromium: an announcement's Replies section meets WCAG 2.1 AA as axe-core can tell, light and
dark, fits a 390 px phone, loads nothing from another host, and an approver hides a resident's
Facebook comment with a reason without JavaScript."""

from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import func, select

from civicpost.models import Reply
from civicpost.replies.collector import Collector
from tests.browser.conftest import Live, shoot, signed_in_state, wait_for_state

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
PHONE = {"width": 390, "height": 844}


def published_with_replies(live: Live) -> int:
    """A published Parks announcement on the sandbox's Facebook, Mastodon and Bluesky whose Facebook post
    residents answered, its replies read; its id. (How many replies a post gets depends on its id.)"""
    sessions = live.app.state.write_sessions
    chosen = [live.parks_channels[p] for p in ("facebook", "mastodon", "bluesky")]
    for attempt in range(8):
        with live.api(live.parks_staff) as staff:
            made = staff.post("/announcements", json={
                "department": "parks", "title": f"Splash pad opens in June ({attempt})",
                "body": f"The Riverside splash pad opens on the first Saturday in June. ({attempt})",
                "channels": chosen}).raise_for_status().json()
            staff.post(f"/announcements/{made['id']}/submit").raise_for_status()
        with live.api(live.approver) as approver:
            seen = approver.get(f"/announcements/{made['id']}").raise_for_status().json()["fingerprint"]
            approver.post(f"/announcements/{made['id']}/approve", json={"fingerprint": seen}).raise_for_status()
        assert wait_for_state(live, live.approver, made["id"], {"published"})["state"] == "published"
        Collector(live.settings, sessions, name="browser-test").collect_now()
        with sessions() as session:
            on_facebook = session.scalar(select(func.count()).select_from(Reply).where(
                Reply.announcement_id == made["id"], Reply.platform == "facebook"))
        if on_facebook:
            return made["id"]
    raise AssertionError("no Facebook post with replies in 8 announcements")


@pytest.fixture(scope="module")
def announcement(live: Live) -> int:
    return published_with_replies(live)


def only_this_machine(page: Page) -> list[str]:
    elsewhere: list[str] = []

    def route(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    return elsewhere


def violations(page: Page) -> list:
    found = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in found]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_replies_section_is_axe_clean_fits_a_phone_and_loads_only_from_this_machine(
        scheme: str, live: Live, announcement: int, open_page):
    page = open_page(live.approver)
    page.emulate_media(color_scheme=scheme)
    elsewhere = only_this_machine(page)
    response = page.goto(f"/staff/announcements/{announcement}")
    assert response is not None and response.status == 200
    replies = page.get_by_role("region", name="Replies")
    expect(replies).to_be_visible()
    expect(replies.get_by_role("heading", level=3)).to_have_count(3)  # one group per channel
    expect(replies.get_by_role("button", name="Hide").first).to_be_visible()
    assert violations(page) == []
    page.set_viewport_size(PHONE)
    shoot(page, f"announcement-replies-390-{scheme}")
    assert not page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
    assert violations(page) == []
    assert elsewhere == []


def test_an_approver_hides_a_facebook_comment_with_a_reason_without_javascript(browser: Browser, live: Live,
                                                                              announcement: int):
    context = browser.new_context(base_url=live.url, java_script_enabled=False, viewport=PHONE,
                                  storage_state=signed_in_state(browser, live, live.approver))
    try:
        page = context.new_page()
        page.goto(f"/staff/announcements/{announcement}")
        first = page.get_by_role("region", name="Replies").locator("form.reply-form").first
        first.get_by_label("Reason").fill("Shares a neighbour's phone number")
        first.get_by_role("button", name="Hide").click()
        expect(page.get_by_text("Hidden on the platform, with your reason kept in the record.")).to_be_visible()
        expect(page.get_by_role("region", name="Replies")).to_contain_text(
            "Hidden")
        expect(page.get_by_role("region", name="Replies")).to_contain_text("Shares a neighbour's phone number")
        expect(page.get_by_role("region", name="Replies")).to_contain_text("Casey Comms")
    finally:
        context.close()

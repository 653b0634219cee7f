"""Issue 5, item 8: from a staff member's draft in the browser, through an
approver's queue, to posts on every sandbox platform, seen on the announcement
page with links. Screenshots of each step go to test-output/screenshots/."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, png_bytes, shoot, wait_for_state

pytestmark = pytest.mark.browser

TITLE = "Riverside Park playground reopens"
BODY = ("The Riverside Park playground reopens Saturday at 9 a.m. with new swings and a splash pad. "
        "Share your photos with #parksandrec")
LINK = "https://city.example/parks/riverside"
ALT_TEXT = "Children on the new swings at Riverside Park, with the splash pad behind them"


def draft_and_submit(page: Page, live: Live) -> int:
    page.goto("/staff/announcements/new")
    page.get_by_label("Department").select_option("parks")
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Text", exact=True).fill(BODY)
    page.get_by_label(re.compile(r"^Link")).fill(LINK)
    for name in live.parks_channel_names.values():
        page.get_by_role("checkbox", name=name, exact=True).check()
    page.get_by_label("Add an image").set_input_files(
        files=[{"name": "playground.png", "mimeType": "image/png", "buffer": png_bytes(color=(21, 101, 192))}]
    )
    page.get_by_label("Alt text for the new image").fill(ALT_TEXT)

    # The live preview (no button pressed): X's weighted count against its
    # limit, and the lint's advice to write the hashtag in PascalCase.
    preview = page.get_by_role("region", name="Preview")
    x_card = preview.get_by_role("listitem").filter(has=page.get_by_role("heading", name=live.parks_channel_names["x"]))
    expect(x_card.get_by_text(re.compile(r"^\d+ / 280$"))).to_be_visible()
    # Counters are written as people read them: thousands separated.
    fb_card = preview.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=live.parks_channel_names["facebook"]))
    expect(fb_card.get_by_text(re.compile(r"^\d+ / 63,206$"))).to_be_visible()
    expect(preview.get_by_text("#ParksAndRec").first).to_be_visible()
    shoot(page, "scenario-1-draft-with-live-preview")

    page.get_by_role("button", name="Submit for approval").click()
    page.wait_for_url(re.compile(r"/staff/announcements/\d+$"))
    expect(page.get_by_role("status").filter(has_text="Submitted for approval")).to_be_visible()
    shoot(page, "scenario-2-submitted")
    return int(page.url.rsplit("/", 1)[1])


def approve(page: Page) -> None:
    page.goto("/staff/approvals")
    item = page.get_by_role("article", name=TITLE)
    expect(item).to_be_visible()
    shoot(page, "scenario-3-approval-queue")
    item.get_by_role("button", name=f"Approve “{TITLE}”").click()
    expect(page.get_by_role("status").filter(has_text=f"Approved “{TITLE}”")).to_be_visible()
    shoot(page, "scenario-4-approved")


def test_a_draft_written_in_the_browser_is_approved_and_published_to_every_sandbox_platform(live: Live, open_page):
    staff_page = open_page(live.parks_staff)
    announcement_id = draft_and_submit(staff_page, live)

    approver_page = open_page(live.approver)
    approve(approver_page)

    got = wait_for_state(live, live.approver, announcement_id, {"published", "failed"})
    outcome = {d["platform"]: (d["status"], d["last_error"]) for d in got["deliveries"]}
    assert got["state"] == "published", outcome
    assert sorted(outcome) == ["bluesky", "facebook", "feed", "mastodon", "x"], outcome

    staff_page.goto(f"/staff/announcements/{announcement_id}")
    shoot(staff_page, "scenario-5-published")
    deliveries = staff_page.get_by_role("table", name=re.compile("^Deliveries"))
    for delivery in got["deliveries"]:
        assert delivery["remote_url"], delivery
        row = deliveries.get_by_role("row").filter(has=staff_page.locator(f'a[href="{delivery["remote_url"]}"]'))
        expect(row).to_have_count(1)
        expect(row.get_by_role("cell").first).to_contain_text(re.compile(r"^published\b"))

    # The city's own copy carries the image with its alt text.
    public = open_page()
    public.goto(f"/announcements/{announcement_id}")
    expect(public.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(public.get_by_alt_text(ALT_TEXT)).to_be_visible()
    shoot(public, "scenario-6-public-copy")

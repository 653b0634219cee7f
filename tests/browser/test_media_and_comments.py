"""In Chromium: the media library pages and an announcement's comments meet WCAG 2.1 AA
as axe-core can tell, fit a 390 px phone without sideways scrolling, load
nothing from another host, and the comment form works without JavaScript."""

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import Live, png_bytes, shoot, signed_in_state

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Seeded:
    announcement: int
    image: str


@pytest.fixture(scope="module")
def seeded(live: Live) -> Seeded:
    """A submitted announcement with an image from the library and a question and its answer."""
    with live.api(live.parks_staff) as staff, live.api(live.approver) as approver:
        image = staff.post("/media", files={"file": ("pool.png", png_bytes(), "image/png")}).raise_for_status().json()
        tree = png_bytes(color=(20, 60, 140))
        staff.post("/media", files={"file": ("tree.png", tree, "image/png")}).raise_for_status()
        made = staff.post("/announcements", json={
            "department": "parks", "title": "Splash pad opens in June",
            "body": "The Riverside splash pad opens on the first Saturday in June.",
            "channels": [live.parks_channels["feed"]],
            "media": [{"id": image["id"], "alt_text": "Children running through the splash pad fountains"}],
        }).raise_for_status().json()
        staff.post(f"/announcements/{made['id']}/submit").raise_for_status()
        path = f"/announcements/{made['id']}/comments"
        approver.post(path, json={"body": "Which Saturday exactly? The 6th?\nAlso: is it free?"}).raise_for_status()
        staff.post(path, json={"body": "Yes, Saturday 6 June, free for everyone. " + "https://city.example/"
                                       + "splash-pad-opening-day-details-and-hours" * 3}).raise_for_status()
    return Seeded(announcement=made["id"], image=image["id"])


PAGES = [
    ("media-library", "/staff/media", "parks_staff"),
    ("media-library-approver", "/staff/media?department=parks", "approver"),
    ("media-item", "/staff/media/{image}", "parks_staff"),
    ("announcement-comments", "/staff/announcements/{announcement}", "approver"),
    ("announcement-form-library", "/staff/announcements/new", "parks_staff"),
]


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


def scrolls_sideways(page: Page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")


@pytest.mark.parametrize(("name", "path", "who"), PAGES, ids=[p[0] for p in PAGES])
def test_the_page_is_axe_clean_fits_a_phone_and_loads_only_from_this_machine(
    name: str, path: str, who: str, live: Live, seeded: Seeded, open_page
):
    page = open_page(getattr(live, who))
    elsewhere = only_this_machine(page)
    target = path.format(image=seeded.image, announcement=seeded.announcement)
    response = page.goto(target)
    assert response is not None and response.status == 200, f"{target} answered {response and response.status}"
    page.wait_for_load_state("load")
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    page.set_viewport_size(PHONE)
    shoot(page, f"{name}-390")
    assert not scrolls_sideways(page), f"{target} scrolls sideways at 390 px"
    phone_violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not phone_violations, [(v["id"], [n["target"] for n in v["nodes"]]) for v in phone_violations]
    assert elsewhere == []


def test_a_comment_is_posted_without_javascript_and_shows_in_the_list_and_the_history(
    browser: Browser, live: Live, seeded: Seeded
):
    context = browser.new_context(base_url=live.url, java_script_enabled=False, viewport=PHONE,
                                  storage_state=signed_in_state(browser, live, live.approver))
    try:
        page = context.new_page()
        page.goto(f"/staff/announcements/{seeded.announcement}")
        comments = page.get_by_role("region", name="Comments")
        comments.get_by_label("Your comment").fill("Thanks, approving now.")
        comments.get_by_role("button", name="Add comment").click()
        expect(page.get_by_text("Comment added.")).to_be_visible()
        expect(page.get_by_role("region", name="Comments").get_by_text("Thanks, approving now.")).to_be_visible()
        expect(page.get_by_role("region", name="History")).to_contain_text("Commented: “Thanks, approving now.”")
        assert not scrolls_sideways(page)
    finally:
        context.close()


def test_an_image_is_picked_from_the_library_without_javascript(browser: Browser, live: Live, seeded: Seeded):
    context = browser.new_context(base_url=live.url, java_script_enabled=False, viewport=PHONE,
                                  storage_state=signed_in_state(browser, live, live.parks_staff))
    try:
        page = context.new_page()
        page.goto("/staff/announcements/new")
        page.get_by_label("Title", exact=True).fill("Splash pad, second week")
        page.get_by_label("Text", exact=True).fill("Still open every day.")
        page.get_by_role("group", name="Choose from the media library").get_by_role(
            "checkbox", name="Children running through the splash pad fountains").check()
        page.get_by_role("button", name="Preview", exact=True).click()
        alt = page.get_by_label("Alt text for image 1")
        expect(alt).to_have_value("Children running through the splash pad fountains")
    finally:
        context.close()

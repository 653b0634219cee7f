"""In Chromium: the draft form's preview looks like the platforms' posts, stays in view on a desktop,
becomes Write / Preview tabs on a phone (keyboard too), shows a chosen image at once, and is axe clean."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, png_bytes, shoot

pytestmark = pytest.mark.browser

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
PHONE = {"width": 390, "height": 844}
BODY = " ".join(f"Lane {n} of the Elm Street pool opens at {n + 6} a.m. on Saturday for swimmers." for n in range(8))


@pytest.fixture(scope="module")
def thread_channel(live: Live) -> int:
    """An X channel that posts a long text as a thread, with its account name learned."""
    with live.api(live.admin) as admin:
        made = admin.post("/channels", json={
            "department": "parks", "platform": "x", "name": "Parks on X (threads)",
            "credentials": {"consumer_key": "k", "consumer_secret": "s", "access_token": "t",
                            "access_token_secret": "ts"},
            "settings": {"api_base": f"{live.sandbox}/x", "overflow": "thread", "username": "elm_parks"},
        }).raise_for_status().json()
    return made["id"]


@pytest.fixture(scope="module")
def image(live: Live) -> str:
    with live.api(live.parks_staff) as staff:
        made = staff.post("/media", files={"file": ("pool.png", png_bytes(), "image/png")}).raise_for_status()
    return made.json()["id"]


def fill_draft(page: Page, live: Live, thread_channel: int, image: str) -> None:
    page.goto("/staff/announcements/new")
    page.get_by_label("Title", exact=True).fill("Elm Street pool opens Saturday")
    page.get_by_label("Text", exact=True).fill(BODY)
    page.get_by_label("Link (optional)").fill("https://www.springfield.example/pools/elm")
    page.locator(f"#channel-{thread_channel}").check()
    page.locator(f"#channel-{live.parks_channels['facebook']}").check()
    page.locator(f"#library-{image[:16]}").check()
    expect(page.locator(".thread-post").first).to_be_attached()


def test_the_preview_shows_the_account_a_link_card_images_and_a_numbered_thread(live: Live, open_page,
                                                                              thread_channel: int, image: str):
    page = open_page(live.parks_staff)
    fill_draft(page, live, thread_channel, image)
    posts = page.locator(".card-x .thread-post")
    total = posts.count()
    assert total >= 2
    expect(posts.first.locator(".post-handle")).to_have_text("@elm_parks")
    expect(posts.nth(total - 1).locator(".post-text")).to_contain_text(f"{total}/{total}")
    expect(posts.first.locator(".link-card")).to_contain_text("springfield.example")
    expect(page.locator(".card-facebook .link-card-title")).to_have_text("Elm Street pool opens Saturday")
    expect(page.locator(".card-facebook .image-badge-missing").first).to_contain_text("No alt text")


def test_a_chosen_image_shows_in_the_preview_at_once_with_its_alt_text(live: Live, open_page, thread_channel: int,
                                                                      tmp_path):
    page = open_page(live.parks_staff)
    page.goto("/staff/announcements/new")
    page.get_by_label("Title", exact=True).fill("Pool opens")
    page.get_by_label("Text", exact=True).fill("The pool opens Saturday.")
    page.locator(f"#channel-{thread_channel}").check()
    expect(page.locator(".card-x .post")).to_be_visible()
    picture = tmp_path / "pool.png"
    picture.write_bytes(png_bytes(400, 300))
    page.locator("#image_file").set_input_files(str(picture))
    local = page.locator(".card-x .post-image-local")
    expect(local.locator(".image-badge")).to_have_text("No alt text")
    expect(page.locator("#image_file-chosen img")).to_be_visible()
    page.get_by_label("Alt text for the new image").fill("The empty pool in the sun")
    expect(local.locator("img")).to_have_attribute("alt", "The empty pool in the sun")
    expect(local.locator(".image-badge")).to_have_text("ALT")
    # A preview refreshed from the server keeps the image not uploaded yet.
    page.get_by_label("Text", exact=True).fill("The pool opens Saturday at nine.")
    expect(page.locator(".card-x .post-text")).to_contain_text("at nine")
    expect(page.locator(".card-x .post-image-local img")).to_have_attribute("alt", "The empty pool in the sun")


def test_on_a_desktop_the_preview_stays_in_view_while_the_form_scrolls(live: Live, open_page, thread_channel: int,
                                                                      image: str):
    page = open_page(live.parks_staff)
    fill_draft(page, live, thread_channel, image)
    pane = page.locator("#preview-pane")
    assert pane.evaluate("e => getComputedStyle(e).position") == "sticky"
    expect(page.get_by_role("link", name="Go to preview")).to_be_hidden()  # both columns are in view
    # Half way down the form (at its very end the pane stops with the form, as sticky does).
    scrolled = page.evaluate("() => { window.scrollTo(0, document.querySelector('#images').offsetTop - 100);"
                             " return window.scrollY; }")
    box = pane.bounding_box()
    assert scrolled > 300 and box is not None and 0 <= box["y"] <= 40 and box["y"] + box["height"] <= 900 + 1
    page.screenshot(path=str(shoot(page, "draft-preview-1280").with_name("draft-preview-1280-view.png")))
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


def test_on_a_phone_write_and_preview_are_tabs_that_arrow_keys_move_between(live: Live, open_page,
                                                                           thread_channel: int, image: str):
    page = open_page(live.parks_staff)
    page.set_viewport_size(PHONE)
    fill_draft(page, live, thread_channel, image)
    write, preview = page.get_by_role("tab", name="Write"), page.get_by_role("tab", name="Preview")
    expect(write).to_have_attribute("aria-selected", "true")
    expect(page.locator("#preview-pane")).to_be_hidden()
    expect(page.get_by_role("link", name="Go to preview")).to_be_hidden()
    write.focus()
    page.keyboard.press("ArrowRight")
    expect(preview).to_be_focused()
    expect(preview).to_have_attribute("aria-selected", "true")
    expect(page.locator("#write-pane")).to_be_hidden()
    expect(page.get_by_role("tabpanel")).to_contain_text("@elm_parks")
    assert not page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
    shoot(page, "draft-preview-390")
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    page.keyboard.press("ArrowLeft")
    expect(write).to_be_focused()
    expect(page.locator("#write-pane")).to_be_visible()
    shoot(page, "draft-write-390")
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


def test_without_javascript_a_phone_shows_the_form_then_the_preview_with_a_skip_link(live: Live, browser):
    context = browser.new_context(base_url=live.url, java_script_enabled=False, viewport=PHONE)
    try:
        page = context.new_page()
        page.goto("/staff/login")
        page.get_by_label("Email").fill(live.parks_staff.email)
        page.get_by_label("Password").fill("correct horse battery staple")
        page.get_by_role("button", name="Sign in").click()
        page.goto("/staff/announcements/new")
        expect(page.get_by_role("tab")).to_have_count(0)
        skip = page.get_by_role("link", name="Go to preview")
        expect(skip).to_be_visible()
        expect(page.locator("#preview-pane")).to_be_visible()
        assert not page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
    finally:
        context.close()

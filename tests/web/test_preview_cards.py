"""Preview cards that look like each platform's post: the account, a link card, images, a thread."""

import re

from civicpost.models import Channel
from civicpost.web.pages.admin_channels import learned_settings
from tests.factories import channel_fields, create_channel, create_media
from tests.pages import csrf_of


def preview(browser, **fields) -> str:
    page = browser.get("/staff/announcements/new")
    data = {"department": "parks", "title": "Pool opens Saturday", "body": "The Elm Street pool opens Saturday.",
            "language": "en", **fields}
    r = browser.post("/staff/announcements/preview", data=data, headers={"X-CSRF-Token": csrf_of(page.text)})
    assert r.status_code == 200, r.text
    return r.text


def cards(html: str) -> dict[str, str]:
    """Each card's HTML by its heading's channel name."""
    found = {}
    for card in re.findall(r'<li class="card card-.*?</li>\s*(?=<li class="card |</ul>\s*</div>\s*$)', html, re.S):
        name = re.search(r'class="card-title">(.*?) <span', card, re.S)
        assert name
        found[name.group(1)] = card
    return found


def channel(client, city, platform: str, name: str, **settings) -> int:
    credentials, defaults = channel_fields(platform)
    return create_channel(client, city.admin, platform, name=name, settings={**defaults, **settings})


def test_each_card_shows_the_account_name_and_handle_as_its_platform_writes_them(sign_in, city, client):
    ids = [
        channel(client, city, "x", "Parks X", username="parks_city"),
        channel(client, city, "mastodon", "Parks Mastodon", api_base="https://city.social", username="parks"),
        channel(client, city, "bluesky", "Parks Bluesky", handle="parks.city.gov"),
        channel(client, city, "facebook", "Parks Facebook", page_name="Elm City Parks"),
        channel(client, city, "telegram", "Parks Telegram", chat_id="@parkschannel"),
        channel(client, city, "email", "Parks newsletter"),
        city.parks_channels[0],
    ]
    shown = cards(preview(sign_in(city.parks_staff), channels=[str(i) for i in ids]))
    assert '<span class="post-handle">@parks_city</span>' in shown["Parks X"]
    assert '<span class="post-handle">@parks@city.social</span>' in shown["Parks Mastodon"]
    assert '<span class="post-handle">@parks.city.gov</span>' in shown["Parks Bluesky"]
    assert '<span class="post-name">Elm City Parks</span>' in shown["Parks Facebook"]
    assert '<span class="post-handle">@parkschannel</span>' in shown["Parks Telegram"]
    assert '<span class="post-handle">news@city.example</span>' in shown["Parks newsletter"]
    # The city's own site, named by the address residents read it at.
    assert '<span class="post-handle">127.0.0.1</span>' in shown["parks City website"]


def test_with_nothing_known_a_card_shows_the_channel_name_alone_and_never_a_credential(sign_in, city, client):
    x = create_channel(client, city.admin, "x", name="Parks on X")
    bluesky = create_channel(client, city.admin, "bluesky", name="Parks on Bluesky")
    telegram = create_channel(client, city.admin, "telegram", name="Parks on Telegram",
                              settings={"chat_id": "-1001234"})
    html = preview(sign_in(city.parks_staff), channels=[str(x), str(bluesky), str(telegram)])
    shown = cards(html)
    assert '<span class="post-name">Parks on X</span>' in shown["Parks on X"]
    assert "post-handle" not in shown["Parks on X"]
    assert "post-handle" not in shown["Parks on Telegram"]  # a private channel's number is no name
    assert "sandbox-app-password" not in html and "sandbox-bot-token" not in html and "-1001234" not in html


def test_test_connection_keeps_the_account_name_it_learns_for_previews():
    x = Channel(platform="x", name="Parks on X", settings={"overflow": "thread"})
    assert learned_settings(x, {"user_id": "12", "username": "parks_city"}) == {
        "overflow": "thread", "username": "parks_city"}
    mastodon = Channel(platform="mastodon", name="Parks", settings={"api_base": "https://city.social"})
    learned = learned_settings(mastodon, {"account": "parks", "username": "parks", "max_characters": 500})
    assert learned["username"] == "parks"
    # A name the platform could never have is not kept.
    assert "username" not in learned_settings(x, {"username": "<script>"})


def test_an_account_name_that_no_platform_allows_is_refused_with_what_to_fix(city, client):
    credentials, settings = channel_fields("x")
    r = client.post("/api/v1/channels", headers=city.admin.auth, json={
        "department": "parks", "platform": "x", "name": "Parks on X", "credentials": credentials,
        "settings": {**settings, "username": "parks city<b>"}})
    assert r.status_code == 422 and "username" in r.text


def test_a_link_gets_a_card_with_its_domain_and_the_title_only_where_the_platform_shows_one(sign_in, city, client):
    ids = [channel(client, city, "x", "Parks X"), channel(client, city, "instagram", "Parks Instagram"),
           channel(client, city, "telegram", "Quiet Telegram", link_preview=False),
           channel(client, city, "email", "Parks newsletter"), *city.parks_channels]
    shown = cards(preview(sign_in(city.parks_staff), link="https://www.city.example/pools/elm",
                          channels=[str(i) for i in ids]))
    card = re.search(r'<p class="link-card">.*?</p>', shown["Parks X"], re.S)
    assert card and '<span class="link-card-domain">city.example</span>' in card.group(0)
    assert '<span class="link-card-title" lang="en">Pool opens Saturday</span>' in card.group(0)
    for name in ("Parks Instagram", "Quiet Telegram", "Parks newsletter", "parks City website", "parks Partner hook"):
        assert "link-card" not in shown[name], name


def test_without_a_link_no_card_is_shown(sign_in, city, client):
    x = channel(client, city, "x", "Parks X")
    assert "link-card" not in preview(sign_in(city.parks_staff), channels=[str(x)])


def test_images_show_as_thumbnails_with_an_alt_badge_or_a_no_alt_text_warning(sign_in, city, client):
    x = channel(client, city, "x", "Parks X")
    first = create_media(client, city.parks_staff).json()["id"]
    second = create_media(client, city.parks_staff).json()["id"]
    html = preview(sign_in(city.parks_staff), channels=[str(x)], **{
        "media-0-id": first, "media-0-alt": "The pool, empty and sunny", "media-1-id": second, "media-1-alt": ""})
    images = re.findall(r'<li class="post-image">.*?</li>', html, re.S)
    assert len(images) == 2
    assert f'src="/media/{first}" alt="The pool, empty and sunny"' in images[0] and ">ALT</span>" in images[0]
    assert f'src="/media/{second}" alt=""' in images[1] and "No alt text</span>" in images[1]
    assert "ALT</span>" not in images[1]


def test_a_thread_shows_each_part_as_its_own_numbered_post_with_the_link_card_on_the_first(sign_in, city, client):
    x = channel(client, city, "x", "Parks X", overflow="thread", username="parks_city")
    body = " ".join(f"Sentence number {n} about the pool opening hours and the lanes." for n in range(12))
    html = preview(sign_in(city.parks_staff), channels=[str(x)], body=body, link="https://city.example/pools")
    posts = re.findall(r'<li class="post thread-post">.*?</li>', html, re.S)
    total = len(posts)
    assert total >= 3 and f"Sent as a thread of {total} posts." in html
    for n, post in enumerate(posts, start=1):
        assert '<span class="post-handle">@parks_city</span>' in post and f" {n}/{total}</div>" in post
    assert "link-card" in posts[0] and all("link-card" not in p for p in posts[1:])


def test_hostile_words_in_names_titles_and_alt_text_stay_escaped(sign_in, city, client):
    hostile = '"><script>alert(1)</script>'
    fb = channel(client, city, "facebook", f"Parks {hostile}", page_name=f"Page {hostile}")
    image = create_media(client, city.parks_staff).json()["id"]
    html = preview(sign_in(city.parks_staff), channels=[str(fb)], title=f"Pool {hostile}",
                   link="https://city.example/a", **{"media-0-id": image, "media-0-alt": f"Alt {hostile}"})
    assert "<script>" not in html
    assert "Page &#34;&gt;&lt;script&gt;" in html and "Pool &#34;&gt;&lt;script&gt;" in html
    assert 'alt="Alt &#34;&gt;&lt;script&gt;' in html


def test_the_draft_form_offers_a_skip_link_to_the_preview_without_javascript(sign_in, city):
    page = sign_in(city.parks_staff).get("/staff/announcements/new").text
    assert '<a class="skip-to-preview" href="#preview-pane">Go to preview</a>' in page
    assert 'id="preview-pane"' in page

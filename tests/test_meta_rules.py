"""Instagram's and Threads' rules for a post, as a drafter meets them in a rendition's problems."""

import pytest

from civicpost import PROJECT_ROOT
from civicpost.content import ChannelView, Draft, MediaRef
from civicpost.platforms import spec
from civicpost.platforms.threads import threads_length
from civicpost.rendering import Renderer

PHOTO = MediaRef("m1", "Lifeguards at the Elm Street pool", mime_type="image/jpeg", size_bytes=300_000)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(PROJECT_ROOT / "templates")


def draft(**changes) -> Draft:
    values = dict(title="Pool opens Saturday", body="The Elm Street pool opens at 9.", department="Parks",
                  link="https://city.example.gov/pools", media=[PHOTO])
    values.update(changes)
    return Draft(**values)


def codes(renderer: Renderer, platform: str, changes: dict | None = None, **settings) -> list[str]:
    channel = ChannelView(id=1, platform=platform, name=f"City {platform}", settings=settings)
    return [p.code for p in renderer.render(draft(**(changes or {})), channel).blocking]


def test_an_instagram_post_with_a_jpeg_and_alt_text_has_no_blocking_problem(renderer):
    assert codes(renderer, "instagram") == []


def test_an_instagram_post_without_an_image_is_blocking(renderer):
    rendition = renderer.render(draft(media=[]), ChannelView(id=1, platform="instagram", name="Parks on Instagram"))

    assert [p.code for p in rendition.blocking] == ["image_required"]
    assert "Instagram posts need an image" in rendition.blocking[0].message


def test_an_instagram_post_with_a_png_is_blocking_and_says_to_save_it_as_jpeg(renderer):
    png = MediaRef("m2", "A map of the pool", mime_type="image/png", size_bytes=1000)

    assert codes(renderer, "instagram", {"media": [png]}) == ["image_type"]


def test_thirty_hashtags_pass_and_thirty_one_block_while_anchors_and_emails_are_not_hashtags_or_mentions(renderer):
    thirty = " ".join(f"#pool{n}" for n in range(30))
    not_tags = " ".join(["https://city.example.gov/pools#hours", "parks@city.example.gov"] * 30)

    assert codes(renderer, "instagram", {"body": thirty}) == []
    assert codes(renderer, "instagram", {"body": thirty + " #one_more"}) == ["too_many_hashtags"]
    assert codes(renderer, "instagram", {"body": not_tags[:2000]}) == []


def test_more_than_twenty_mentions_are_blocking(renderer):
    mentions = " ".join(f"@lifeguard{n}" for n in range(21))

    assert codes(renderer, "instagram", {"body": mentions}) == ["too_many_mentions"]


def test_a_caption_over_2200_characters_is_too_long(renderer):
    assert codes(renderer, "instagram", {"body": "a" * 2200}) == ["too_long"]


def test_threads_counts_each_emoji_as_its_utf8_bytes_and_other_characters_once():
    assert threads_length("Pool 🏊") == 5 + 4
    assert threads_length("Piscine ouverte été") == 19
    assert threads_length("👨\u200d👩\u200d👧") == len("👨\u200d👩\u200d👧".encode())
    assert spec("threads").measure("a" * 497 + "👋").length == 501


def test_a_threads_post_with_six_links_is_blocking_even_when_threaded(renderer):
    six = " ".join(f"https://city.example.gov/{n}" for n in range(6))

    assert codes(renderer, "threads", {"body": six}) == ["too_many_links"]
    assert codes(renderer, "threads", {"body": six + " " + "word " * 120}, overflow="thread") == ["too_many_links"]


def test_a_long_threads_post_goes_out_as_a_thread_when_the_channel_says_so(renderer):
    body = "Crews resurface Main Street this week. " * 20
    channel = ChannelView(id=1, platform="threads", name="City on Threads", settings={"overflow": "thread"})

    rendition = renderer.render(draft(body=body, media=[]), channel)

    assert rendition.fits and rendition.parts and len(rendition.parts) > 1
    assert all(spec("threads").measure(part).fits for part in rendition.parts)

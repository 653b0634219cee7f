"""What civicpost knows about Telegram before it sends: the channel's fields,
how a post is counted and worded, and where the channel lives."""

import pytest

from civicpost import PROJECT_ROOT
from civicpost.content import ChannelView, Draft, MediaRef
from civicpost.errors import Invalid
from civicpost.platforms import checked_fields, spec
from civicpost.rendering import Renderer

TELEGRAM = spec("telegram")
TOKEN = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize(("given", "kept"), [
    ("@cityofexample", "@cityofexample"),
    ("cityofexample", "@cityofexample"),
    ("https://t.me/cityofexample", "@cityofexample"),
    ("t.me/cityofexample/", "@cityofexample"),
    ("-1001234567890", "-1001234567890"),
])
def test_a_channel_is_named_by_its_username_or_numeric_id_however_it_is_pasted(given, kept) -> None:
    _, settings = checked_fields("telegram", {"bot_token": TOKEN}, {"chat_id": given})
    assert settings["chat_id"] == kept


@pytest.mark.parametrize(("field", "value", "words"), [
    ("credentials.bot_token", f"bot{TOKEN}", "@BotFather"),
    ("credentials.bot_token", "not-a-token", "@BotFather"),
    ("settings.chat_id", "@ab", "@username"),
    ("settings.chat_id", "https://example.com/city", "@username"),
])
def test_a_token_or_channel_of_the_wrong_shape_is_refused_with_a_sentence(field, value, words) -> None:
    credentials = {"bot_token": value} if field.startswith("credentials") else {"bot_token": TOKEN}
    settings = {"chat_id": value} if field.startswith("settings") else {"chat_id": "@cityofexample"}

    with pytest.raises(Invalid) as caught:
        checked_fields("telegram", credentials, settings)

    [problem] = caught.value.errors
    assert problem["field"] == field and words in problem["message"]


def test_length_is_counted_in_utf16_units_against_4096() -> None:
    assert TELEGRAM.measure("a" * 4096).fits
    assert not TELEGRAM.measure("a" * 4097).fits
    # 2,048 emoji are 4,096 units; one more is over, though far fewer than 4,096 characters.
    assert TELEGRAM.measure("🏊" * 2048).fits
    measured = TELEGRAM.measure("🏊" * 2049)
    assert (measured.length, measured.limit, measured.fits) == (4098, 4096, False)


def test_the_directory_links_a_public_channel_and_not_a_private_one() -> None:
    assert TELEGRAM.profile({"chat_id": "@cityofexample"}, None) == "https://t.me/cityofexample"
    assert TELEGRAM.profile({"chat_id": "-1001234567890"}, None) is None


def test_telegram_says_it_keeps_no_alt_text_cannot_look_up_and_where_a_person_looks() -> None:
    capabilities = TELEGRAM.capabilities
    assert (capabilities.alt_text, capabilities.find) == (False, False)
    assert (capabilities.delete, capabilities.thread) == (True, True)
    assert TELEGRAM.where_to_look == "the Telegram channel"


def test_a_post_is_worded_by_its_template_with_a_button_to_the_page_that_describes_its_images() -> None:
    renderer = Renderer(PROJECT_ROOT / "templates", warm=False)
    draft = Draft(title="Pool opens", body="Saturday at 9.", department="Parks", link="https://city.example/pool",
                  media=[MediaRef("m1", "Lifeguards at the pool", mime_type="image/png", size_bytes=2000)])
    channel = ChannelView(id=1, platform="telegram", name="City on Telegram", settings={"chat_id": "@cityofexample"})

    rendition = renderer.render(draft, channel)

    assert rendition.text == "Pool opens\n\nSaturday at 9.\n\nMore information: https://city.example/pool\n\n— Parks"
    assert rendition.extra["button"] == "Read it on the city's website, with image descriptions"
    assert rendition.fits and not [p for p in rendition.problems if p.severity == "error"]


def test_a_gif_is_refused_for_telegram_which_takes_photos_only() -> None:
    renderer = Renderer(PROJECT_ROOT / "templates", warm=False)
    draft = Draft(title="Pool opens", body="Saturday.", department="Parks",
                  media=[MediaRef("m1", "Lifeguards at the pool", mime_type="image/gif", size_bytes=2000)])

    rendition = renderer.render(draft, ChannelView(id=1, platform="telegram", name="City on Telegram"))

    assert [p.code for p in rendition.problems if p.severity == "error"] == ["image_type"]

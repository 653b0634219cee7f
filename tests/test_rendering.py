"""A draft renders to exactly what each channel receives, measured and checked."""

import shutil
from pathlib import Path

import pytest

from civicpost import PROJECT_ROOT
from civicpost.content import ChannelView, Draft, MediaRef
from civicpost.rendering import Renderer, TemplateConfigError

TEMPLATES = PROJECT_ROOT / "templates"
LINK = "https://city.example.gov/parade"
FAMILY = "\U0001F468\u200D\U0001F469\u200D\U0001F467"
LONG_BODY = " ".join(f"Crews will resurface block {i} of Main Street this week." for i in range(10))


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATES)


def draft(**changes) -> Draft:
    values = dict(title="Parade on Saturday", body="Main Street is closed from 9 to 5.",
                  department="Parks", link=LINK,
                  translations={"es": ("Desfile el sábado", "La calle Main está cerrada.")},
                  media=[MediaRef("m1", "Marching band on Main Street", size_bytes=300_000)])
    values.update(changes)
    return Draft(**values)


def channel(platform: str, **changes) -> ChannelView:
    return ChannelView(**{"id": 1, "platform": platform, "name": f"City {platform}", **changes})


def copy_templates(tmp_path: Path) -> Path:
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    return tmp_path / "templates"


def test_a_template_with_a_syntax_error_stops_the_start_naming_file_and_line(tmp_path: Path) -> None:
    root = copy_templates(tmp_path)
    (root / "posts" / "x.txt.j2").write_text("{{ title }}\n\n{{ body }\n")
    with pytest.raises(TemplateConfigError, match=r"x\.txt\.j2 line 3"):
        Renderer(root)


def test_a_template_naming_an_unknown_variable_stops_the_start_naming_file_and_line(tmp_path: Path) -> None:
    root = copy_templates(tmp_path)
    (root / "posts" / "mastodon.txt.j2").write_text("{{ title }}\n\n{{ bodyy }}\n")
    with pytest.raises(TemplateConfigError, match=r"mastodon\.txt\.j2 line 3: 'bodyy' is undefined"):
        Renderer(root)


def test_templates_cannot_reach_python_internals(tmp_path: Path) -> None:
    root = copy_templates(tmp_path)
    (root / "posts" / "x.txt.j2").write_text("{{ title.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateConfigError, match=r"x\.txt\.j2"):
        Renderer(root)


def test_html_is_escaped_and_plain_text_is_not(renderer: Renderer) -> None:
    hostile = draft(title="Fun <b>& games")
    assert "Fun <b>& games" in renderer.render(hostile, channel("x")).text
    html = renderer.render(hostile, channel("feed")).extra["html"]
    assert "Fun &lt;b&gt;&amp; games" in html and "<b>&" not in html
    email = renderer.render(hostile, channel("email"))
    assert "Fun <b>& games" in email.text and "&lt;b&gt;&amp;" in email.extra["html"]


def test_a_city_can_use_its_own_wording(tmp_path: Path) -> None:
    root = copy_templates(tmp_path)
    (root / "posts" / "x.txt.j2").write_text("From the City: {{ title }}\n\n{{ body }}")
    text = Renderer(root).render(draft(), channel("x")).text
    assert text == "From the City: Parade on Saturday\n\nMain Street is closed from 9 to 5."


def test_a_post_that_fits_reports_its_length_and_the_limit(renderer: Renderer) -> None:
    rendition = renderer.render(draft(), channel("x"))
    assert rendition.fits and rendition.parts is None and rendition.problems == []
    assert rendition.limit == 280
    assert rendition.length == len(rendition.text) - len(LINK) + 23


def test_too_long_is_refused_by_default_saying_how_much_to_cut(renderer: Renderer) -> None:
    rendition = renderer.render(draft(body=LONG_BODY), channel("x"))
    assert not rendition.fits and rendition.limit == 280
    problem = next(p for p in rendition.blocking if p.code == "too_long")
    assert f"{rendition.length} characters" in problem.message and "allows 280" in problem.message
    assert f"Cut {rendition.length - 280} characters" in problem.message


def test_a_thread_channel_gets_numbered_parts_that_all_fit(renderer: Renderer) -> None:
    rendition = renderer.render(draft(body=LONG_BODY), channel("x", settings={"overflow": "thread"}))
    assert rendition.fits and rendition.blocking == []
    assert rendition.length > 280  # the whole text, as written
    assert rendition.parts and len(rendition.parts) > 1
    assert rendition.text.startswith("Parade on Saturday") and rendition.text.endswith(LINK)
    count = len(rendition.parts)
    assert LINK in rendition.parts[0] and rendition.parts[-1].endswith(f" {count}/{count}")
    assert rendition.as_dict()["parts"] == rendition.parts


def test_bluesky_threads_by_graphemes_and_bytes(renderer: Renderer) -> None:
    thread = channel("bluesky", settings={"overflow": "thread"})
    rendition = renderer.render(draft(body=f"{FAMILY} " * 200), thread)
    assert rendition.fits and rendition.parts
    assert all(len(p.encode()) <= 3000 for p in rendition.parts)


def test_breaking_blueskys_byte_limit_is_its_own_problem(renderer: Renderer) -> None:
    rendition = renderer.render(draft(), channel("bluesky", override=FAMILY * 250))
    assert rendition.length == 250 and rendition.limit == 300 and not rendition.fits
    assert [p.code for p in rendition.blocking] == ["too_many_bytes"]


def test_a_channel_override_is_used_verbatim_and_measured_the_same_way(renderer: Renderer) -> None:
    short = renderer.render(draft(), channel("x", override="Parade Saturday! " + LINK))
    assert short.text == "Parade Saturday! " + LINK and short.length == 17 + 23 and short.fits
    long = renderer.render(draft(), channel("x", override="a" * 281))
    assert [p.code for p in long.blocking] == ["too_long"]


def test_a_channel_renders_in_its_own_language(renderer: Renderer) -> None:
    rendition = renderer.render(draft(), channel("mastodon", language="es"))
    assert rendition.language == "es" and rendition.text.startswith("Desfile el sábado")
    assert rendition.blocking == []


def test_a_missing_translation_blocks_naming_the_language(renderer: Renderer) -> None:
    rendition = renderer.render(draft(), channel("facebook", language="fr"))
    problem = next(p for p in rendition.blocking if p.code == "missing_translation")
    assert "'fr'" in problem.message


def test_mastodon_uses_the_instances_limit(renderer: Renderer) -> None:
    settings = {"max_characters": 1000}
    assert renderer.render(draft(body=LONG_BODY), channel("mastodon", settings=settings)).fits
    assert not renderer.render(draft(body=LONG_BODY), channel("mastodon")).fits


@pytest.mark.parametrize("platform", ["email", "webhook", "feed"])
def test_own_channels_have_no_limit(renderer: Renderer, platform: str) -> None:
    rendition = renderer.render(draft(body=LONG_BODY * 20), channel(platform))
    assert rendition.limit is None and rendition.fits


def test_an_image_without_alt_text_blocks_every_channel(renderer: Renderer) -> None:
    no_alt = draft(media=[MediaRef("m1", "")])
    for platform in ("x", "feed", "email"):
        assert "missing_alt_text" in [p.code for p in renderer.render(no_alt, channel(platform)).blocking]


def test_warnings_never_block(renderer: Renderer) -> None:
    rendition = renderer.render(draft(body="Join us 🎉 at the ROAD RACE today #parksandrec"), channel("x"))
    assert {p.code for p in rendition.problems} >= {"emoji_in_sentence", "all_caps", "hashtag_case"}
    assert rendition.blocking == [] and rendition.fits


def test_a_bluesky_image_over_1_mb_is_noted_not_refused(renderer: Renderer) -> None:
    big = draft(media=[MediaRef("m1", "Marching band", size_bytes=2_500_000)])
    rendition = renderer.render(big, channel("bluesky"))
    assert rendition.blocking == [] and "smaller JPEG" in rendition.extra["notes"][0]
    assert [p.code for p in renderer.render(big, channel("x")).blocking] == []
    five = draft(media=[MediaRef(f"m{i}", "Marching band") for i in range(5)])
    assert [p.code for p in renderer.render(five, channel("x")).blocking] == ["too_many_images"]


def test_render_all_gives_one_rendition_per_channel_in_the_shape_the_api_serves(renderer: Renderer) -> None:
    channels = [channel(p, id=i) for i, p in enumerate(["x", "mastodon", "bluesky", "facebook", "email"])]
    renditions = renderer.render_all(draft(), channels)
    assert [r.channel_id for r in renditions] == list(range(5))
    shape = renditions[0].as_dict()
    assert {"text", "parts", "length", "limit", "fits", "problems"} <= shape.keys()
    email = renditions[-1]
    assert email.extra["subject"] == "Parade on Saturday — Parks"

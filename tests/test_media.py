"""Uploads are decoded, stripped of metadata, stored by content and fitted to each platform."""

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from civicpost.content import MediaRef
from civicpost.media import MediaError, check_media, fit_image, store_upload
from civicpost.platforms import spec

MAX = 10 * 1024 * 1024


def jpeg_with_gps(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (40.0, 42.0, 51.0), 3: "W", 4: (74.0, 0.0, 21.0)})
    out = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 30, 30)).save(out, "JPEG", exif=exif.tobytes(), comment=b"Jane's phone")
    return out.getvalue()


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def test_a_phone_photos_gps_position_and_other_metadata_are_gone_after_upload(tmp_path: Path) -> None:
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    stored = store_upload(original, media_dir=tmp_path, max_bytes=MAX)
    data = (tmp_path / stored.id).read_bytes()
    image = Image.open(io.BytesIO(data))
    assert not image.getexif() and "exif" not in image.info
    assert b"Exif" not in data and b"PhoneMaker" not in data and b"Jane's phone" not in data
    assert stored.mime_type == "image/jpeg" and (stored.width, stored.height) == (60, 40)


def test_a_sideways_phone_photo_is_turned_upright_before_its_tag_is_dropped(tmp_path: Path) -> None:
    stored = store_upload(jpeg_with_gps(orientation=6), media_dir=tmp_path, max_bytes=MAX)
    image = Image.open(tmp_path / stored.id)
    assert image.size == (40, 60) == (stored.width, stored.height)
    assert b"Jane's phone" not in (tmp_path / stored.id).read_bytes()


def test_a_multi_picture_phone_jpeg_is_stored_as_its_first_picture_without_gps(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (40.0, 42.0, 51.0)})
    pictures = [Image.new("RGB", (60, 40), "red"), Image.new("RGB", (30, 20), "blue")]
    data = encoded(pictures[0], "MPO", save_all=True, append_images=pictures[1:], exif=exif.tobytes())
    assert Image.open(io.BytesIO(data)).format == "MPO"
    stored = store_upload(data, media_dir=tmp_path, max_bytes=MAX)
    image = Image.open(tmp_path / stored.id)
    assert image.format == "JPEG" and stored.mime_type == "image/jpeg" and image.size == (60, 40)
    assert not image.getexif()


def test_png_text_chunks_are_stripped_and_transparency_kept(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Staffer, 12 Elm St")
    data = encoded(Image.new("RGBA", (20, 20), (0, 0, 255, 0)), "PNG", pnginfo=info)
    stored = store_upload(data, media_dir=tmp_path, max_bytes=MAX)
    image = Image.open(tmp_path / stored.id)
    assert b"Jane Staffer" not in (tmp_path / stored.id).read_bytes()
    assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0


def test_files_are_stored_by_the_sha256_of_their_stored_bytes_once(tmp_path: Path) -> None:
    data = encoded(Image.new("RGB", (10, 10), "green"), "PNG")
    first = store_upload(data, media_dir=tmp_path, max_bytes=MAX)
    again = store_upload(data, media_dir=tmp_path, max_bytes=MAX)
    stored = (tmp_path / first.id).read_bytes()
    assert first == again
    assert first.id == hashlib.sha256(stored).hexdigest() and first.size_bytes == len(stored)
    assert [p.name for p in tmp_path.iterdir()] == [first.id]


def test_the_type_is_decided_by_decoding_not_by_what_the_file_claims(tmp_path: Path) -> None:
    webp = encoded(Image.new("RGB", (10, 10), "blue"), "WEBP")
    assert store_upload(webp, media_dir=tmp_path, max_bytes=MAX).mime_type == "image/webp"
    with pytest.raises(MediaError) as refused:
        store_upload(b"GIF89a but really a text file", media_dir=tmp_path, max_bytes=MAX)
    assert refused.value.status == 415


def test_an_image_in_another_format_is_refused_naming_the_format(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as refused:
        store_upload(encoded(Image.new("RGB", (10, 10)), "BMP"), media_dir=tmp_path, max_bytes=MAX)
    assert refused.value.status == 415 and "BMP" in refused.value.message


def test_a_file_over_the_upload_limit_is_refused_with_413(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as refused:
        store_upload(os.urandom(2048), media_dir=tmp_path, max_bytes=1024)
    assert refused.value.status == 413 and "at most" in refused.value.message
    assert not any(tmp_path.iterdir())


def test_a_truncated_image_is_refused_as_damaged(tmp_path: Path) -> None:
    data = encoded(Image.effect_noise((200, 200), 50).convert("RGB"), "JPEG")
    with pytest.raises(MediaError) as refused:
        store_upload(data[: len(data) // 2], media_dir=tmp_path, max_bytes=MAX)
    assert refused.value.status == 422 and "damaged" in refused.value.message


def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\0" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [8_000, 15_000, 50_000])
def test_a_decompression_bomb_is_refused_before_decoding(tmp_path: Path, side: int) -> None:
    with pytest.raises(MediaError) as refused:
        store_upload(png_claiming(side, side), media_dir=tmp_path, max_bytes=MAX)
    assert refused.value.status == 422 and "million pixels" in refused.value.message


def test_an_animated_gif_stays_animated_with_its_frame_timing(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (30, 20), (i * 60, 255 - i * 60, 0)) for i in range(4)]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=[100, 200, 300, 400],
                   loop=0, comment=b"made by Jane")
    stored = store_upload(data, media_dir=tmp_path, max_bytes=MAX)
    image = Image.open(tmp_path / stored.id)
    durations = []
    for index in range(image.n_frames):
        image.seek(index)
        durations.append(image.info["duration"])
    assert durations == [100, 200, 300, 400]
    assert b"made by Jane" not in (tmp_path / stored.id).read_bytes()


def test_a_big_noisy_png_is_reencoded_under_blueskys_limit(tmp_path: Path) -> None:
    noise = Image.frombytes("RGB", (1600, 1200), os.urandom(1600 * 1200 * 3))
    path = tmp_path / "noise"
    path.write_bytes(encoded(noise, "PNG"))
    assert path.stat().st_size > 5_000_000
    fitted = fit_image(path, 1_000_000)
    assert len(fitted) <= 1_000_000
    assert Image.open(io.BytesIO(fitted)).format == "JPEG"


def test_an_image_already_small_enough_is_sent_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "small"
    path.write_bytes(encoded(Image.new("RGB", (10, 10)), "PNG"))
    assert fit_image(path, 1_000_000) == path.read_bytes()


def test_more_images_than_a_platform_takes_is_an_error() -> None:
    four = [MediaRef(str(i), "alt") for i in range(4)]
    assert check_media(spec("x").media, spec("x").label, four) == ([], [])
    problems, _ = check_media(spec("x").media, spec("x").label, [*four, MediaRef("5", "alt")])
    assert [(p.code, p.severity) for p in problems] == [("too_many_images", "error")]
    assert "Remove 1 image" in (problems[0].suggestion or "")
    assert check_media(spec("facebook").media, spec("facebook").label, [MediaRef(str(i), "alt") for i in range(10)]) == ([], [])


def test_an_image_over_xs_size_limit_is_an_error_but_bluesky_gets_a_note() -> None:
    big = [MediaRef("a", "alt", size_bytes=6_000_000)]
    problems, notes = check_media(spec("x").media, spec("x").label, big)
    assert [p.code for p in problems] == ["image_too_large"] and not notes
    problems, notes = check_media(spec("bluesky").media, spec("bluesky").label, [MediaRef("a", "alt", size_bytes=2_500_000)])
    assert problems == [] and "smaller JPEG" in notes[0]
    assert check_media(spec("mastodon").media, spec("mastodon").label, big) == ([], [])

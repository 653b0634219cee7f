"""Uploaded images: checked by decoding, stripped of metadata, stored by content.

Staff upload photos straight from their phones, and phone photos carry the
GPS position where they were taken. Every upload is decoded and re-encoded
from its pixels, so nothing but the picture (and its colour profile and
animation timing) reaches the platforms.

On disk the cleaned bytes live once, at media_dir/<sha256 of the bytes>. An
image belongs to a department: its id is derived from the department and the
content (so the same picture in two departments is two ids, and one
department's id says nothing about another's), and media_dir/<id> is a hard
link to the content file, the name publishing and /media/{id} read.
"""

import hashlib
import io
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from civicpost.content import MediaRef, Problem

# Phones save some photos as MPO (a JPEG with extra pictures, e.g. depth maps): its first picture is the photo.
FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "GIF": "image/gif",
           "WEBP": "image/webp"}
# Phone cameras save up to about 50 megapixels by default; beyond that a
# small file can expand to gigabytes of memory. Pillow's own bomb check
# (89 MP warns, twice that refuses) stays on as well.
MAX_PIXELS = 50_000_000
# Pillow holds RGB, RGBA and CMYK pictures at 4 bytes a pixel (RGB is padded),
# so one decode at the limit takes 200 MB, and re-encoding (a turned copy of
# a sideways photo, the output buffer) up to as much again. uploads.py
# bounds how many run at once (CIVICPOST_MAX_CONCURRENT_DECODES).
BYTES_PER_PIXEL = 4
PEAK_BYTES_PER_DECODE = 2 * BYTES_PER_PIXEL * MAX_PIXELS
# Animated GIFs stay animated up to this many pixels over all frames;
# larger ones keep their first frame so decoding stays bounded.
MAX_ANIMATION_PIXELS = 100_000_000
# What survives re-encoding: how to show the image, nothing about who made it or where.
KEPT_INFO = ("transparency", "duration", "loop", "background", "disposal", "icc_profile")


class MediaError(ValueError):
    """An upload refused; `status` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class StoredMedia:
    id: str
    mime_type: str
    width: int
    height: int
    size_bytes: int


@dataclass(frozen=True)
class CleanImage:
    """An upload decoded and re-encoded from its pixels alone; nothing stored yet."""

    data: bytes
    mime_type: str
    width: int
    height: int

    @property
    def content_id(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class MediaLimits:
    """What images one platform takes (a platform's spec carries one)."""

    max_count: int | None
    max_image_bytes: int | None
    max_alt_chars: int | None
    # Re-encode an oversized image at publish time instead of refusing it.
    shrink_to_fit: bool = False
    # How the platform counts alt text (Bluesky: graphemes; others: characters, never fewer).
    count_alt: Callable[[str], int] = len
    # A post without an image cannot go out at all (Instagram).
    required: bool = False
    # The image types the platform takes; None: all that civicpost accepts.
    mime_types: frozenset[str] | None = None


NO_MEDIA_LIMITS = MediaLimits(None, None, None)


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def store_upload(data: bytes, *, media_dir: Path, max_bytes: int) -> StoredMedia:
    """Validate an upload, strip its metadata and store it at media_dir/<sha256 of stored bytes>."""
    return keep(clean(data, max_bytes=max_bytes), media_dir=media_dir)


def clean(data: bytes, *, max_bytes: int) -> CleanImage:
    """Decode an upload and re-encode it from its pixels: the slow, memory-hungry
    part, which touches neither the disk nor the database. Raises MediaError."""
    if len(data) > max_bytes:
        raise MediaError(413, f"The file is {megabytes(len(data))}; uploads may be at most "
                              f"{megabytes(max_bytes)}. Save a smaller copy and try again.")
    image = _decode(data)
    mime_type = FORMATS[image.format or ""]
    try:
        cleaned, (width, height) = reencode(image)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _damaged(exc) from None  # A later animation frame can be broken too.
    finally:
        image.close()
    return CleanImage(cleaned, mime_type, width, height)


def keep(image: CleanImage, *, media_dir: Path) -> StoredMedia:
    """Write the cleaned bytes once, named by their content."""
    content_id = image.content_id
    _write_once(Path(media_dir), content_id, image.data)
    return StoredMedia(content_id, image.mime_type, image.width, image.height, len(image.data))


def department_media_id(department_id: int, content_id: str) -> str:
    return hashlib.sha256(f"civicpost-media\0{department_id}\0{content_id}".encode()).hexdigest()


def for_department(stored: StoredMedia, *, department_id: int, media_dir: Path) -> StoredMedia:
    """The department's own id for a stored picture, with media_dir/<id> naming
    the same bytes as the content file (a hard link; a copy where links fail)."""
    media_id = department_media_id(department_id, stored.id)
    target = Path(media_dir) / media_id
    if not target.exists():
        try:
            os.link(Path(media_dir) / stored.id, target)
        except FileExistsError:
            pass  # The same picture for the same department, uploaded twice at once.
        except OSError:
            _write_once(Path(media_dir), media_id, (Path(media_dir) / stored.id).read_bytes())
    return StoredMedia(media_id, stored.mime_type, stored.width, stored.height, stored.size_bytes)


def _decode(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise MediaError(415, f"{image.format} files are not accepted; upload a JPEG, "
                                      "PNG, GIF or WebP image.")
            if image.width * image.height > MAX_PIXELS:
                raise _bomb()
            image.load()
    except MediaError:
        raise
    except UnidentifiedImageError:
        raise MediaError(415, "This file is not an image we accept; upload a JPEG, PNG, GIF "
                              "or WebP image.") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb() from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _damaged(exc) from None
    return image


def _damaged(exc: BaseException) -> MediaError:
    return MediaError(422, f"The image could not be read; it may be damaged or incomplete "
                           f"({exc}). Export it again and retry.")


def _bomb() -> MediaError:
    return MediaError(422, f"The image has more than {MAX_PIXELS // 1_000_000} million pixels; "
                           "resize it before uploading.")


def reencode(image: Image.Image) -> tuple[bytes, tuple[int, int]]:
    """Bytes from the pixels alone, and the size the picture is shown at."""
    kept: dict[str | tuple[int, int], Any] = {k: image.info[k] for k in KEPT_INFO if k in image.info}
    out = io.BytesIO()
    fmt = image.format or "PNG"
    options: dict[Any, Any]
    if fmt in ("JPEG", "MPO"):
        if fmt == "MPO" or image.getexif().get(0x0112, 1) != 1:
            # Dropping EXIF drops the orientation tag: turn the pixels instead.
            image, options = ImageOps.exif_transpose(image), {"quality": 90}
        else:
            # Same quantisation tables: re-encoding loses next to nothing.
            options = {"quality": "keep", "subsampling": "keep"}
        image.info = kept
        image.save(out, "JPEG", icc_profile=kept.get("icc_profile"), **options)
        return out.getvalue(), image.size
    frames = getattr(image, "n_frames", 1)
    animated = frames > 1 and frames * image.width * image.height <= MAX_ANIMATION_PIXELS
    image.info = kept
    options = {k: v for k, v in kept.items() if k != "duration"}
    if fmt == "WEBP":
        options["quality"] = 90
    image.save(out, fmt, save_all=animated, **options)
    return out.getvalue(), image.size


def _write_once(media_dir: Path, media_id: str, data: bytes) -> None:
    media_dir.mkdir(parents=True, exist_ok=True)
    target = media_dir / media_id
    if target.exists():
        return  # Same bytes, same name: the upload is already stored.
    fd, tmp = tempfile.mkstemp(dir=media_dir, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fit_image(path: Path, max_bytes: int) -> bytes:
    """The image's bytes, re-encoded as a smaller JPEG when it is over `max_bytes`.

    Used at publish time for platforms that take small images (Bluesky, 1 MB):
    first the long side is capped at 2000 px (what Bluesky shows anyway), then
    JPEG quality steps down, then the size shrinks, until it fits.
    """
    data = Path(path).read_bytes()
    if len(data) <= max_bytes:
        return data
    opened = Image.open(io.BytesIO(data))
    opened.seek(0)
    image = ImageOps.exif_transpose(opened).convert("RGBA")
    flat = Image.new("RGB", image.size, "white")
    flat.paste(image, mask=image.getchannel("A"))
    flat.thumbnail((2000, 2000))
    while min(flat.size) >= 64:
        for quality in (85, 75, 65, 50):
            out = io.BytesIO()
            flat.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= max_bytes:
                return out.getvalue()
        flat = flat.resize((int(flat.width * 0.7), int(flat.height * 0.7)), Image.Resampling.LANCZOS)
    raise MediaError(422, f"The image cannot be made smaller than {megabytes(max_bytes)}.")


def check_media(limits: MediaLimits, name: str, media: list[MediaRef]) -> tuple[list[Problem], list[str]]:
    """Count and size problems of a post's images on one platform, and notes on what will change.

    Alt text is checked with the accessibility lint (civicpost.text.lint).
    """
    problems: list[Problem] = []
    notes: list[str] = []
    if limits.required and not media:
        problems.append(Problem(
            "image_required", "error", f"{name} posts need an image; this announcement has none.",
            "Add an image with alt text, or remove this channel."))
    if limits.mime_types is not None:
        for number, ref in enumerate(media, start=1):
            if ref.mime_type not in limits.mime_types:
                kinds = " or ".join(sorted(t.split("/")[1].upper() for t in limits.mime_types))
                problems.append(Problem(
                    "image_type", "error", f"{name} takes {kinds} images; image {number} is {ref.mime_type}.",
                    f"Upload image {number} again saved as {kinds}."))
    if limits.max_count is not None and len(media) > limits.max_count:
        extra = len(media) - limits.max_count
        problems.append(Problem(
            "too_many_images", "error",
            f"{name} takes at most {limits.max_count} images in a post; this one has {len(media)}.",
            f"Remove {extra} image{'s' if extra > 1 else ''} for this channel."))
    for number, ref in enumerate(media, start=1):
        if limits.max_image_bytes is None or ref.size_bytes <= limits.max_image_bytes:
            continue
        size, limit = megabytes(ref.size_bytes), megabytes(limits.max_image_bytes)
        if limits.shrink_to_fit:
            notes.append(f"Image {number} ({size}) will be sent to {name} as a smaller JPEG "
                         f"to fit its {limit} limit.")
        else:
            problems.append(Problem(
                "image_too_large", "error",
                f"Image {number} is {size}; {name} takes images of at most {limit}.",
                "Upload a smaller copy (for example 2000 pixels on the long side)."))
    return problems, notes

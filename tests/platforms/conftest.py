"""Fixtures for the platform adapters: an image, and real local servers for
the two platforms that are plain protocols (SMTP, a signed webhook; servers.py)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from civicpost.platforms import MediaItem

from .servers import ImageHost, Receiver, SmtpServer, running_image_host, running_receiver, running_smtp_server


@pytest.fixture
def image(tmp_path: Path) -> MediaItem:
    # Stored as civicpost stores uploads: named by content hash, no extension.
    path = tmp_path / ("ab" * 32)
    Image.new("RGB", (40, 30), "blue").save(path, "PNG")
    return MediaItem(path=path, mime_type="image/png", alt_text="An empty outdoor pool under a blue sky")


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def image_host() -> Iterator[ImageHost]:
    with running_image_host() as host:
        yield host

"""Fixtures for the platform adapters: sample posts, and real local servers for
the two platforms that are plain protocols (SMTP, a signed webhook; servers.py)."""

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from civicpost.platforms import MediaItem, Outgoing

from .servers import ImageHost, Receiver, SmtpServer, running_image_host, running_receiver, running_smtp_server

KEY = "6f1c2e7a-3b4d-4e5f-9a0b-1c2d3e4f5a6b"
CREATED = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)


def make_outgoing(**changes: Any) -> Outgoing:
    values: dict[str, Any] = {
        "key": KEY,
        "text": "Pools open Saturday at 10am. Details: https://city.example/pools #SummerInTheCity",
        "title": "Pools open",
        "created_at": CREATED,
    }
    values.update(changes)
    return Outgoing(**values)


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

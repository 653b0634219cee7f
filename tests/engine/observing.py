"""What an engine test watches while the worker runs in the background, and the
webhook channel most of them publish to."""

import time
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi.testclient import TestClient

from tests.factories import City, create_channel

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 15, interval: float = 0.05) -> T:
    """The first truthy value of `predicate`, polled until `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate.__doc__ or predicate}")


def state_of(client: TestClient, city: City, announcement_id: int) -> dict[str, Any]:
    """The announcement as the approver sees it in the API, deliveries included."""
    return client.get(f"/api/v1/announcements/{announcement_id}", headers=city.approver.auth).json()


def hook_channel(client: TestClient, city: City, receiver: Any, name: str = "Partner hook") -> int:
    """A Parks webhook channel that publishes to `receiver` (a local webhook receiver)."""
    return create_channel(client, city.admin, "webhook", name=name, credentials={"secret": receiver.secret},
                          settings={"url": receiver.url})

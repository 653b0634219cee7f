"""The subscribers channel makes no platform call: the fan-out sends its mail (tests/test_fanout.py
runs it against a real SMTP server), so every contract case is skipped with that reason."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from civicpost.platforms import Outgoing

from ._base import Post, Recorded, no_such_answer


class RecordedSubscribers(Recorded):
    platform = "subscribers"

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {}, {"topics": ["parks"], "mode": "immediate"}

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        no_such_answer("the fan-out sends a subscribers channel's mail, one message per resident "
                       "(tests/test_fanout.py)")
        yield None

    def posts(self) -> list[Post]:
        return []

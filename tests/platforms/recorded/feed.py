"""The city's own site and feeds: nothing goes over a network, so there is
nothing to answer, and the only answers are that it works."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from civicpost.platforms import Outgoing

from ._base import Post, Recorded, no_such_answer

SENDS_NOTHING = "the city's own site sends no request"
CANNOT_FAIL = "the city's own site has no credentials and cannot refuse or fail"


class RecordedFeed(Recorded):
    platform = "feed"

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {}, {"url": "https://city.example/announcements"}

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        reasons = {
            "timeouts": SENDS_NOTHING,
            "late": SENDS_NOTHING,
            "bad_credentials": CANNOT_FAIL,
            "rate_limited": CANNOT_FAIL,
            "server_error": CANNOT_FAIL,
            "rejected": CANNOT_FAIL,
            # The site lists what the database says was published; find is only asked about those.
            "find_missing": "the city's own site holds every post the database says it published",
        }
        if case in reasons:
            no_such_answer(reasons[case])
        if case not in ("publish", "delete", "find", "check"):
            raise self.unknown(case)
        yield None

    def posts(self) -> list[Post]:
        no_such_answer("the city's own site shows what the database says, which the engine's tests cover")

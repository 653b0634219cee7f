"""What every recorded platform provides, and the mocks they answer through.

A recorded platform registers, for one case of the contract at a time, the
answers the real platform gives (trimmed bodies, as recorded), and nothing
else: every answer registered must be asked for, or the case fails.
"""

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests
import responses
import respx

from civicpost.platforms import Adapter, MediaItem, Outgoing, build_adapter, checked_fields

TIMEOUT = 7.5  # the channel's timeout in every case; odd, so no library default passes for it
# The late case: the channel waits SHORT_TIMEOUT, the platform answers after LATE_S.
SHORT_TIMEOUT = 0.3
LATE_S = 1.5

# The cases of the contract (tests/platforms/test_contract.py); `answers` takes one of them.
CASES = (
    "publish",  # one post, accepted
    "thread",  # outgoing.parts, each accepted (only where the spec's capabilities.thread)
    "delete",  # a publish, then its delete (or nothing more where the platform cannot delete)
    "find",  # a publish, then the look-up that finds it (capabilities.find)
    "find_missing",  # a publish, then the look-up for another post, which is not there
    "check",  # the credentials check
    "timeouts",  # a publish; the test reads timeouts()
    "late",  # an answer slower than the channel's timeout (real servers only)
    "bad_credentials",  # the platform refuses the credentials
    "rate_limited",  # 429 (or the platform's own throttling answer); yields the wait announced, in seconds
    "server_error",  # a 5xx
    "rejected",  # the platform refuses the post for good
)


def no_such_answer(reason: str) -> NoReturn:
    """The platform has no such answer (SMTP has no rate limit with a reset
    time; the city's own site cannot fail): the case is skipped with the reason."""
    pytest.skip(reason)


@dataclass(frozen=True)
class Post:
    """A post as the platform holds it: its id as the adapter's receipt names it."""

    id: str
    text: str
    reply_to: str | None = None


@dataclass(frozen=True)
class Sent:
    """One request a mock answered, whichever HTTP library sent it."""

    method: str
    url: str
    body: bytes
    status: int | None
    answer: Any  # the JSON answered, or None
    timeouts: tuple[float, ...]

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(urlsplit(self.url).query).items()}

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(self.body.decode()).items()}


class Recorded:
    """Base of each tests/platforms/recorded/<platform>.py class (see README.md)."""

    platform: ClassVar[str]
    # pytest fixtures the class is built with, by name (the real local servers).
    fixtures: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **fixtures: Any) -> None:
        self.calls: list[Sent] = []
        self.timeout = TIMEOUT
        self.media: list[MediaItem] = []  # the harness gives an image where the platform's posts need one

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(credentials, settings) of the channel, as a city would store them."""
        raise NotImplementedError

    def adapter(self, *, timeout: float = TIMEOUT) -> Adapter:
        self.timeout = timeout
        credentials, settings = checked_fields(self.platform, *self.channel())  # as a city's channel is stored
        return build_adapter(self.platform, credentials, settings, timeout=timeout, allow_private_network=True)

    @classmethod
    def announced_wait(cls, reset_s: float) -> float:
        """The wait the platform's throttled answer announces for a limit that
        lifts after `reset_s`; one whose answer names no wait (LinkedIn's daily
        limits) answers what its documented rule implies."""
        return reset_s

    def answers(self, case: str, outgoing: Outgoing) -> AbstractContextManager[float | None]:
        """Registers the answers of `case` for `outgoing`; on leaving, every one
        must have been asked for. Calls no_such_answer where the platform has none."""
        raise NotImplementedError

    def posts(self) -> list[Post]:
        """What the platform received and still holds after the last case, oldest first."""
        raise NotImplementedError

    def timeouts(self) -> list[float]:
        """The timeout every request of the last case carried."""
        return [timeout for sent in self.calls for timeout in sent.timeouts]

    def unknown(self, case: str) -> LookupError:
        # Not no_such_answer: a case the contract asks for must be answered or refused with a reason.
        return LookupError(f"the recorded {self.platform} has no answers for the case {case!r}")

    # --- the two HTTP mocks ----------------------------------------------------------

    @contextmanager
    def requests_answers(self) -> Iterator[responses.RequestsMock]:
        """A mock of `requests` (tweepy, Mastodon.py) that fails when an answer is not asked for."""
        with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
            try:
                yield mock
            finally:
                self.calls = [_from_requests(call) for call in mock.calls]
        self._check_timeouts()

    @contextmanager
    def httpx_answers(self) -> Iterator[respx.MockRouter]:
        """A mock of `httpx` (atproto, the Graph client) that fails when a route is not called."""
        with respx.mock(assert_all_called=True) as router:
            try:
                yield router
            finally:
                self.calls = [_from_httpx(call.request, call.optional_response) for call in router.calls]
        self._check_timeouts()

    def _check_timeouts(self) -> None:
        wrong = sorted({t for t in self.timeouts() if t != self.timeout})
        assert not wrong, f"requests went out with timeouts {wrong}, not the channel's {self.timeout}"


def _from_requests(call: responses.Call) -> Sent:
    request: Any = call.request  # responses adds req_kwargs, the arguments requests was called with
    response: Any = call.response
    body = request.body or b""
    ok = isinstance(response, requests.Response)
    return Sent(
        method=request.method or "",
        url=request.url or "",
        body=body.encode() if isinstance(body, str) else body,
        status=response.status_code if ok else None,
        answer=_json(response.content) if ok else None,
        timeouts=(request.req_kwargs.get("timeout"),),
    )


def _from_httpx(request: httpx.Request, response: httpx.Response | None) -> Sent:
    return Sent(
        method=request.method,
        url=str(request.url),
        body=request.content,
        status=response.status_code if response is not None else None,
        answer=_json(response.read()) if response is not None else None,
        timeouts=tuple(request.extensions.get("timeout", {}).values()),
    )


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None

"""One small client for Meta's Graph APIs, shared by Facebook, Instagram and Threads.

All three answer errors with Graph's error object and rate-limit with the same
usage headers. Instagram and Threads also publish the same way: make a container (Meta fetches the image from the
signed address civicpost gives it), see that the container is ready, then
publish it. The token travels
only in the Authorization header, never in a URL (where proxies log it).

Adapters do not sleep, and Meta may need a while to prepare a container. So
a container that is not ready yet raises TransientError with `retry_after`,
and the adapter remembers the container for that delivery (`Containers`):
the worker comes back later and publishes the same container instead of
making Meta fetch the image again. A container forgotten (another worker, a
restart) is only made again; one never published expires after 24 hours.
"""

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from civicpost.platforms._support import MALFORMED, answered, short, unexpected_answer, unreachable
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import (
    CredentialsError,
    MaybePosted,
    PermanentError,
    PlatformError,
    RateLimited,
    TransientError,
)

# Graph error codes (developers.facebook.com/docs/graph-api/guides/error-handling,
# and the Instagram Platform's error code table).
RATE_LIMIT_CODES = {4, 17, 32, 613} | set(range(80001, 80015))
CREDENTIAL_CODES = {102, 190}
# A missing permission (instagram_content_publish, threads_delete ...): the channel needs fixing.
PERMISSION_CODES = {10} | set(range(200, 300))
TRANSIENT_CODES = {-2, -1, 1, 2}
# Graph's "invalid parameter": a post or media that is gone, or a path this address does not serve.
INVALID = 100
NOT_READY = 9007  # "Media ID is not available": the container is still being prepared
NOT_FOUND_YET = 4279009  # subcode (Threads): publishing a container too soon finds no media yet
PUBLISHING_LIMIT = 2207042  # subcode: the account's posts for 24 hours are used up
RESTRICTED = 2207051  # subcode of code 4: Meta took the post for spam, which is not a rate limit
DOWNLOAD_FAILED = {2207052}  # subcode (code 9004): Meta could not fetch the image
DOWNLOAD_SLOW = 2207003  # subcode: fetching the image took too long; try again
GONE_SUBCODE = 33  # the object does not exist (already deleted)
DUPLICATE_POST = 506  # the same text went out lately, perhaps by an attempt that timed out

# How long to let Meta prepare a container before asking again (Meta suggests
# about 30 seconds before publishing).
CONTAINER_WAIT = 30.0
# When a rate limit answer says nothing about when it lifts.
RATE_LIMIT_WAIT = 300.0
# The publishing limit is a rolling 24 hours: look again in an hour.
PUBLISHING_LIMIT_WAIT = 3600.0


class GraphError(Exception):
    """An answer that is not what was asked: Graph's error object, or (`unreadable`) no JSON at all."""

    def __init__(self, platform: str, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = response.headers
        try:
            body = response.json()
        except ValueError:
            body = None
        self.unreadable = not isinstance(body, dict)
        error = body.get("error") if isinstance(body, dict) else None
        self.error: dict[str, Any] = error if isinstance(error, dict) else {}
        # Meta's own words, shortened: the user-facing title and message say
        # more than `message` ("Media download has failed."); never the body.
        words = " ".join(str(self.error[k]) for k in ("message", "error_user_msg") if self.error.get(k))
        message = answered(platform, self.status, response.reason_phrase, words)
        code = self.error.get("code")
        super().__init__(f"{message} (code {short(code, 12)})" if code is not None else message)

    @property
    def code(self) -> Any:
        return self.error.get("code")

    @property
    def subcode(self) -> Any:
        return self.error.get("error_subcode")


class MetaGraph:
    """Calls to one Graph API (`base_url` ends with its version) as one account."""

    def __init__(self, platform: str, *, base_url: str, token: str, timeout: float,
                 guard: AddressGuard | None) -> None:
        self.platform = platform
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}"},
            event_hooks=guard.httpx_hooks() if guard else None,
        )

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._http.request(method, path, **kwargs)
        if response.is_error:
            raise GraphError(self.platform, response)
        try:
            body = response.json()
        except ValueError:
            raise GraphError(self.platform, response) from None
        # Graph sometimes answers 200 with an error object.
        if not isinstance(body, dict) or "error" in body:
            raise GraphError(self.platform, response)
        return body

    @contextmanager
    def errors(self, *, writing: bool) -> Iterator[None]:
        """Turn what goes wrong inside into seam.py's errors. `writing`: a post
        may have been made (only publishing a container is such a call)."""
        try:
            yield
        except GraphError as exc:
            if exc.unreadable and exc.status < 500:
                # Not Graph's JSON: the channel points somewhere else. A write answered 2xx may have landed.
                said = f"{exc}, not with the Graph API's JSON: check the channel's api_base"
                raise (MaybePosted if writing and exc.status < 300 else PermanentError)(said) from exc
            raise self.map(exc) from exc
        except MALFORMED as exc:
            raise unexpected_answer(self.platform, writing=writing) from exc
        except httpx.HTTPError as exc:
            raise unreachable(self.platform, exc, writing=writing) from exc

    def map(self, exc: GraphError) -> PlatformError:
        code, subcode, message = exc.code, exc.subcode, str(exc)
        if subcode in DOWNLOAD_FAILED:
            return PermanentError(
                f"{self.platform} could not fetch the image from civicpost ({message}): the address in "
                "CIVICPOST_BASE_URL must be reachable from the internet at /media/signed/")
        if subcode == PUBLISHING_LIMIT:
            return RateLimited(f"{message}: the account's posts for 24 hours are used up",
                               retry_after=PUBLISHING_LIMIT_WAIT)
        if code in CREDENTIAL_CODES or code in PERMISSION_CODES or exc.status == 401:
            return CredentialsError(message)
        if (code in RATE_LIMIT_CODES and subcode != RESTRICTED) or exc.status == 429:
            return RateLimited(message, retry_after=regain_access(exc.headers) or RATE_LIMIT_WAIT)
        if code == DUPLICATE_POST:
            return MaybePosted(message)
        if code == NOT_READY or subcode == NOT_FOUND_YET:
            return TransientError(f"{message}: {self.platform} is still preparing the post",
                                  retry_after=CONTAINER_WAIT)
        transient = exc.error.get("is_transient") or code in TRANSIENT_CODES or subcode == DOWNLOAD_SLOW
        if transient or exc.status >= 500:
            return TransientError(message)
        return PermanentError(message)

    def publish_container(self, containers: "Containers", key: str, *, create: Callable[[], str],
                          state: Callable[[str], tuple[object, object]], publish: str) -> str:
        """Make the container for `key` (or take the one an earlier attempt
        made), see that it is ready, publish it; answers the published id."""
        container = containers.get(key)
        try:
            if container is None:
                # A container is not a post: a timeout here posted nothing.
                with self.errors(writing=False):
                    container = str(create())
                containers.put(key, container)
            with self.errors(writing=False):
                current, detail = state(container)
            if current in ("ERROR", "EXPIRED"):
                containers.forget(key)
            check_ready(self.platform, current, detail)
            with self.errors(writing=True):
                published = str(self.call("POST", publish, data={"creation_id": container})["id"])
        except PermanentError:
            containers.forget(key)
            raise
        containers.forget(key)
        return published

    def check_account(self, *, me: str, account: str, limit: str, setting: str) -> dict[str, Any]:
        """The account the token speaks for (read at `me`), and how much of its
        daily publishing limit is used (read at `limit`)."""
        with self.errors(writing=False):
            found = self.call("GET", me, params={"fields": "id,username"})
            if str(found.get("id")) != account:
                raise CredentialsError(f"the token speaks for {self.platform} account {found.get('id')}, not {account}")
            usage = self.call("GET", limit, params={"fields": "quota_usage,config"}).get("data") or [{}]
        facts: dict[str, Any] = {setting: account}
        if found.get("username"):
            facts |= {"account": f"@{found['username']}", "username": found["username"]}
        if "quota_usage" in usage[0]:
            facts["posts_in_24_hours"] = usage[0]["quota_usage"]
        if isinstance(usage[0].get("config"), dict) and "quota_total" in usage[0]["config"]:
            facts["daily_limit"] = usage[0]["config"]["quota_total"]
        return facts

    def access_ends(self, token: str) -> datetime | None:
        """When the token stops working, from Meta's token debugger: the earlier of its own
        expiry and its data access expiry (after which Meta asks the person who granted it
        again); 0 means never. The only call whose URL names a token (`input_token`, as the
        debugger takes nothing else): it goes only to the channel's Graph address, over TLS
        there, and civicpost never logs request addresses."""
        with self.errors(writing=False):
            try:
                data = self.call("GET", "/debug_token", params={"input_token": token}).get("data") or {}
            except GraphError as exc:
                if exc.status == 404 or exc.code == INVALID:
                    return None  # an address without the debugger (graph.instagram.com): it does not say
                raise
        if data.get("is_valid") is False:
            raise CredentialsError(f"{self.platform} says the token is no longer valid: connect the channel again")
        ends = [int(data[k]) for k in ("expires_at", "data_access_expires_at")
                if isinstance(data.get(k), int) and data[k] > 0]
        return datetime.fromtimestamp(min(ends), UTC) if ends else None

    def permalink(self, media_id: str) -> str | None:
        """A published post's address; the post is out already, so a failure here only leaves it unknown."""
        try:
            return self.call("GET", f"/{media_id}", params={"fields": "permalink"}).get("permalink")
        except (GraphError, httpx.HTTPError, PlatformError, *MALFORMED):
            return None

    def gone(self, exc: PlatformError) -> bool:
        """Whether a refused delete means the object is not there (deleted already)."""
        cause = exc.__cause__
        return isinstance(cause, GraphError) and cause.subcode == GONE_SUBCODE


def regain_access(headers: httpx.Headers) -> float | None:
    """Seconds until Meta lets the app call again, from its usage headers (they count in minutes)."""
    minutes: list[float] = []
    for name in ("x-business-use-case-usage", "x-page-usage", "x-app-usage"):
        try:
            usage = json.loads(headers.get(name, "{}"))
        except ValueError:
            continue
        if not isinstance(usage, dict):
            continue
        entries = [e for v in usage.values() if isinstance(v, list) for e in v if isinstance(e, dict)]
        minutes += [float(e["estimated_time_to_regain_access"]) for e in entries
                    if isinstance(e.get("estimated_time_to_regain_access"), int | float)]
    wait = max(minutes, default=0) * 60
    return wait or None


def filled(form: dict[str, Any]) -> dict[str, Any]:
    """A container's form without the fields left empty."""
    return {key: value for key, value in form.items() if value not in (None, "")}


def posted_at(post: dict[str, Any]) -> datetime | None:
    """When Instagram or Threads says a post went out (`timestamp`, as 2026-12-04T06:00:00+0000)."""
    stamp = post.get("timestamp")
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z") if stamp else None


def check_ready(platform: str, state: object, detail: object) -> None:
    """Raise unless a container in `state` may be published now.

    Instagram calls the state `status_code` (its `status` says why it failed),
    Threads `status` (its `error_message` says why).
    """
    if state == "FINISHED":
        return
    why = f" ({short(detail, 80)})" if detail else ""
    if state == "IN_PROGRESS":
        raise TransientError(f"{platform} is still preparing the post; it is published once ready",
                             retry_after=CONTAINER_WAIT)
    if state == "PUBLISHED":
        # An earlier attempt published it and its answer was lost: reconcile.
        raise MaybePosted(f"{platform} says this post was already published; looking for it")
    if state == "EXPIRED":
        raise TransientError(f"{platform} let the prepared post expire; it is prepared again")
    if state == "ERROR":
        raise PermanentError(f"{platform} could not prepare the post{why}")
    raise TransientError(f"{platform} answered an unknown container state {short(state, 30)!r}")


class Containers:
    """The container each delivery (part) is waiting on, kept by the adapter
    between attempts; bounded, oldest forgotten first."""

    def __init__(self, limit: int = 1000) -> None:
        self._limit = limit
        self._ids: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._ids.get(key)

    def put(self, key: str, container_id: str) -> None:
        with self._lock:
            self._ids[key] = container_id
            self._ids.move_to_end(key)
            while len(self._ids) > self._limit:
                self._ids.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._ids.pop(key, None)

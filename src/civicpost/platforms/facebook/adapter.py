"""Facebook Pages through a thin httpx Graph API client.

Not facebook-sdk: its last release refuses every Graph version Meta still
serves, puts the token in URLs and hides the HTTP status. Here the Page token
travels only in the Authorization header.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx

from civicpost.platforms._support import (
    CLOCK_SLACK,
    MALFORMED,
    answered,
    comparable,
    httpx_reached_server,
    posted_since,
    short,
    unexpected_answer,
)
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import (
    CredentialsError,
    MaybePosted,
    MediaItem,
    Outgoing,
    PermanentError,
    RateLimited,
    Receipt,
    TransientError,
)

DEFAULT_API_BASE = "https://graph.facebook.com"
# Where people read a post; a channel's `web_base` changes it (the sandbox serves its own).
WEB_BASE = "https://www.facebook.com"
DEFAULT_GRAPH_VERSION = "v25.0"
# Graph error codes (developers.facebook.com/docs/graph-api/guides/error-handling).
RATE_LIMIT_CODES = {4, 17, 32, 613} | set(range(80001, 80015))
CREDENTIAL_CODES = {102, 190}
REGAIN = "estimated_time_to_regain_access"  # minutes, in Meta's usage headers
# Missing permission (pages_manage_posts ...): the channel, not the post, needs fixing.
PERMISSION_CODES = {10} | set(range(200, 300))
TRANSIENT_CODES = {1, 2}
DUPLICATE_POST = 506
GONE_SUBCODE = 33


class GraphError(Exception):
    """An answer that is not what was asked: Graph's error object, or (`unreadable`) no JSON at all."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = response.headers
        try:
            body = response.json()
        except ValueError:
            body = None
        self.unreadable = not isinstance(body, dict)
        error = body.get("error") if isinstance(body, dict) else None
        self.error: dict[str, Any] = error if isinstance(error, dict) else {}
        # Graph's own error.message, shortened; never the body (an address
        # that is not Graph answers with whatever it holds).
        message = answered("Facebook", self.status, response.reason_phrase, self.error.get("message"))
        code = self.error.get("code")
        super().__init__(f"{message} (code {short(code, 12)})" if code is not None else message)

    @property
    def code(self) -> int | None:
        return self.error.get("code")


class FacebookAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: AddressGuard | None = None) -> None:
        if not credentials.get("page_access_token"):
            raise CredentialsError("Facebook channel has no page_access_token")
        if not settings.get("page_id"):
            raise PermanentError("Facebook channel has no page_id setting")
        self._page_id = str(settings["page_id"])
        self._web_base = (settings.get("web_base") or WEB_BASE).rstrip("/")
        api_base = (settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")
        version = settings.get("graph_version") or DEFAULT_GRAPH_VERSION
        self._http = httpx.Client(
            base_url=f"{api_base}/{version}",
            timeout=timeout,
            headers={"Authorization": f"Bearer {credentials['page_access_token']}"},
            event_hooks=guard.httpx_hooks() if guard else None,
        )

    def publish(self, outgoing: Outgoing) -> Receipt:
        with self._errors(writing=True):
            form: dict[str, str] = {"message": outgoing.text}
            if outgoing.media:
                # Unpublished photos attached to one feed post: a single post
                # with all images and its own alt text per image.
                for n, item in enumerate(outgoing.media):
                    form[f"attached_media[{n}]"] = json.dumps({"media_fbid": self._upload(item)})
            elif outgoing.link:
                form["link"] = outgoing.link
            post_id = str(self._call("POST", f"/{self._page_id}/feed", data=form)["id"])
        return Receipt(remote_id=post_id, remote_url=_permalink(post_id, self._web_base), part_ids=[post_id])

    def delete(self, remote_id: str) -> None:
        try:
            with self._errors(writing=False):
                self._call("DELETE", f"/{remote_id}")
        except PermanentError as exc:
            cause = exc.__cause__
            if isinstance(cause, GraphError) and cause.error.get("error_subcode") == GONE_SUBCODE:
                return
            raise

    def find(self, outgoing: Outgoing) -> Receipt | None:
        params: dict[str, Any] = {"fields": "id,message,permalink_url,created_time", "limit": 25}
        if outgoing.created_at is not None:
            params["since"] = int((outgoing.created_at - CLOCK_SLACK).timestamp())
        with self._errors(writing=False):
            posts = self._call("GET", f"/{self._page_id}/posts", params=params).get("data", [])
        wanted = comparable(outgoing.text)
        for post in posts:
            created = post.get("created_time")
            when = datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z") if created else None
            if comparable(post.get("message", "")) == wanted and posted_since(when, outgoing.created_at):
                url = post.get("permalink_url") or _permalink(post["id"], self._web_base)
                return Receipt(remote_id=post["id"], remote_url=url, part_ids=[post["id"]])
        return None

    def check(self) -> dict[str, Any]:
        with self._errors(writing=False):
            me = self._call("GET", "/me", params={"fields": "id,name"})
        # A Page token speaks as the Page; a user token answers with the user,
        # and posting with it would publish as a person (or fail later).
        if str(me.get("id")) != self._page_id:
            raise CredentialsError(f"token speaks for {me.get('id')}, not Page {self._page_id}: use a Page token")
        return {"page_id": self._page_id, "name": me.get("name")}

    def _upload(self, item: MediaItem) -> str:
        answer = self._call(
            "POST",
            f"/{self._page_id}/photos",
            data={"published": "false", "alt_text_custom": item.alt_text},
            files={"source": (item.path.name, item.path.read_bytes(), item.mime_type)},
        )
        return str(answer["id"])

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._http.request(method, path, **kwargs)
        if response.is_error:
            raise GraphError(response)
        try:
            body = response.json()
        except ValueError:
            raise GraphError(response) from None
        # Graph sometimes answers 200 with an error object.
        if not isinstance(body, dict) or "error" in body:
            raise GraphError(response)
        return body

    @contextmanager
    def _errors(self, *, writing: bool) -> Iterator[None]:
        try:
            yield
        except GraphError as exc:
            if exc.unreadable and exc.status < 500:
                # Not Graph's JSON: the channel points somewhere else. A write answered 2xx may have landed.
                said = f"{exc}, not with the Graph API's JSON: check the channel's api_base"
                raise (MaybePosted if writing and exc.status < 300 else PermanentError)(said) from exc
            raise _map(exc) from exc
        except MALFORMED as exc:
            raise unexpected_answer("Facebook", writing=writing) from exc
        except httpx.HTTPError as exc:
            if writing and httpx_reached_server(exc):
                raise MaybePosted(f"no answer from Facebook: {short(repr(exc))}") from exc
            raise TransientError(f"cannot reach Facebook: {short(repr(exc))}") from exc


def _map(exc: GraphError) -> Exception:
    code, message = exc.code, str(exc)
    if code in CREDENTIAL_CODES or code in PERMISSION_CODES or exc.status == 401:
        return CredentialsError(message)
    if code in RATE_LIMIT_CODES or exc.status == 429:
        return RateLimited(message, retry_after=_regain_access(exc.headers))
    if code == DUPLICATE_POST:
        return MaybePosted(message)
    if exc.error.get("is_transient") or code in TRANSIENT_CODES or exc.status >= 500:
        return TransientError(message)
    return PermanentError(message)


def _regain_access(headers: httpx.Headers) -> float | None:
    """Seconds from Meta's usage headers (they count in minutes)."""
    minutes: list[float] = []
    for name in ("x-business-use-case-usage", "x-page-usage", "x-app-usage"):
        try:
            usage = json.loads(headers.get(name, "{}"))
        except ValueError:
            continue
        entries = [e for v in usage.values() if isinstance(v, list) for e in v] if isinstance(usage, dict) else []
        minutes += [float(e[REGAIN]) for e in entries if REGAIN in e]
    return max(minutes) * 60 if minutes else None


def _permalink(post_id: str, web_base: str) -> str:
    page, _, post = post_id.partition("_")
    return f"{web_base}/{page}/posts/{post}" if post else f"{web_base}/{post_id}"

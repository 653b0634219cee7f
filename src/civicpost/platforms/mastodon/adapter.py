"""Mastodon through Mastodon.py 2.x, built so that it never waits or probes."""

import html
import json
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from civicpost.platforms._support import (
    MALFORMED,
    answered,
    comparable,
    environment_once,
    html_to_text,
    posted_since,
    requests_reached_server,
    short,
    unexpected_answer,
)
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import (
    Counts,
    CredentialsError,
    MaybePosted,
    Outgoing,
    PermanentError,
    PlatformError,
    PostGone,
    RateLimited,
    Receipt,
    Reply,
    TransientError,
)

DEFAULT_MAX_CHARACTERS = 500
# How Mastodon.py starts the message for an answer that is not JSON (it then quotes the body).
NOT_JSON = "Could not parse response as JSON"
# A status's counts by the names civicpost gives them (quotes_count since Mastodon 4.5).
STATUS_COUNTS = {"favourites_count": "likes", "reblogs_count": "reposts", "replies_count": "replies",
                 "quotes_count": "quotes"}
# Mastodon refuses a status whose media is still being processed; a moment later it works.
STILL_PROCESSING = "not finished processing"


class MastodonAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: AddressGuard | None = None) -> None:
        if not settings.get("api_base"):
            raise PermanentError("Mastodon channel needs settings.api_base (the instance URL)")
        if not credentials.get("access_token"):
            raise CredentialsError("Mastodon channel has no access_token")
        self._api = Mastodon(
            access_token=credentials["access_token"],
            api_base_url=settings["api_base"],
            # A stated version and "created" checking: otherwise media_post
            # probes the server and, if the probe fails, recurses without end.
            mastodon_version="4.3.0",
            version_check_mode="created",
            # The default "wait" sleeps inside the call; the worker reschedules instead.
            ratelimit_method="throw",
            request_timeout=timeout,
            session=_lean_session(settings["api_base"], guard),
        )
        self._account_id: str | None = None

    def publish(self, outgoing: Outgoing) -> Receipt:
        texts = outgoing.parts or [outgoing.text]
        # Idempotency keys last about an hour on Mastodon; retries can outlast
        # that, so parts an earlier attempt posted are not sent again at all.
        posted: list[dict[str, Any]] = [{"id": i} for i in outgoing.already_posted[: len(texts)]]
        with self._errors(writing=True, posted=posted):
            media_ids = []
            for item in outgoing.media if not posted else []:
                # Given a path, Mastodon.py ignores mime_type and guesses from the file
                # name; ours are content hashes with no extension. A file object keeps it.
                with item.path.open("rb") as data:
                    media_ids.append(
                        self._api.media_post(data, mime_type=item.mime_type, description=item.alt_text)["id"]
                    )
            for n, text in enumerate(texts):
                if n < len(outgoing.already_posted):
                    continue
                status = self._api.status_post(
                    text,
                    in_reply_to_id=posted[-1]["id"] if posted else None,
                    media_ids=(media_ids or None) if n == 0 else None,
                    # Mastodon answers a repeated key with the status it already
                    # made, so a retried thread resumes instead of doubling.
                    idempotency_key=outgoing.key if n == 0 else f"{outgoing.key}-{n}",
                )
                posted.append(status)
            return _receipt(posted)

    def delete(self, remote_id: str) -> None:
        try:
            with self._errors(writing=False):
                self._api.status_delete(remote_id)
        except PermanentError as exc:
            if isinstance(exc.__cause__, MastodonNotFoundError):
                return
            raise

    def find(self, outgoing: Outgoing) -> Receipt | None:
        wanted = [comparable(text) for text in outgoing.parts or [outgoing.text]]
        with self._errors(writing=False):
            statuses = self._api.account_statuses(self._me(), limit=40, exclude_reblogs=True)
        found: list[dict[str, Any]] = []
        for status in reversed(statuses):  # newest first on the wire; threads read oldest first
            if not posted_since(status.get("created_at"), outgoing.created_at):
                continue
            if len(found) < len(wanted) and comparable(html_to_text(status["content"])) == wanted[len(found)]:
                found.append(status)
        return _receipt(found) if found else None

    def check(self) -> dict[str, Any]:
        with self._errors(writing=False):
            account = self._api.account_verify_credentials()
            self._account_id = str(account["id"])
            max_characters = self._max_characters()
        return {"account": account.get("acct"), "username": account.get("username"), "max_characters": max_characters}

    def read_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        """GET /api/v1/statuses?id[]=... (Mastodon 4.3): up to 20 statuses a call; a deleted one is left out."""
        with self._errors(writing=False):
            # Mastodon.py's `statuses()` would type every field of every status (about 1 ms of CPU
            # a status) only for four counts to be read: the same request, its errors mapped by
            # Mastodon.py as always, with the answer read as plain JSON.
            response = self._api._Mastodon__api_request(  # type: ignore[attr-defined]
                "GET", "/api/v1/statuses", {"id[]": list(remote_ids)}, return_response_object=True)
            statuses = response.json()
            return {str(status["id"]): {name: int(status[key]) for key, name in STATUS_COUNTS.items()
                                        if isinstance(status.get(key), int)}
                    for status in statuses}

    def read_replies(self, remote_id: str) -> list[Reply]:
        """GET /api/v1/statuses/{id}/context: the descendants are the replies (and replies to them)."""
        try:
            with self._errors(writing=False):
                response = self._api._Mastodon__api_request(  # type: ignore[attr-defined]
                    "GET", f"/api/v1/statuses/{remote_id}/context", return_response_object=True)
                descendants = response.json().get("descendants") or []
                return [_reply(status) for status in descendants if isinstance(status, dict)]
        except PermanentError as exc:
            if isinstance(exc.__cause__, MastodonNotFoundError):
                raise PostGone(f"Mastodon no longer has post {remote_id}") from exc
            raise

    def followers(self) -> int | None:
        with self._errors(writing=False):
            account = self._api.account_verify_credentials()
        value = account.get("followers_count")
        return int(value) if isinstance(value, int) else None

    def latest_post_at(self) -> datetime | None:
        with self._errors(writing=False):
            statuses = self._api.account_statuses(self._me(), limit=1)
        created = statuses[0].get("created_at") if statuses else None
        return created if isinstance(created, datetime) else None

    def _me(self) -> str:
        if self._account_id is None:
            self._account_id = str(self._api.account_verify_credentials()["id"])
        return self._account_id

    def _max_characters(self) -> int:
        try:
            instance = self._api.instance_v2()
            return int(instance["configuration"]["statuses"]["max_characters"])
        except (MastodonNotFoundError, KeyError, TypeError):
            # Older servers and some forks have no v2 instance endpoint or field.
            try:
                legacy = self._api.instance_v1()
                return int(legacy.get("configuration", {}).get("statuses", {}).get("max_characters"))
            except (MastodonNotFoundError, KeyError, TypeError, AttributeError):
                return DEFAULT_MAX_CHARACTERS

    @contextmanager
    def _errors(self, *, writing: bool, posted: list[dict[str, Any]] | None = None) -> Iterator[None]:
        try:
            yield
        except MastodonError as exc:
            error = self._map(exc, writing=writing)
            if posted:
                error.partial = _receipt(list(posted))
            raise error from exc
        except MALFORMED as exc:
            error = unexpected_answer("Mastodon", writing=writing)
            readable = [status for status in posted or [] if isinstance(status, dict) and "id" in status]
            if readable:
                error.partial = _receipt(readable)
            raise error from exc

    def _map(self, exc: MastodonError, *, writing: bool) -> PlatformError:
        said = _said(exc)
        if isinstance(exc, MastodonRatelimitError):
            reset = self._api.ratelimit_reset
            retry_after = max(0.0, reset - time.time()) if reset else None
            return RateLimited(said, retry_after=retry_after)
        if isinstance(exc, MastodonUnauthorizedError):
            return CredentialsError(said)
        if isinstance(exc, MastodonNetworkError):
            # Mastodon.py wraps whatever the session raised; it stays as the context.
            cause = exc.__context__
            if isinstance(cause, PlatformError):
                return cause  # the address guard refused the connection (or could not look it up)
            sent = not isinstance(cause, requests.RequestException) or requests_reached_server(cause)
            if writing and sent:
                return MaybePosted(said)
            return TransientError(said)
        if isinstance(exc, MastodonServerError):
            return TransientError(said)
        if isinstance(exc, MastodonAPIError):
            status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
            if status == 403:
                # Suspended account or a token without write scope: the channel needs a person.
                return CredentialsError(said)
            if status == 422 and STILL_PROCESSING in said:
                return TransientError(said)
            if status is not None and status >= 500:
                return TransientError(said)
            if status is None and writing and exc.args and NOT_JSON in str(exc.args[0]):
                return MaybePosted(said)  # answered 2xx, but with something else: the post may be there
            return PermanentError(said)
        return PermanentError(said)


def _said(exc: MastodonError) -> str:
    """What staff may read: the status and Mastodon's own `error` words
    (see _plain_errors), never a body. Mastodon.py puts the whole body in
    some messages ("bad json content was b'...'")."""
    args = exc.args
    if isinstance(exc, MastodonNetworkError):
        return f"cannot reach Mastodon: {short(exc.__context__ or 'the connection failed')}"
    if len(args) >= 4 and isinstance(args[1], int):
        return answered("Mastodon", args[1], args[2] if isinstance(args[2], str) else None,
                        args[3] if isinstance(args[3], str) else None)
    if args and NOT_JSON in str(args[0]):
        status = re.search(r"response code was (\d+)", str(args[0]))
        return (answered("Mastodon", int(status.group(1)) if status else None)
                + ", not with Mastodon's JSON: check the channel's api_base")
    if isinstance(exc, MastodonRatelimitError):
        return "Mastodon answered 429: too many requests"
    return short(args[0] if args else type(exc).__name__)


# What the adapter reads of a new status: the rest of the answer (the account,
# its emojis and fields, the card, mentions, ...) Mastodon.py would type into
# its entity classes field by field, about 1.5 ms of CPU a post, half of what
# a Mastodon post costs the worker, only to be thrown away.
_KEPT = ("id", "uri", "url", "created_at", "content", "in_reply_to_id", "visibility")


def _lean_session(api_base: str, guard: AddressGuard | None) -> requests.Session:
    session = environment_once(requests.Session(), api_base)
    if guard is not None:
        guard.guard_session(session)
    session.hooks["response"].extend([_plain_errors, _keep_what_is_read])
    return session


def _plain_errors(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """An error answer keeps only Mastodon's `error` words, shortened: Mastodon.py
    otherwise quotes a body that is a bare JSON string whole (and an address that
    is not Mastodon answers with whatever it holds)."""
    if response.ok:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    response._content = json.dumps({"error": short(error)} if isinstance(error, str) else {}).encode()


def _keep_what_is_read(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    request = response.request
    if not (request.method == "POST" and request.path_url.endswith("/api/v1/statuses") and response.ok):
        return
    try:
        status = response.json()
    except ValueError:
        return  # Mastodon.py reports the unreadable answer itself
    if isinstance(status, dict):
        response._content = json.dumps({k: status[k] for k in _KEPT if k in status}).encode()


def _reply(status: dict[str, Any]) -> Reply:
    account = status.get("account") or {}
    created = status.get("created_at")
    when = datetime.fromisoformat(created.replace("Z", "+00:00")) if isinstance(created, str) else None
    return Reply(remote_id=str(status["id"]), author_handle=f"@{account.get('acct') or account.get('username') or ''}",
                 author_name=str(account.get("display_name") or account.get("username") or ""),
                 created_at=when, text=html.unescape(html_to_text(str(status.get("content") or ""))).strip(),
                 url=status.get("url") or status.get("uri"))


def _receipt(statuses: list[dict[str, Any]]) -> Receipt:
    ids = [str(status["id"]) for status in statuses]
    first = statuses[0]
    return Receipt(remote_id=ids[0], remote_url=first.get("url") or first.get("uri"), part_ids=ids)

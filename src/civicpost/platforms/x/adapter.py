"""X (Twitter) through tweepy's v2 `Client`, plus the v2 media upload tweepy lacks."""

import html
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter
from tweepy.auth import OAuth1UserHandler

from civicpost.platforms._support import (
    CLOCK_SLACK,
    MALFORMED,
    answered,
    comparable,
    environment_once,
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
    NotReadable,
    Outgoing,
    PermanentError,
    PlatformError,
    PostGone,
    RateLimited,
    Receipt,
    Reply,
    TransientError,
)

# tweepy 4.17 hard-codes this host in BaseClient.request. It is also the
# default: an OAuth 1.0a signature covers the host, so rewriting to api.x.com
# would change what X verifies, while a gateway in front of the real host
# forwards the request exactly as signed.
TWEEPY_HOST = "https://api.twitter.com"
# Where people read a post; a channel's `web_base` changes it (the sandbox serves its own).
WEB_BASE = "https://x.com"
MEDIA_CATEGORIES = {"image/gif": "tweet_gif"}
# X's public_metrics by the names civicpost gives counts (SPEC §8.3).
PUBLIC_METRICS = {"like_count": "likes", "retweet_count": "reposts", "reply_count": "replies",
                  "quote_count": "quotes", "impression_count": "views"}
# Credentials problems X reports with 403 rather than 401.
CLIENT_PROBLEMS = ("client-forbidden", "unsupported-authentication", "oauth1-permissions")


class _ApiBaseTransport(HTTPAdapter):
    """Sends tweepy's requests to `api_base` with a timeout (tweepy passes none)."""

    def __init__(self, api_base: str, timeout: float, guard: AddressGuard | None) -> None:
        super().__init__()
        self._base = urlsplit(api_base)
        self._timeout = timeout
        self._guard = guard

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = urlsplit(request.url or "")
        request.url = urlunsplit(
            (self._base.scheme, self._base.netloc, self._base.path.rstrip("/") + url.path, url.query, "")
        )
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        if self._guard is not None:
            self._guard.check_url(request.url)
        return super().send(request, **kwargs)


class XAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: AddressGuard | None = None) -> None:
        self._credentials = credentials
        self._oauth1 = "oauth2_access_token" not in credentials
        if self._oauth1:
            missing = {"consumer_key", "consumer_secret", "access_token", "access_token_secret"} - set(credentials)
            if missing:
                raise CredentialsError(f"X credentials lack {', '.join(sorted(missing))}")
            self._client = tweepy.Client(
                consumer_key=credentials["consumer_key"],
                consumer_secret=credentials["consumer_secret"],
                access_token=credentials["access_token"],
                access_token_secret=credentials["access_token_secret"],
                return_type=dict,
                wait_on_rate_limit=False,
            )
        else:
            # tweepy sends `bearer_token` as "Authorization: Bearer"; with
            # user_auth=False that is exactly how an OAuth 2.0 user token is used.
            self._client = tweepy.Client(
                bearer_token=credentials["oauth2_access_token"], return_type=dict, wait_on_rate_limit=False
            )
        api_base = settings.get("api_base") or TWEEPY_HOST
        if guard is not None:
            guard.guard_session(self._client.session)  # where a redirect would lead
        self._client.session.mount(TWEEPY_HOST, _ApiBaseTransport(api_base, timeout, guard))
        environment_once(self._client.session, api_base)
        self._user_id: str | None = None
        self._web_base = (settings.get("web_base") or WEB_BASE).rstrip("/")

    def publish(self, outgoing: Outgoing) -> Receipt:
        texts = outgoing.parts or [outgoing.text]
        posted: list[str] = list(outgoing.already_posted[: len(texts)])
        with self._errors(writing=True, posted=posted):
            # Images go with the first part; a resumed thread has posted it already.
            media = outgoing.media if not posted else []
            media_ids = [self._upload(item.path.read_bytes(), item.mime_type, item.alt_text) for item in media]
            for n, text in enumerate(texts):
                if n < len(outgoing.already_posted):
                    continue
                answer = self._client.create_tweet(
                    text=text,
                    media_ids=(media_ids or None) if n == 0 else None,
                    in_reply_to_tweet_id=posted[-1] if posted else None,
                    user_auth=self._oauth1,
                )
                posted.append(str(answer["data"]["id"]))
        return _receipt(posted, self._web_base)

    def delete(self, remote_id: str) -> None:
        try:
            with self._errors(writing=False):
                self._client.delete_tweet(remote_id, user_auth=self._oauth1)
        except PermanentError as exc:
            # Deleting what is already gone has the outcome retract wants.
            if isinstance(exc.__cause__, tweepy.NotFound):
                return
            raise

    def find(self, outgoing: Outgoing) -> Receipt | None:
        texts = outgoing.parts or [outgoing.text]
        wanted = [comparable(text) for text in texts]
        with self._errors(writing=False):
            params: dict[str, Any] = {"max_results": 100, "tweet_fields": ["created_at"], "exclude": ["retweets"]}
            if outgoing.created_at is not None:
                params["start_time"] = outgoing.created_at - CLOCK_SLACK
            answer = self._client.get_users_tweets(self._me(), user_auth=self._oauth1, **params)
        # The timeline is newest first; a thread reads oldest first.
        tweets = [
            tweet
            for tweet in reversed(answer.get("data") or [])
            if posted_since(_parse_time(tweet.get("created_at")), outgoing.created_at)
        ]
        found: list[str] = []
        for tweet in tweets:
            if len(found) < len(wanted) and comparable(tweet["text"]) == wanted[len(found)]:
                found.append(str(tweet["id"]))
        return _receipt(found, self._web_base) if found else None

    def check(self) -> dict[str, Any]:
        with self._errors(writing=False):
            me = self._client.get_me(user_auth=self._oauth1)["data"]
        self._user_id = str(me["id"])
        return {"user_id": self._user_id, "username": me.get("username")}

    def read_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        """GET /2/tweets?ids=...&tweet.fields=public_metrics: up to 100 posts a call, none of the posting quota."""
        with self._errors(writing=False):
            answer = self._client.get_tweets(list(remote_ids), tweet_fields=["public_metrics"], user_auth=self._oauth1)
        counts: dict[str, Counts] = {}
        for tweet in answer.get("data") or []:  # a deleted post comes back under "errors"
            metrics = tweet.get("public_metrics") or {}
            counts[str(tweet["id"])] = {name: int(metrics[key]) for key, name in PUBLIC_METRICS.items()
                                        if isinstance(metrics.get(key), int)}
        return counts

    def read_replies(self, remote_id: str) -> list[Reply]:
        """GET /2/tweets/search/recent?query=conversation_id:ID (the last 7 days, the readings' span).
        X's lower access levels may not search: NotReadable. Nothing found: is the post still there?"""
        try:
            with self._errors(writing=False):
                answer = self._client.search_recent_tweets(
                    f"conversation_id:{remote_id}", max_results=100, expansions=["author_id"],
                    tweet_fields=["created_at", "author_id", "conversation_id"], user_fields=["username", "name"],
                    user_auth=self._oauth1)
        except PermanentError as exc:
            if isinstance(exc.__cause__, tweepy.Forbidden):
                raise NotReadable(str(exc)) from exc
            raise
        users = {str(u["id"]): u for u in (answer.get("includes") or {}).get("users") or []}
        tweets = [t for t in answer.get("data") or [] if str(t.get("id")) != remote_id]
        if not tweets:
            self._still_there(remote_id)
        found = []
        for tweet in tweets:
            author = users.get(str(tweet.get("author_id")), {})
            username = str(author.get("username") or "")
            found.append(Reply(remote_id=str(tweet["id"]), author_handle=f"@{username}",
                               author_name=str(author.get("name") or username),
                               created_at=_parse_time(tweet.get("created_at")),
                               # X escapes &, < and > in a post's text.
                               text=html.unescape(str(tweet.get("text") or "")),
                               url=f"{self._web_base}/{username or 'i/web'}/status/{tweet['id']}"))
        return found

    def hide_reply(self, reply_id: str) -> None:
        """PUT /2/tweets/:id/hidden: X takes it only with an OAuth 2.0 user token."""
        if self._oauth1:
            raise PermanentError("X hides replies only for a channel connected with OAuth 2.0 (sign in with X "
                                 "again in the channel's settings); hide it in the X app meanwhile")
        with self._errors(writing=False):
            self._client.hide_reply(reply_id, user_auth=False)

    def remove_reply(self, reply_id: str) -> None:
        raise PermanentError("X does not let an account delete other people's replies; hide it instead")

    def _still_there(self, remote_id: str) -> None:
        with self._errors(writing=False):
            answer = self._client.get_tweet(remote_id, user_auth=self._oauth1)
        if not answer.get("data") and any(str(e.get("type", "")).endswith("resource-not-found")
                                          for e in answer.get("errors") or []):
            raise PostGone(f"X no longer has post {remote_id}")

    def followers(self) -> int | None:
        with self._errors(writing=False):
            me = self._client.get_me(user_fields=["public_metrics"], user_auth=self._oauth1)["data"]
        value = (me.get("public_metrics") or {}).get("followers_count")
        return int(value) if isinstance(value, int) else None

    def latest_post_at(self) -> datetime | None:
        """GET /2/users/:id/tweets with max_results=5, the fewest X allows; newest first."""
        with self._errors(writing=False):
            answer = self._client.get_users_tweets(self._me(), max_results=5, tweet_fields=["created_at"],
                                                   user_auth=self._oauth1)
        return max(filter(None, (_parse_time(t.get("created_at")) for t in answer.get("data") or [])), default=None)

    def _me(self) -> str:
        if self._user_id is None:
            self.check()
        assert self._user_id is not None
        return self._user_id

    def _upload(self, data: bytes, mime_type: str, alt_text: str) -> str:
        """POST /2/media/upload, then alt text via /2/media/metadata, on tweepy's session."""
        if not mime_type.startswith("image/"):
            raise PermanentError(f"X upload of {mime_type} is not supported (images only)")
        category = MEDIA_CATEGORIES.get(mime_type, "tweet_image")
        answer = self._send(
            "/2/media/upload",
            files={"media": ("media", data, mime_type)},
            data={"media_category": category, "media_type": mime_type},
        )
        media_id = str(answer["data"]["id"])
        if alt_text:
            self._send("/2/media/metadata", json={"id": media_id, "metadata": {"alt_text": {"text": alt_text}}})
        return media_id

    def _send(self, route: str, **kwargs: Any) -> dict[str, Any]:
        if self._oauth1:
            c = self._credentials
            kwargs["auth"] = OAuth1UserHandler(
                c["consumer_key"], c["consumer_secret"], c["access_token"], c["access_token_secret"]
            ).apply_auth()
        else:
            kwargs["headers"] = {"Authorization": f"Bearer {self._credentials['oauth2_access_token']}"}
        with self._client.session.post(TWEEPY_HOST + route, **kwargs) as response:
            _raise_like_tweepy(response)
            answer: dict[str, Any] = response.json()
            return answer

    @contextmanager
    def _errors(self, *, writing: bool, posted: list[str] | None = None) -> Iterator[None]:
        try:
            yield
        except tweepy.TooManyRequests as exc:
            raise _partial(RateLimited(_said(exc), retry_after=_retry_after(exc.response)), posted) from exc
        except tweepy.Unauthorized as exc:
            raise _partial(CredentialsError(_said(exc)), posted) from exc
        except tweepy.Forbidden as exc:
            raise _partial(_forbidden(exc), posted) from exc
        except tweepy.TwitterServerError as exc:
            raise _partial(TransientError(_said(exc)), posted) from exc
        except tweepy.HTTPException as exc:
            raise _partial(PermanentError(_said(exc)), posted) from exc
        except requests.RequestException as exc:
            if writing and requests_reached_server(exc):
                raise _partial(MaybePosted(f"no answer from X: {short(exc)}"), posted) from exc
            raise _partial(TransientError(f"cannot reach X: {short(exc)}"), posted) from exc
        except PlatformError as exc:  # the address guard refused the connection
            raise _partial(exc, posted) from exc
        except MALFORMED as exc:
            raise _partial(unexpected_answer("X", writing=writing), posted) from exc


def _said(exc: tweepy.HTTPException) -> str:
    """X's status and its own first message (from its JSON), never the body itself."""
    response = exc.response
    return answered("X", getattr(response, "status_code", None), getattr(response, "reason", None),
                    exc.api_messages[0] if exc.api_messages else None)


def _forbidden(exc: tweepy.Forbidden) -> Exception:
    message = _said(exc)
    if "duplicate content" in str(exc).lower():
        # X refuses a text it already has: likely our own earlier attempt, but
        # possibly an older post. Only `find` can tell, so never call it success.
        return MaybePosted(message)
    try:
        problem = str(exc.response.json().get("type", ""))
    except ValueError:
        problem = ""
    if any(problem.endswith(kind) for kind in CLIENT_PROBLEMS):
        return CredentialsError(message)
    return PermanentError(message)


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to the reset X announced; the 24-hour cap outlasts the window."""
    resets = [response.headers.get("x-rate-limit-reset")]
    if response.headers.get("x-user-limit-24hour-remaining") == "0":
        resets.append(response.headers.get("x-user-limit-24hour-reset"))
    epochs = [int(value) for value in resets if value and value.isdigit()]
    return max(0.0, max(epochs) - time.time()) if epochs else None


def _raise_like_tweepy(response: requests.Response) -> None:
    """Our own requests fail with tweepy's exceptions, so one mapping serves all."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        raise tweepy.TooManyRequests(response, reset_time=int(reset) if reset and reset.isdigit() else None)
    errors: dict[int, type[tweepy.HTTPException]] = {
        400: tweepy.BadRequest,
        401: tweepy.Unauthorized,
        403: tweepy.Forbidden,
        404: tweepy.NotFound,
    }
    raise errors.get(status, tweepy.TwitterServerError if status >= 500 else tweepy.HTTPException)(response)


def _partial(error: Exception, posted: list[str] | None) -> Exception:
    if posted and hasattr(error, "partial"):
        error.partial = _receipt(list(posted))
    return error


def _receipt(ids: list[str], web_base: str = WEB_BASE) -> Receipt:
    return Receipt(remote_id=ids[0], remote_url=f"{web_base}/i/web/status/{ids[0]}", part_ids=ids)


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

"""Bluesky through the atproto SDK, with record keys that make retries safe.

Each post's record key (rkey) is a TID derived from the delivery's key and
creation time, so a retry writes to the same address: the PDS refuses the
second create, and the adapter answers with the post that is already there.
`find` is then a single getRecord, exact rather than a text search.
"""

import hashlib
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pydantic
from atproto import Client, models
from atproto_client.client.session import Session, SessionEvent
from atproto_client.exceptions import (
    BadRequestError,
    ModelError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.request import Request
from atproto_client.utils.facet_detection import detect_facets
from atproto_core.exceptions import AtProtocolError

from civicpost.media import fit_image
from civicpost.platforms._support import answered, httpx_reached_server, plain, short
from civicpost.platforms.bluesky import IMAGE_BYTES as BLUESKY_IMAGE_BYTES
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import (
    Counts,
    CredentialsError,
    MaybePosted,
    MediaItem,
    Outgoing,
    PermanentError,
    PlatformError,
    PostGone,
    RateLimited,
    Receipt,
    Reply,
    TransientError,
)

DEFAULT_API_BASE = "https://bsky.social"
# Where people read a post; a channel's `web_base` changes it (the sandbox serves its own).
WEB_BASE = "https://bsky.app"
COLLECTION = "app.bsky.feed.post"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
# XRPC errors that mean "log in again", not "this post is bad".
TOKEN_ERRORS = {"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AccountTakedown"}


def deterministic_tid(key: str, created_at: datetime, part: int = 0) -> str:
    """A valid TID (atproto record key) that is the same on every retry.

    53 bits of microseconds since the epoch (from `created_at`, plus `part` so
    a thread's posts sort in order) and a 10-bit clock id hashed from `key`,
    in base32-sortable: 13 characters, first one 2..j.
    """
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    micros = int(created_at.timestamp() * 1_000_000) + part
    clock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:2], "big") & 0x3FF
    value = (micros & ((1 << 53) - 1)) << 10 | clock_id
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


class BlueskyAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: AddressGuard | None = None) -> None:
        if not credentials.get("handle") or not credentials.get("app_password"):
            raise CredentialsError("Bluesky channel needs handle and app_password")
        self._credentials = credentials
        base_url = settings.get("api_base") or DEFAULT_API_BASE
        # The guard also covers the PDS a sign-in may move to, and redirects (atproto follows them).
        hooks = {"event_hooks": guard.httpx_hooks()} if guard else {}
        self._client = Client(base_url=base_url, request=Request(timeout=timeout, **hooks))
        self._client.on_session_change(self._remember)
        self._session: Session | None = None
        self._web_base = (settings.get("web_base") or WEB_BASE).rstrip("/")

    def publish(self, outgoing: Outgoing) -> Receipt:
        created_at = _creation_time(outgoing)
        texts = outgoing.parts or [outgoing.text]
        posted: list[models.ComAtprotoRepoStrongRef.Main] = []
        with self._errors(writing=True, posted=posted):
            session = self._login()
            embed = self._images(outgoing.media) if outgoing.media else None
            for n, text in enumerate(texts):
                reply = None
                if posted:
                    reply = models.AppBskyFeedPost.ReplyRef(root=posted[0], parent=posted[-1])
                record = models.AppBskyFeedPost.Record(
                    text=text,
                    created_at=self._client.get_current_time_iso(),
                    facets=detect_facets(text) or None,
                    embed=embed if n == 0 else None,
                    reply=reply,
                    langs=[outgoing.extra["language"]] if outgoing.extra.get("language") else None,
                )
                posted.append(self._create(session.did, deterministic_tid(outgoing.key, created_at, n), record))
        return self._receipt([ref.uri for ref in posted])

    def delete(self, remote_id: str) -> None:
        with self._errors(writing=False):
            session = self._login()
            # deleteRecord succeeds when the record is already gone.
            self._client.app.bsky.feed.post.delete(session.did, _rkey(remote_id))

    def find(self, outgoing: Outgoing) -> Receipt | None:
        created_at = _creation_time(outgoing)
        uris: list[str] = []
        with self._errors(writing=False):
            session = self._login()
            for n in range(len(outgoing.parts or [outgoing.text])):
                ref = self._existing(session.did, deterministic_tid(outgoing.key, created_at, n))
                if ref is None:
                    break
                uris.append(ref.uri)
        return self._receipt(uris) if uris else None

    def check(self) -> dict[str, Any]:
        with self._errors(writing=False):
            session = self._login()
        return {"did": session.did, "handle": session.handle}

    def read_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        """app.bsky.feed.getPosts: up to 25 at:// URIs a call; a deleted post is left out."""
        with self._errors(writing=False):
            self._login()
            answer = self._client.app.bsky.feed.get_posts({"uris": list(remote_ids)})
        return {post.uri: {"likes": post.like_count or 0, "reposts": post.repost_count or 0,
                           "replies": post.reply_count or 0, "quotes": post.quote_count or 0}
                for post in answer.posts}

    def read_replies(self, remote_id: str) -> list[Reply]:
        """app.bsky.feed.getPostThread: every reply under the post, replies to replies too."""
        try:
            with self._errors(writing=False):
                self._login()
                answer = self._client.app.bsky.feed.get_post_thread({"uri": remote_id, "depth": 10,
                                                                    "parent_height": 0})
        except PermanentError as exc:
            if _xrpc_error(exc.__cause__) == "NotFound":
                raise PostGone(f"Bluesky no longer has post {remote_id}") from exc
            raise
        found: list[Reply] = []
        pending = list(getattr(answer.thread, "replies", None) or [])
        while pending:
            node = pending.pop(0)
            post = getattr(node, "post", None)
            if post is None:
                continue  # a reply that is blocked or deleted: nothing to read
            pending.extend(getattr(node, "replies", None) or [])
            record = post.record
            created = getattr(record, "created_at", None)
            found.append(Reply(remote_id=post.uri, author_handle=f"@{post.author.handle}",
                               author_name=post.author.display_name or post.author.handle,
                               created_at=_when(created), text=str(getattr(record, "text", "") or ""),
                               url=f"{self._web_base}/profile/{post.author.handle}/post/{_rkey(post.uri)}"))
        return found

    def followers(self) -> int | None:
        with self._errors(writing=False):
            session = self._login()
            profile = self._client.app.bsky.actor.get_profile({"actor": session.did})
        return profile.followers_count

    def latest_post_at(self) -> datetime | None:
        """app.bsky.feed.getAuthorFeed: the account's own newest post (a repost is someone else's)."""
        with self._errors(writing=False):
            session = self._login()
            feed = self._client.app.bsky.feed.get_author_feed({"actor": session.did, "limit": 5})
        times = [datetime.fromisoformat(item.post.indexed_at.replace("Z", "+00:00"))
                 for item in feed.feed if item.reason is None]
        return max(times, default=None)

    def _remember(self, event: SessionEvent, session: Session) -> None:
        self._session = session

    def _login(self) -> Session:
        if self._session is None:
            self._client.login(
                self._credentials["handle"], self._credentials["app_password"], fetch_bsky_profile=False
            )
        assert self._session is not None
        return self._session

    def _create(self, did: str, rkey: str,
                record: models.AppBskyFeedPost.Record) -> models.ComAtprotoRepoStrongRef.Main:
        try:
            created = self._client.app.bsky.feed.post.create(did, record, rkey=rkey)
            return models.ComAtprotoRepoStrongRef.Main(uri=created.uri, cid=created.cid)
        except RequestErrorBase as exc:
            # A taken rkey means an earlier attempt got through. PDSes answer it
            # with 409, 400 or (the reference PDS, today) 500, so look it up.
            taken = exc.response is not None and exc.response.status_code in {400, 409, 500}
            if not taken or _xrpc_error(exc) in TOKEN_ERRORS:
                raise
            existing = self._existing(did, rkey)
            if existing is None:
                raise
            return existing

    def _existing(self, did: str, rkey: str) -> models.ComAtprotoRepoStrongRef.Main | None:
        try:
            found = self._client.app.bsky.feed.post.get(did, rkey)
        except BadRequestError as exc:
            if _xrpc_error(exc) == "RecordNotFound":
                return None
            raise
        return models.ComAtprotoRepoStrongRef.Main(uri=found.uri, cid=found.cid or "")

    def _images(self, media: list[MediaItem]) -> models.AppBskyEmbedImages.Main:
        images = []
        for item in media:
            data = item.path.read_bytes()
            if len(data) > BLUESKY_IMAGE_BYTES:
                # Bluesky refuses images over 1 MB; a smaller copy beats no post.
                data = fit_image(item.path, BLUESKY_IMAGE_BYTES)
            blob = self._client.upload_blob(data).blob
            images.append(models.AppBskyEmbedImages.Image(alt=item.alt_text, image=blob, aspect_ratio=_aspect(data)))
        return models.AppBskyEmbedImages.Main(images=images)

    def _receipt(self, uris: list[str]) -> Receipt:
        handle = self._session.handle if self._session else self._credentials["handle"]
        url = f"{self._web_base}/profile/{handle}/post/{_rkey(uris[0])}"
        return Receipt(remote_id=uris[0], remote_url=url, part_ids=uris)

    @contextmanager
    def _errors(self, *, writing: bool, posted: list[Any] | None = None) -> Iterator[None]:
        try:
            yield
        except (AtProtocolError, pydantic.ValidationError) as exc:
            error = _map(exc, writing=writing)
            if posted:
                error.partial = self._receipt([ref.uri for ref in posted])
            raise error from exc
        except PlatformError as exc:  # the address guard refused the connection
            if posted:
                exc.partial = self._receipt([ref.uri for ref in posted])
            raise


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def _map(exc: Exception, *, writing: bool) -> CredentialsError | PermanentError | TransientError:
    if isinstance(exc, pydantic.ValidationError):
        # Where and what, without the values (which may come from an answer).
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))
        return PermanentError(f"Bluesky would refuse this post: {short(problems)}")
    said = _said(exc)
    if isinstance(exc, ModelError) and writing:
        return MaybePosted(said)  # an unreadable answer to a write: the record may be there (find looks)
    if isinstance(exc, RateLimitExceededError):
        retry_after = exc.retry_after
        if retry_after is None and exc.reset_at is not None:
            retry_after = max(0.0, (exc.reset_at - datetime.now(UTC)).total_seconds())
        return RateLimited(said, retry_after=retry_after)
    if isinstance(exc, UnauthorizedError) or _xrpc_error(exc) in TOKEN_ERRORS:
        return CredentialsError(said)
    if isinstance(exc, RequestErrorBase) and exc.response is None:
        # A transport failure (timeout, refused, reset); httpx's error is the cause.
        sent = exc.__cause__ is None or httpx_reached_server(exc.__cause__)
        if writing and sent:
            return MaybePosted(f"no answer from Bluesky: {plain(exc.__cause__)}")
        return TransientError(f"cannot reach Bluesky: {plain(exc.__cause__)}")
    status = exc.response.status_code if isinstance(exc, RequestErrorBase) and exc.response else None
    if status is not None and (status >= 500 or (isinstance(exc, NetworkError) and status != 413)):
        return TransientError(said)
    return PermanentError(said)


def _said(exc: Exception) -> str:
    """The status and the XRPC error's own words; atproto's message quotes any
    other body (up to 200 characters), which staff must never see."""
    response = getattr(exc, "response", None)
    if isinstance(exc, ModelError):
        # atproto quotes the values it could not read, taken from the answer.
        return "Bluesky's answer is not what Bluesky sends: check the channel's api_base"
    if response is None:
        return short(exc) if not isinstance(exc, RequestErrorBase) else "Bluesky did not answer"
    content = getattr(response, "content", None)
    error, message = getattr(content, "error", None), getattr(content, "message", None)
    words = f"{error}: {message}" if isinstance(error, str) and isinstance(message, str) else error
    return answered("Bluesky", getattr(response, "status_code", None), None, words if isinstance(words, str) else None)


def _xrpc_error(exc: BaseException | None) -> str | None:
    response = getattr(exc, "response", None)
    content = getattr(response, "content", None)
    return getattr(content, "error", None)


def _creation_time(outgoing: Outgoing) -> datetime:
    if outgoing.created_at is None:
        # Without a stable time the record key would change between retries.
        raise ValueError("Bluesky needs Outgoing.created_at (the delivery's creation time)")
    return outgoing.created_at


def _rkey(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def _aspect(data: bytes) -> models.AppBskyEmbedDefs.AspectRatio | None:
    """Width and height let apps lay out the image before it loads."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception:  # an unreadable image still posts, only without the hint
        return None
    return models.AppBskyEmbedDefs.AspectRatio(width=width, height=height)

"""What the adapters share: reading network failures, wording what a platform
answered, and comparing posted text."""

import html
import os
import re
from datetime import datetime, timedelta

import httpx
import requests
import urllib3.exceptions

from civicpost.platforms import MaybePosted, PermanentError, PlatformError, TransientError
from civicpost.platforms.plain import plain, short

# A delivery's post cannot predate the delivery, but clocks differ a little.
CLOCK_SLACK = timedelta(minutes=5)

_URL = re.compile(r"https?://\S+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/\S*)?", re.IGNORECASE)
_BREAK = re.compile(r"<br\s*/?>|</p>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def answered(platform: str, status: int | None, reason: str | None = None, message: object = None) -> str:
    """What staff read, e.g. `Mastodon answered 422 Unprocessable Entity: Validation failed: ...`.

    Only a message the platform gives in its error format (a JSON field) is
    quoted, shortened; never the raw body: an address that is not the
    platform (a service on the city's network) answers with whatever it holds.
    """
    said = f"{platform} answered {status}" if status is not None else f"{platform} answered"
    reason = short(reason, 40) if reason else ""
    if reason:
        said += f" {reason}"
    words = short(message) if message not in (None, "") else ""
    # Many platforms' only message is the reason phrase again ("403 Forbidden: Forbidden").
    if words and words.rstrip(".").casefold() in (reason.casefold(), str(status)):
        words = ""
    return f"{said}: {words}" if words else said


# What reading an answer of the wrong shape raises (a JSON string where an
# object belongs, an object without its id): the address is not the platform,
# or the platform changed. The SDKs raise these raw, quoting nothing useful.
MALFORMED = (KeyError, TypeError, AttributeError, ValueError)


def unexpected_answer(platform: str, *, writing: bool) -> PlatformError:
    said = f"{platform}'s answer is not what {platform} sends: check the channel's api_base"
    # A write answered in a way we cannot read may still have posted: reconcile first.
    return MaybePosted(said) if writing else PermanentError(said)


def unreachable(platform: str, exc: httpx.HTTPError, *, writing: bool) -> PlatformError:
    """A call that got no answer: a write the platform received may have posted (reconcile), else try later."""
    if writing and httpx_reached_server(exc):
        return MaybePosted(f"no answer from {platform}: {plain(exc)}")
    return TransientError(f"cannot reach {platform}: {plain(exc)}")


def comparable(text: str) -> str:
    """A key for "is this the same post?": platforms hand text back changed.

    X swaps every link (bare domains too) for t.co, Mastodon and Facebook wrap
    or trim them, and X escapes `&`; so links are dropped, entities decoded and
    whitespace collapsed before comparing.
    """
    text = _URL.sub(" ", html.unescape(text))
    return " ".join(text.split()).casefold()


def html_to_text(content: str) -> str:
    """Mastodon's status HTML as text; entities stay for `comparable` to decode."""
    return _TAG.sub("", _BREAK.sub("\n", content))


def posted_since(posted_at: datetime | None, since: datetime | None) -> bool:
    """Whether a post is recent enough to belong to this delivery.

    Without it a yearly "Pools open today" would match last year's post.
    """
    if posted_at is None or since is None:
        return True
    return posted_at >= since - CLOCK_SLACK


def requests_reached_server(exc: requests.RequestException) -> bool:
    """False only when the request certainly never left (refused, unresolvable).

    Anything else (read timeout, connection reset mid-answer) may have been
    acted on, so a write must be reconciled before it is retried.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        cause = exc.args[0] if exc.args else None
        reason = getattr(cause, "reason", cause)
        return not isinstance(reason, urllib3.exceptions.NewConnectionError)
    return True


def httpx_reached_server(exc: BaseException) -> bool:
    """As `requests_reached_server`, for httpx (and SDKs built on it)."""
    unsent = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
    return not isinstance(exc, unsent)


def seconds_until(epoch: float | None, now: float) -> float | None:
    if epoch is None:
        return None
    return max(0.0, float(epoch) - now)


def environment_once(session: requests.Session, url: str) -> requests.Session:
    """Read proxies and the CA bundle from the environment once, for `url`.

    requests reads them again at every request (it walks os.environ twice:
    0.2-0.4 ms of CPU a post, a tenth of what an X post costs the worker). A
    proxy or CA bundle set for the process still applies; a change to them
    needs a restart, as with any setting.
    """
    session.proxies.update(requests.utils.get_environ_proxies(url))
    if bundle := os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"):
        session.verify = bundle
    session.trust_env = False
    return session

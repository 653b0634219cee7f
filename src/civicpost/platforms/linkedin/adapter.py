"""LinkedIn Pages through the REST Posts and Images APIs, with httpx.

Every call names the API version (`Linkedin-Version`) and Rest.li 2.0, and
URNs in paths and queries are percent-encoded as Rest.li 2.0 wants. The
token travels only in the Authorization header, and only to LinkedIn (or the
channel's own API address).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from civicpost.platforms._support import (
    MALFORMED,
    answered,
    comparable,
    posted_since,
    short,
    unexpected_answer,
    unreachable,
)
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.linkedin import DEFAULT_VERSION, WEB_BASE, little
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

DEFAULT_API_BASE = "https://api.linkedin.com"
# Recent posts read back when looking for one that may have gone out.
FIND_COUNT = 20
# A 429 that names no wait: LinkedIn's daily limits reset at midnight UTC;
# its other 429s (infrastructure protection) pass on their own.
SHORT_WAIT = 60.0
_PERMISSION_WORDS = ("permission", "not authorized", "unauthorized", "access denied", "access_denied")


class LinkedInError(Exception):
    """An answer that is not what was asked: LinkedIn's error object, or (`unreadable`) no JSON at all."""

    def __init__(self, response: httpx.Response, *, upload: bool = False) -> None:
        self.status = response.status_code
        self.upload = upload
        self.headers = response.headers
        try:
            body = response.json()
        except ValueError:
            body = None
        self.unreadable = not isinstance(body, dict)
        self.body: dict[str, Any] = body if isinstance(body, dict) else {}
        # LinkedIn's own `message`, shortened, with its `code` (ACCESS_DENIED ...); never the body.
        said = answered("LinkedIn", self.status, response.reason_phrase, self.body.get("message"))
        super().__init__(f"{said} ({short(self.code, 40)})" if self.code else said)

    @property
    def code(self) -> str:
        return str(self.body.get("code") or "")

    @property
    def message(self) -> str:
        return str(self.body.get("message") or "")


class LinkedInAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: AddressGuard | None = None) -> None:
        if not credentials.get("access_token"):
            raise CredentialsError("LinkedIn channel has no access_token")
        if not settings.get("organization_urn"):
            raise PermanentError("LinkedIn channel has no organization_urn setting")
        self._organization = str(settings["organization_urn"])
        self._version = str(settings.get("linkedin_version") or DEFAULT_VERSION)
        self._web_base = str(settings.get("web_base") or WEB_BASE).rstrip("/")
        api_base = str(settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")
        self._api_host = httpx.URL(api_base).host
        self._http = httpx.Client(
            base_url=f"{api_base}/rest",
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {credentials['access_token']}",
                "Linkedin-Version": self._version,
                "X-Restli-Protocol-Version": "2.0.0",
            },
            event_hooks=guard.httpx_hooks() if guard else None,
        )
        # The city's app, for asking when the token ends (optional).
        self._app = (str(credentials.get("client_id") or ""), str(credentials.get("client_secret") or ""))
        self._token = str(credentials["access_token"])
        self._guard = guard
        self._timeout = timeout

    def access_ends_at(self) -> datetime | None:
        """When the member's token ends, by LinkedIn's token introspection at the web address
        (www.linkedin.com/oauth/v2/introspectToken), which takes the app's client ID and secret
        and the token in a POST form, never in the address. Without the app's ID and secret: None."""
        client_id, client_secret = self._app
        if not (client_id and client_secret):
            return None
        with self._errors(writing=False), httpx.Client(
                timeout=self._timeout, event_hooks=self._guard.httpx_hooks() if self._guard else None) as http:
            response = http.post(f"{self._web_base}/oauth/v2/introspectToken",
                                 data={"client_id": client_id, "client_secret": client_secret, "token": self._token})
            if response.status_code in (400, 401):
                raise PermanentError("LinkedIn refused the app's client ID and secret when asked when the token "
                                     "ends: check them in the channel's credentials")
            if response.is_error:
                raise LinkedInError(response)
            answer = response.json()
        if not isinstance(answer, dict):
            raise unexpected_answer("LinkedIn", writing=False)
        if answer.get("active") is False or answer.get("status") in ("revoked", "expired"):
            raise CredentialsError("LinkedIn says the token is no longer active: connect the channel again")
        ends = answer.get("expires_at")
        return datetime.fromtimestamp(ends, UTC) if isinstance(ends, int) and ends > 0 else None

    def publish(self, outgoing: Outgoing) -> Receipt:
        # Uploads are not the post: one that fails leaves nothing to reconcile.
        with self._errors(writing=False):
            images = [{"id": self._upload(item), **({"altText": item.alt_text} if item.alt_text else {})}
                      for item in outgoing.media]
        post: dict[str, Any] = {
            "author": self._organization,
            "commentary": little.escape(outgoing.text),
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if len(images) == 1:
            post["content"] = {"media": images[0]}
        elif images:
            post["content"] = {"multiImage": {"images": images}}
        with self._errors(writing=True):
            response = self._call("POST", "/posts", json=post)
            urn = response.headers["x-restli-id"]  # LinkedIn answers 201 with an empty body
            if not urn.startswith("urn:li:"):
                raise ValueError(urn)
        return Receipt(remote_id=urn, remote_url=self._permalink(urn), part_ids=[urn])

    def delete(self, remote_id: str) -> None:
        try:
            with self._errors(writing=False):
                self._call("DELETE", f"/posts/{quote(remote_id, safe='')}", headers={"X-RestLi-Method": "DELETE"})
        except PermanentError as exc:
            cause = exc.__cause__
            if isinstance(cause, LinkedInError) and not cause.unreadable and cause.status in (404, 410):
                return  # already gone: what a retract wants
            raise

    def find(self, outgoing: Outgoing) -> Receipt | None:
        params = {"author": self._organization, "q": "author", "count": str(FIND_COUNT), "sortBy": "CREATED"}
        with self._errors(writing=False):
            posts = self._call("GET", "/posts", params=params).json()
            elements = posts["elements"]
            wanted = comparable(outgoing.text)
            for post in elements:
                created = post.get("createdAt") or post.get("publishedAt")
                when = datetime.fromtimestamp(created / 1000, UTC) if created else None
                sent = comparable(little.plain(str(post.get("commentary") or "")))
                if sent == wanted and posted_since(when, outgoing.created_at):
                    urn = str(post["id"])
                    return Receipt(remote_id=urn, remote_url=self._permalink(urn), part_ids=[urn])
        return None

    def check(self) -> dict[str, Any]:
        number = self._organization.rpartition(":")[2]
        with self._errors(writing=False):
            page = self._call("GET", f"/organizations/{number}").json()
            if not isinstance(page, dict):
                raise TypeError(type(page).__name__)
        # The address name is a setting the check learns (the directory links to it).
        facts: dict[str, Any] = {}
        if page.get("localizedName"):
            facts["account"] = str(page["localizedName"])
        if page.get("vanityName"):
            facts["vanity_name"] = str(page["vanityName"])
        return facts

    def _upload(self, item: MediaItem) -> str:
        """Images API: ask for an upload address for the Page, then PUT the bytes there."""
        answer = self._call("POST", "/images", params={"action": "initializeUpload"},
                            json={"initializeUploadRequest": {"owner": self._organization}}).json()
        upload_url, urn = str(answer["value"]["uploadUrl"]), str(answer["value"]["image"])
        request = self._http.build_request("PUT", upload_url, content=item.path.read_bytes(),
                                           headers={"Content-Type": item.mime_type})
        for name in ("Linkedin-Version", "X-Restli-Protocol-Version"):
            del request.headers[name]  # the upload address is not a Rest.li endpoint
        if not self._ours(request.url):
            del request.headers["Authorization"]  # an address named in an answer gets no token
        response = self._http.send(request)
        if response.is_error:
            raise LinkedInError(response, upload=True)
        return urn

    def _ours(self, url: httpx.URL) -> bool:
        host = url.host.lower()
        return url.scheme in ("https", "http") and (
            host == self._api_host or host == "linkedin.com" or host.endswith(".linkedin.com"))

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        if response.is_error:
            raise LinkedInError(response)
        return response

    def _permalink(self, urn: str) -> str:
        return f"{self._web_base}/feed/update/{urn}"

    @contextmanager
    def _errors(self, *, writing: bool) -> Iterator[None]:
        try:
            yield
        except LinkedInError as exc:
            if exc.upload:  # the upload address answers without LinkedIn's JSON
                kind = (CredentialsError if exc.status in (401, 403)
                        else TransientError if exc.status >= 500 or exc.status == 429 else PermanentError)
                raise kind(f"{exc} to the image upload") from exc
            if exc.unreadable and exc.status < 500 and exc.status not in (401, 429):
                said = f"{exc}, not with LinkedIn's JSON: check the channel's api_base"
                raise PermanentError(said) from exc
            raise self._map(exc, writing=writing) from exc
        except MALFORMED as exc:
            raise unexpected_answer("LinkedIn", writing=writing) from exc
        except httpx.HTTPError as exc:
            raise unreachable("LinkedIn", exc, writing=writing) from exc

    def _map(self, exc: LinkedInError, *, writing: bool) -> Exception:
        status, message = exc.status, str(exc)
        words = f"{exc.code} {exc.message}".lower()
        if status == 401:
            return CredentialsError(f"{message}: the token is wrong or expired (they last 60 days)")
        if status == 403 and any(word in words for word in _PERMISSION_WORDS):
            return CredentialsError(
                f"{message}: the token needs w_organization_social from a member who administers the Page")
        if status == 426 or exc.code in ("NONEXISTENT_VERSION", "VERSION_MISSING"):
            return CredentialsError(
                f"{message}: set the channel's linkedin_version to one LinkedIn still serves (YYYYMM)")
        if status == 429:
            return RateLimited(message, retry_after=_wait(exc))
        if status == 422 and "duplicate" in words:
            # The same text went out lately, perhaps by an attempt that timed out: look before retrying.
            return MaybePosted(message)
        if status == 504 and writing:
            return MaybePosted(message)  # the gateway gave up; the post may still have been made
        if status >= 500:
            return TransientError(message)
        return PermanentError(message)


def _wait(exc: LinkedInError) -> float:
    """Seconds LinkedIn asks for: Retry-After if given, else midnight UTC for a daily limit."""
    try:
        given = float(exc.headers.get("retry-after", ""))
    except ValueError:
        given = None
    if given is not None and given > 0:
        return given
    if "day" in exc.message.lower():
        now = datetime.now(UTC)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        return max(1.0, (midnight - now).total_seconds())
    return SHORT_WAIT

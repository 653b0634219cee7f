"""Recorded-style answers of each platform, and one small fake per platform for
the contract test. Bodies follow what the real APIs return (trimmed)."""

import json
import time
from email.utils import formatdate
from typing import Any

import httpx
import responses
import respx

from civicpost.platforms import Adapter, build_adapter

from .conftest import WEBHOOK_SECRET, Receiver, SmtpServer, fake_jwt

TIMEOUT = 7.5

# --- X ------------------------------------------------------------------------

X_BASE = "https://x.sandbox.test"
X_CREDENTIALS = {
    "consumer_key": "ck",
    "consumer_secret": "cs",
    "access_token": "1580661436132757506-at",
    "access_token_secret": "ats",
}
X_ME = {"data": {"id": "1580661436132757506", "name": "City of Example", "username": "CityOfExample"}}


def x_tweet(tweet_id: str, text: str) -> dict[str, Any]:
    return {"data": {"edit_history_tweet_ids": [tweet_id], "id": tweet_id, "text": text}}


def x_problem(status: int, title: str, detail: str, kind: str = "about:blank") -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": kind, "status": status}


def x_rate_limit_headers(reset_in: int) -> dict[str, str]:
    return {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(time.time()) + reset_in),
    }


# --- Mastodon -----------------------------------------------------------------

MASTODON_BASE = "https://social.sandbox.test"
MASTODON_ACCOUNT = {
    "id": "109302000000000001",
    "username": "parks",
    "acct": "parks",
    "display_name": "City Parks",
    "url": "https://social.sandbox.test/@parks",
    "created_at": "2022-11-08T00:00:00.000Z",
}


def mastodon_status(status_id: str, content: str, created_at: str = "2025-05-01T12:00:05.000Z", **extra: Any) -> dict[str, Any]:
    return {
        "id": status_id,
        "created_at": created_at,
        "in_reply_to_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://social.sandbox.test/users/parks/statuses/{status_id}",
        "url": f"https://social.sandbox.test/@parks/{status_id}",
        "content": content,
        "account": MASTODON_ACCOUNT,
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        **extra,
    }


def mastodon_rate_limit_headers(reset_in: int) -> dict[str, str]:
    now = time.time()
    return {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now + reset_in)),
        "Date": formatdate(now, usegmt=True),
    }


# --- Bluesky ------------------------------------------------------------------

BLUESKY_BASE = "https://pds.sandbox.test"
BLUESKY_DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
BLUESKY_CREDENTIALS = {"handle": "parks.city.example", "app_password": "abcd-efgh-ijkl-mnop"}
CID = "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def bluesky_session() -> dict[str, Any]:
    # No didDoc: with one, atproto would move to the PDS it names.
    return {
        "did": BLUESKY_DID,
        "handle": "parks.city.example",
        "email": "parks@city.example",
        "emailConfirmed": True,
        "accessJwt": fake_jwt(BLUESKY_DID),
        "refreshJwt": fake_jwt(BLUESKY_DID, ttl=86400 * 60),
        "active": True,
    }


def bluesky_created(collection_rkey: str) -> dict[str, Any]:
    return {
        "uri": f"at://{BLUESKY_DID}/app.bsky.feed.post/{collection_rkey}",
        "cid": CID,
        "commit": {"cid": "bafyreibcommitcid", "rev": "3lo4b4yu622fi"},
        "validationStatus": "valid",
    }


def xrpc_error(error: str, message: str) -> dict[str, str]:
    return {"error": error, "message": message}


def echo_created(request: httpx.Request) -> httpx.Response:
    """A PDS that stores under the rkey the client chose."""
    rkey = json.loads(request.content)["rkey"]
    return httpx.Response(200, json=bluesky_created(rkey))


# --- Facebook -----------------------------------------------------------------

GRAPH_BASE = "https://graph.sandbox.test"
PAGE_ID = "104958162837"
FACEBOOK_SETTINGS = {"api_base": GRAPH_BASE, "page_id": PAGE_ID, "graph_version": "v25.0"}
FACEBOOK_CREDENTIALS = {"page_access_token": "EAAB-page-token"}
GRAPH = f"{GRAPH_BASE}/v25.0"


def graph_error(code: int, message: str, *, subcode: int | None = None, transient: bool = False) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    return {"error": error}


def buc_usage(minutes: int) -> dict[str, str]:
    usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "total_cputime": 30, "total_time": 40, "estimated_time_to_regain_access": minutes}]}
    return {"X-Business-Use-Case-Usage": json.dumps(usage)}


# --- the contract fakes: one per platform -------------------------------------
#
# Each sets up the platform's answer to the next publish: `accept()`, or
# `refuse(kind)` for kind in "rate_limited", "server_error", "bad_credentials",
# "rejected"; `refuse` returns False where the platform has no such answer.


class XFake:
    platform = "x"

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock

    def adapter(self) -> Adapter:
        return build_adapter("x", X_CREDENTIALS, {"api_base": X_BASE}, timeout=TIMEOUT, allow_private_network=True)

    def accept(self) -> None:
        self.mock.post(f"{X_BASE}/2/tweets", json=x_tweet("1880000000000000001", "Pools open"), status=201)
        self.mock.delete(f"{X_BASE}/2/tweets/1880000000000000001", json={"data": {"deleted": True}})
        self.mock.get(f"{X_BASE}/2/users/me", json=X_ME)

    def refuse(self, kind: str) -> bool:
        status, body, headers = {
            "rate_limited": (429, x_problem(429, "Too Many Requests", "Too Many Requests"), x_rate_limit_headers(900)),
            "server_error": (503, x_problem(503, "Service Unavailable", "Service Unavailable"), {}),
            "bad_credentials": (401, x_problem(401, "Unauthorized", "Unauthorized"), {}),
            "rejected": (400, {"errors": [{"message": "text too long"}], "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"}, {}),
        }[kind]
        self.mock.post(f"{X_BASE}/2/tweets", json=body, status=status, headers=headers)
        return True

    def timeouts(self) -> list[float]:
        return [call.request.req_kwargs["timeout"] for call in self.mock.calls]


class MastodonFake:
    platform = "mastodon"

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock

    def adapter(self) -> Adapter:
        return build_adapter("mastodon", {"access_token": "tok"}, {"api_base": MASTODON_BASE}, timeout=TIMEOUT, allow_private_network=True)

    def accept(self) -> None:
        self.mock.post(f"{MASTODON_BASE}/api/v1/statuses", json=mastodon_status("113000000000000001", "<p>Pools open</p>"))
        self.mock.delete(f"{MASTODON_BASE}/api/v1/statuses/113000000000000001", json=mastodon_status("113000000000000001", "<p>Pools open</p>", text="Pools open"))
        self.mock.get(f"{MASTODON_BASE}/api/v1/accounts/verify_credentials", json=MASTODON_ACCOUNT)
        self.mock.get(f"{MASTODON_BASE}/api/v2/instance/", json={"domain": "social.sandbox.test", "configuration": {"statuses": {"max_characters": 500}}})

    def refuse(self, kind: str) -> bool:
        status, body, headers = {
            "rate_limited": (429, {"error": "Too many requests"}, mastodon_rate_limit_headers(300)),
            "server_error": (503, {"error": "Service Unavailable"}, {}),
            "bad_credentials": (401, {"error": "The access token is invalid"}, {}),
            "rejected": (422, {"error": "Validation failed: Text character limit of 500 exceeded"}, {}),
        }[kind]
        self.mock.post(f"{MASTODON_BASE}/api/v1/statuses", json=body, status=status, headers=headers)
        return True

    def timeouts(self) -> list[float]:
        return [call.request.req_kwargs["timeout"] for call in self.mock.calls]


class BlueskyFake:
    platform = "bluesky"

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router
        router.post(f"{BLUESKY_BASE}/xrpc/com.atproto.server.createSession").respond(json=bluesky_session())

    def adapter(self) -> Adapter:
        return build_adapter("bluesky", BLUESKY_CREDENTIALS, {"api_base": BLUESKY_BASE}, timeout=TIMEOUT, allow_private_network=True)

    def accept(self) -> None:
        self.router.post(f"{BLUESKY_BASE}/xrpc/com.atproto.repo.createRecord").mock(side_effect=echo_created)
        self.router.post(f"{BLUESKY_BASE}/xrpc/com.atproto.repo.deleteRecord").respond(json={"commit": {"cid": CID, "rev": "3lo4b4yu622fj"}})

    def refuse(self, kind: str) -> bool:
        if kind == "bad_credentials":
            self.router.post(f"{BLUESKY_BASE}/xrpc/com.atproto.server.createSession").respond(
                401, json=xrpc_error("AuthenticationRequired", "Invalid identifier or password")
            )
            return True
        status, body, headers = {
            "rate_limited": (429, xrpc_error("RateLimitExceeded", "Rate Limit Exceeded"), {"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": str(int(time.time()) + 600), "ratelimit-policy": "5000;w=3600"}),
            "server_error": (503, xrpc_error("UpstreamFailure", "Upstream Failure"), {}),
            "rejected": (400, xrpc_error("InvalidRequest", "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes"), {}),
        }[kind]
        self.router.post(f"{BLUESKY_BASE}/xrpc/com.atproto.repo.createRecord").respond(status, json=body, headers=headers)
        # Nothing is stored under the rkey, so the adapter's look-up finds nothing.
        self.router.get(f"{BLUESKY_BASE}/xrpc/com.atproto.repo.getRecord").respond(400, json=xrpc_error("RecordNotFound", "Could not locate record"))
        return True

    def timeouts(self) -> list[float]:
        return [call.request.extensions["timeout"]["read"] for call in self.router.calls]


class FacebookFake:
    platform = "facebook"

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router

    def adapter(self) -> Adapter:
        return build_adapter("facebook", FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, timeout=TIMEOUT, allow_private_network=True)

    def accept(self) -> None:
        self.router.post(f"{GRAPH}/{PAGE_ID}/feed").respond(json={"id": f"{PAGE_ID}_122101234567890123"})
        self.router.delete(f"{GRAPH}/{PAGE_ID}_122101234567890123").respond(json={"success": True})
        self.router.get(f"{GRAPH}/me").respond(json={"id": PAGE_ID, "name": "City Parks"})

    def refuse(self, kind: str) -> bool:
        status, body, headers = {
            "rate_limited": (400, graph_error(32, "Page request limit reached"), buc_usage(12)),
            "server_error": (500, graph_error(2, "An unexpected error has occurred. Please retry your request later.", transient=True), {}),
            "bad_credentials": (400, graph_error(190, "Error validating access token: Session has expired.", subcode=463), {}),
            "rejected": (400, graph_error(368, "It looks like you were misusing this feature by going too fast.", subcode=1390008), {}),
        }[kind]
        self.router.post(f"{GRAPH}/{PAGE_ID}/feed").respond(status, json=body, headers=headers)
        return True

    def timeouts(self) -> list[float]:
        return [call.request.extensions["timeout"]["read"] for call in self.router.calls]


class EmailFake:
    platform = "email"

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self.credentials: dict[str, str] = {}

    def adapter(self) -> Adapter:
        return build_adapter("email", self.credentials, self.server.settings(), timeout=TIMEOUT, allow_private_network=True)

    def accept(self) -> None:
        return None

    def refuse(self, kind: str) -> bool:
        if kind == "server_error":
            self.server.behaviour.rcpt_reply = "451 4.3.0 Mail server temporarily rejected message"
        elif kind == "rejected":
            self.server.behaviour.data_reply = "554 5.7.1 Message rejected as spam"
        elif kind == "bad_credentials":
            self.credentials = {"username": "comms", "password": "wrong"}
        else:
            return False  # SMTP has no rate limit answer with a reset time
        return True

    def timeouts(self) -> list[float]:
        return []


class WebhookFake:
    platform = "webhook"

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.secret = WEBHOOK_SECRET

    def adapter(self) -> Adapter:
        return build_adapter("webhook", {"secret": self.secret}, {"url": self.receiver.url}, timeout=TIMEOUT, allow_private_network=True)

    def accept(self) -> None:
        self.receiver.reply = (201, {}, b'{"id": "hook-42"}')

    def refuse(self, kind: str) -> bool:
        if kind == "bad_credentials":
            self.secret = "not-the-secret"
            return True
        self.receiver.reply = {
            "rate_limited": (429, {"Retry-After": "120"}, b'{"error": "slow down"}'),
            "server_error": (503, {"Retry-After": "30"}, b'{"error": "maintenance"}'),
            "rejected": (422, {}, b'{"error": "unknown department"}'),
        }[kind]
        return True

    def timeouts(self) -> list[float]:
        return []


class FeedFake:
    platform = "feed"

    def adapter(self) -> Adapter:
        return build_adapter("feed", {}, {"url": "https://city.example/announcements"}, timeout=TIMEOUT, allow_private_network=True)

    def accept(self) -> None:
        return None

    def refuse(self, kind: str) -> bool:
        return False  # the built-in feed cannot fail

    def timeouts(self) -> list[float]:
        return []

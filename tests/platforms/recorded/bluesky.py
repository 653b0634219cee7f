"""A Bluesky PDS as it answers atproto's XRPC calls (trimmed): sessions,
records under the rkey the client chose, `{"error", "message"}` refusals."""

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from civicpost.platforms import Outgoing
from civicpost.platforms.bluesky.adapter import deterministic_tid

from ._base import Post, Recorded, no_such_answer

BLUESKY_BASE = "https://pds.sandbox.test"
XRPC = f"{BLUESKY_BASE}/xrpc"
BLUESKY_DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
BLUESKY_CREDENTIALS = {"handle": "parks.city.example", "app_password": "abcd-efgh-ijkl-mnop"}
CID = "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
COLLECTION = "app.bsky.feed.post"


def fake_jwt(subject: str, *, ttl: int = 7200) -> str:
    """An unsigned JWT that atproto can read its expiry from."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"sub": subject, "iat": now, "exp": now + ttl, "scope": "com.atproto.appPass"}
    return f"{part({'alg': 'ES256K', 'typ': 'at+jwt'})}.{part(claims)}.c2ln"


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
        "uri": f"at://{BLUESKY_DID}/{COLLECTION}/{collection_rkey}",
        "cid": CID,
        "commit": {"cid": "bafyreibcommitcid", "rev": "3lo4b4yu622fi"},
        "validationStatus": "valid",
    }


def xrpc_error(error: str, message: str) -> dict[str, str]:
    return {"error": error, "message": message}


NOT_FOUND = {"error": "RecordNotFound", "message": "Could not locate record"}


def echo_created(request: httpx.Request) -> httpx.Response:
    """A PDS that stores under the rkey the client chose."""
    rkey = json.loads(request.content)["rkey"]
    return httpx.Response(200, json=bluesky_created(rkey))


def rate_limit_headers(reset_in: int) -> dict[str, str]:
    return {"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": str(int(time.time()) + reset_in),
            "ratelimit-policy": "5000;w=3600"}


class RecordedBluesky(Recorded):
    platform = "bluesky"

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return BLUESKY_CREDENTIALS, {"api_base": BLUESKY_BASE}

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        refusals = {
            "rate_limited": (429, xrpc_error("RateLimitExceeded", "Rate Limit Exceeded"), rate_limit_headers(600)),
            "server_error": (503, xrpc_error("NotEnoughResources", "Not Enough Resources"), {}),
            "rejected": (400, xrpc_error("InvalidRequest", f"Invalid {COLLECTION} record: Record/text must not be "
                                                           "longer than 300 graphemes"), {}),
        }
        if case == "late":
            no_such_answer("a recorded answer cannot come late: every request's timeout is checked instead")
        with self.httpx_answers() as router:
            session = router.post(f"{XRPC}/com.atproto.server.createSession")
            if case == "bad_credentials":
                session.respond(401, json=xrpc_error("AuthenticationRequired", "Invalid identifier or password"))
                yield None
                return
            session.respond(json=bluesky_session())
            create = f"{XRPC}/com.atproto.repo.createRecord"
            if case in refusals:
                status, body, headers = refusals[case]
                router.post(create).respond(status, json=body, headers=headers)
                if case == "rejected":
                    # A 400 may be a taken rkey: the adapter looks, and nothing is stored there.
                    router.get(f"{XRPC}/com.atproto.repo.getRecord").respond(400, json=NOT_FOUND)
                yield 600 if case == "rate_limited" else None
                return
            if case in ("publish", "timeouts", "thread", "delete", "find", "find_missing"):
                router.post(create).mock(side_effect=echo_created)
                if case == "delete":
                    router.post(f"{XRPC}/com.atproto.repo.deleteRecord").respond(
                        json={"commit": {"cid": CID, "rev": "3lo4b4yu622fj"}})
                if case == "find":
                    rkey = deterministic_tid(outgoing.key, outgoing.created_at, 0)
                    value = {"$type": COLLECTION, "text": outgoing.text, "createdAt": "2025-05-01T12:00:05.000Z"}
                    stored = {"uri": f"at://{BLUESKY_DID}/{COLLECTION}/{rkey}", "cid": CID, "value": value}
                    router.get(f"{XRPC}/com.atproto.repo.getRecord", params={"rkey": rkey}).respond(json=stored)
                if case == "find_missing":
                    router.get(f"{XRPC}/com.atproto.repo.getRecord").respond(400, json=NOT_FOUND)
            elif case != "check":  # the check is the sign-in
                raise self.unknown(case)
            yield None

    def posts(self) -> list[Post]:
        held: dict[str, Post] = {}
        for sent in self.calls:
            if sent.ok and sent.path.endswith("/com.atproto.repo.createRecord"):
                record = sent.json()["record"]
                parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
                held[sent.answer["uri"]] = Post(sent.answer["uri"], record["text"], parent)
            elif sent.ok and sent.path.endswith("/com.atproto.repo.deleteRecord"):
                body = sent.json()
                held.pop(f"at://{body['repo']}/{body['collection']}/{body['rkey']}", None)
        return list(held.values())

"""A Bluesky PDS (atproto XRPC) as the `atproto` client uses it, at `/bluesky`.

Use `Client(base_url="{sandbox}/bluesky")`; the client appends `/xrpc`.
createSession returns no `didDoc` on purpose: with one, atproto switches to
the PDS the document names and would leave the sandbox. Tokens are HS256
JWTs the client can decode (it reads `exp` to decide when to refresh).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import regex
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import engagement, replies
from .core import Call, Hub, PlatformFake, TimelinePost, json_response
from .faults import Kind, PlatformFaults
from .ids import TidClock, cid_for, iso_millis, now, sign_jwt, verify_jwt

POST = "app.bsky.feed.post"
_AUDIENCE = "did:web:sandbox.localhost"


@dataclass
class StoredRecord:
    did: str
    collection: str
    rkey: str
    value: dict[str, Any]
    cid: str
    indexed_at: datetime

    @property
    def uri(self) -> str:
        return f"at://{self.did}/{self.collection}/{self.rkey}"


# The error names and words of @atproto/xrpc's ResponseType, by HTTP status.
_XRPC_ERRORS = {
    400: ("InvalidRequest", "Invalid Request"),
    401: ("AuthenticationRequired", "Authentication Required"),
    403: ("Forbidden", "Forbidden"),
    404: ("XRPCNotSupported", "XRPC Not Supported"),
    413: ("PayloadTooLarge", "Payload Too Large"),
    500: ("InternalServerError", "Internal Server Error"),
    501: ("MethodNotImplemented", "Method Not Implemented"),
    502: ("UpstreamFailure", "Upstream Failure"),
    503: ("NotEnoughResources", "Not Enough Resources"),
    504: ("UpstreamTimeout", "Upstream Timeout"),
}


def xrpc_error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": error, "message": message}, status, headers)


def did_for(handle: str) -> str:
    # Stable per handle, so each sandbox channel keeps its identity across restarts.
    digest = cid_for(handle.encode(), raw=True)
    return "did:plc:" + digest[-24:]


class BlueskyFake(PlatformFake):
    name = "bluesky"
    title = "Bluesky"
    plays = ('bluesky',)
    default_quota = (3000, 5 * 60)  # the PDS's global per-account limit

    def __init__(self, hub: Hub, *, access_ttl_s: int = 7200) -> None:
        super().__init__(hub)
        self.access_ttl_s = access_ttl_s
        self._tids = TidClock()
        # Accounts outlive a reset, so a running engine's sessions stay valid.
        self.handles: dict[str, str] = {}  # did -> handle
        self.reset()

    def reset(self) -> None:
        self.records: dict[tuple[str, str, str], StoredRecord] = {}
        self.revoked: set[str] = set()

    def routes(self) -> list[Route]:
        r = self.route
        x = "/xrpc/"
        return [
            r(x + "com.atproto.server.createSession", self.create_session, methods=["POST"], kind=Kind.AUTH,
              auth=False),  # fmt: skip
            r(x + "com.atproto.server.refreshSession", self.refresh_session, methods=["POST"], kind=Kind.AUTH,
              auth=False),  # fmt: skip
            r(x + "com.atproto.server.getSession", self.get_session, methods=["GET"], kind=Kind.AUTH),
            r(x + "com.atproto.repo.createRecord", self.create_record, methods=["POST"], kind=Kind.CREATE),
            r(x + "com.atproto.repo.putRecord", self.put_record, methods=["POST"], kind=Kind.CREATE),
            r(x + "com.atproto.repo.deleteRecord", self.delete_record, methods=["POST"], kind=Kind.WRITE),
            r(x + "com.atproto.repo.uploadBlob", self.upload_blob, methods=["POST"], kind=Kind.WRITE),
            r(x + "com.atproto.repo.getRecord", self.get_record, methods=["GET"], kind=Kind.READ, auth=False),
            r(x + "com.atproto.repo.listRecords", self.list_records, methods=["GET"], kind=Kind.READ, auth=False),
            r(x + "app.bsky.feed.getAuthorFeed", self.author_feed, methods=["GET"], kind=Kind.READ, auth=False),
            r(x + "app.bsky.feed.getPosts", self.get_posts, methods=["GET"], kind=Kind.READ),
            r(x + "app.bsky.feed.getPostThread", self.get_post_thread, methods=["GET"], kind=Kind.READ),
            r(x + "app.bsky.actor.getProfile", self.get_profile, methods=["GET"], kind=Kind.READ, auth=False),
            r(x + "{nsid}", self.not_implemented, methods=["GET", "POST"], kind=Kind.READ, auth=False),
        ]

    # --- credentials, errors, quota ----------------------------------------------
    def _claims(self, call: Call, scope: str) -> dict[str, Any] | Response:
        scheme, _, token = (call.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return xrpc_error(401, "AuthMissing", "Authentication Required")
        claims = verify_jwt(token.strip(), secret=self.hub.secret)
        if claims is None:
            return xrpc_error(400, "InvalidToken", "Token could not be verified")
        if claims.get("scope") != scope:
            return xrpc_error(400, "InvalidToken", "Bad token scope")
        if int(claims.get("exp", 0)) <= time.time():
            return xrpc_error(400, "ExpiredToken", "Token has expired")
        return claims

    def authenticate(self, call: Call) -> Response | None:
        claims = self._claims(call, "com.atproto.access")
        if isinstance(claims, Response):
            return claims
        if claims.get("sub") not in self.handles:
            return xrpc_error(400, "InvalidToken", "Token could not be verified")
        return None

    def error_response(self, status: int) -> Response:
        error, message = _XRPC_ERRORS.get(status, _XRPC_ERRORS[400 if status < 500 else 500])
        return xrpc_error(status, error, message)

    def rate_limited(self, reset_at: int, faults: PlatformFaults) -> Response:
        headers = self.quota_headers(self.default_quota[0], 0, reset_at)
        return xrpc_error(faults.rate_limit_status or 429, "RateLimitExceeded", "Rate Limit Exceeded", headers)

    def quota_headers(self, limit: int, remaining: int, reset_at: int) -> dict[str, str]:
        return {
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset_at),
            "ratelimit-policy": f"{limit};w={self.default_quota[1]}",
        }

    def _did_of(self, call: Call) -> str:
        scheme, _, token = (call.header("authorization") or "").partition(" ")
        return str((verify_jwt(token.strip(), secret=self.hub.secret) or {}).get("sub", ""))

    def _resolve(self, actor: str | None) -> str | None:
        if not actor:
            return None
        if actor.startswith("did:"):
            return actor if actor in self.handles else None
        return next((did for did, handle in self.handles.items() if handle == actor.lower()), None)

    # --- sessions ----------------------------------------------------------------------
    def _session(self, did: str) -> dict[str, Any]:
        issued = int(time.time())
        access = {"scope": "com.atproto.access", "sub": did, "aud": _AUDIENCE, "iat": issued,
                  "exp": issued + self.access_ttl_s}  # fmt: skip
        refresh = {"scope": "com.atproto.refresh", "sub": did, "aud": _AUDIENCE, "iat": issued,
                   "exp": issued + 90 * 86400, "jti": secrets.token_urlsafe(16)}  # fmt: skip
        return {
            "accessJwt": sign_jwt(access, secret=self.hub.secret, typ="at+jwt"),
            "refreshJwt": sign_jwt(refresh, secret=self.hub.secret, typ="refresh+jwt"),
            "handle": self.handles[did],
            "did": did,
            "email": f"{self.handles[did]}@sandbox.localhost",
            "emailConfirmed": True,
            "emailAuthFactor": False,
            "active": True,
        }

    def create_session(self, call: Call) -> Response:
        identifier = str(call.field("identifier") or "").strip().lower()
        password = str(call.field("password") or "")
        if not identifier or not password or password == "bad":
            return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        did = identifier if identifier.startswith("did:") else did_for(identifier)
        self.handles.setdefault(did, identifier if not identifier.startswith("did:") else "sandbox.bsky.social")
        return json_response(self._session(did))

    def refresh_session(self, call: Call) -> Response:
        claims = self._claims(call, "com.atproto.refresh")
        if isinstance(claims, Response):
            return claims
        if claims.get("jti") in self.revoked or claims.get("sub") not in self.handles:
            return xrpc_error(400, "ExpiredToken", "Token has been revoked")
        self.revoked.add(str(claims["jti"]))
        return json_response(self._session(str(claims["sub"])))

    def get_session(self, call: Call) -> Response:
        session = self._session(self._did_of(call))
        return json_response({k: v for k, v in session.items() if not k.endswith("Jwt")})

    # --- records -------------------------------------------------------------------------
    def _write(self, call: Call, *, replace: bool) -> Response:
        if not isinstance(call.json, dict):
            return xrpc_error(400, "InvalidRequest", "Request body must be a JSON object")
        did = self._did_of(call)
        repo, collection, record = call.json.get("repo"), call.json.get("collection"), call.json.get("record")
        if self._resolve(repo) != did:
            return xrpc_error(400, "InvalidRequest", f"Could not find repo: {repo}")
        if not isinstance(collection, str) or not isinstance(record, dict):
            return xrpc_error(400, "InvalidRequest", "Input must have the properties collection and record")
        problem = _invalid_post(record) if collection == POST else None
        if problem:
            return xrpc_error(400, "InvalidRequest", f"Invalid {POST} record: {problem}")
        rkey = str(call.json.get("rkey") or self._tids.next())
        key = (did, collection, rkey)
        if key in self.records and not replace:
            # Today's PDS fails inside its MST ("There is already a value at key")
            # and answers 500 (bluesky-social/atproto#3718), not a 4xx.
            return xrpc_error(500, "InternalServerError", "Internal Server Error")
        cid = cid_for(json.dumps(record, sort_keys=True).encode())
        stored = StoredRecord(did, collection, rkey, record, cid, now())
        self.records[key] = stored
        commit = {"cid": cid_for(f"{stored.uri}@{self._tids.next()}".encode()), "rev": self._tids.next()}
        return json_response({"uri": stored.uri, "cid": stored.cid, "commit": commit, "validationStatus": "valid"})

    def create_record(self, call: Call) -> Response:
        return self._write(call, replace=False)

    def put_record(self, call: Call) -> Response:
        if not isinstance(call.json, dict) or not call.json.get("rkey"):
            return xrpc_error(400, "InvalidRequest", "Input must have the property rkey")
        return self._write(call, replace=True)

    def delete_record(self, call: Call) -> Response:
        body = call.json if isinstance(call.json, dict) else {}
        did = self._did_of(call)
        if self._resolve(body.get("repo")) != did:
            return xrpc_error(400, "InvalidRequest", f"Could not find repo: {body.get('repo')}")
        # Deleting a record that is not there succeeds, as on the real PDS.
        self.records.pop((did, str(body.get("collection")), str(body.get("rkey"))), None)
        return json_response({"commit": {"cid": cid_for(self._tids.next().encode()), "rev": self._tids.next()}})

    def upload_blob(self, call: Call) -> Response:
        if not call.raw:
            return xrpc_error(400, "InvalidRequest", "Request body is empty")
        blob = {
            "$type": "blob",
            "ref": {"$link": cid_for(call.raw, raw=True)},
            "mimeType": call.header("content-type") or "application/octet-stream",
            "size": len(call.raw),
        }
        return json_response({"blob": blob})

    def get_record(self, call: Call) -> Response:
        q = call.query
        did = self._resolve(q.get("repo"))
        stored = self.records.get((did or "", q.get("collection", ""), q.get("rkey", "")))
        if stored is None:
            uri = f"at://{q.get('repo')}/{q.get('collection')}/{q.get('rkey')}"
            return xrpc_error(400, "RecordNotFound", f"Could not locate record: {uri}")
        return json_response({"uri": stored.uri, "cid": stored.cid, "value": stored.value})

    def list_records(self, call: Call) -> Response:
        did = self._resolve(call.query.get("repo"))
        if did is None:
            return xrpc_error(400, "InvalidRequest", f"Could not find repo: {call.query.get('repo')}")
        found = [r for r in self.records.values() if r.did == did and r.collection == call.query.get("collection")]
        found.sort(key=lambda r: r.rkey, reverse=call.query.get("reverse") != "true")
        limit = _limit(call.query.get("limit"), default=50)
        return json_response({"records": [{"uri": r.uri, "cid": r.cid, "value": r.value} for r in found[:limit]]})

    # --- app view ----------------------------------------------------------------------------
    def _profile(self, did: str) -> dict[str, Any]:
        return {"did": did, "handle": self.handles[did], "displayName": "City of Sandbox"}

    def get_profile(self, call: Call) -> Response:
        did = self._resolve(call.query.get("actor"))
        if did is None:
            return xrpc_error(400, "InvalidRequest", "Profile not found")
        posts = sum(1 for r in self.records.values() if r.did == did and r.collection == POST)
        detail = {"description": "Official announcements (civicpost sandbox).",
                  "followersCount": engagement.followers("bluesky", now()),
                  "followsCount": 0, "postsCount": posts, "createdAt": "2024-01-15T00:00:00.000Z",
                  "indexedAt": "2024-01-15T00:00:00.000Z"}  # fmt: skip
        return json_response({**self._profile(did), **detail})

    def author_feed(self, call: Call) -> Response:
        did = self._resolve(call.query.get("actor"))
        if did is None:
            return xrpc_error(400, "InvalidRequest", "Profile not found")
        posts = sorted(
            (r for r in self.records.values() if r.did == did and r.collection == POST),
            key=lambda r: r.rkey,
            reverse=True,
        )[: _limit(call.query.get("limit"), default=50)]
        return json_response({"feed": [{"post": self._post_view(r)} for r in posts]})

    def get_posts(self, call: Call) -> Response:
        uris = call.request.query_params.getlist("uris")
        if not 1 <= len(uris) <= 25:
            return xrpc_error(400, "InvalidRequest", "uris must name between 1 and 25 posts")
        wanted = set(uris)
        found = [r for r in self.records.values() if r.collection == POST and r.uri in wanted]
        found.sort(key=lambda r: uris.index(r.uri))
        return json_response({"posts": [self._post_view(r) for r in found]})

    def get_post_thread(self, call: Call) -> Response:
        """The post and its residents' replies (replies.py) one level down, as threadViewPosts."""
        uri = call.query.get("uri", "")
        found = next((r for r in self.records.values() if r.collection == POST and r.uri == uri), None)
        if found is None:
            return xrpc_error(400, "NotFound", f"Post not found: {uri}")
        root = {"uri": found.uri, "cid": found.cid}
        children = []
        for reply in replies.replies_for(self.name, found.uri, found.indexed_at):
            handle = f"{reply.handle.replace('_', '-').replace('.', '-')}.residents.example"
            did = did_for(handle)
            record = {"$type": POST, "text": reply.text, "createdAt": iso_millis(reply.created_at),
                      "reply": {"root": root, "parent": root}}
            reply_uri = f"at://{did}/{POST}/{found.rkey}r{reply.n}"
            post = {"uri": reply_uri, "cid": cid_for(json.dumps(record, sort_keys=True).encode()),
                    "author": {"did": did, "handle": handle, "displayName": reply.name}, "record": record,
                    "indexedAt": iso_millis(reply.created_at), "replyCount": 0, "repostCount": 0,
                    "likeCount": 0, "quoteCount": 0, "labels": []}  # fmt: skip
            children.append({"$type": "app.bsky.feed.defs#threadViewPost", "post": post, "replies": []})
        thread = {"$type": "app.bsky.feed.defs#threadViewPost", "post": self._post_view(found), "replies": children}
        return json_response({"thread": thread})

    def _post_view(self, r: StoredRecord) -> dict[str, Any]:
        got = engagement.counts("bluesky", r.uri, r.indexed_at, now())
        return {"uri": r.uri, "cid": r.cid, "author": self._profile(r.did), "record": r.value,
                "indexedAt": iso_millis(r.indexed_at), "replyCount": got["replies"], "repostCount": got["reposts"],
                "likeCount": got["likes"], "quoteCount": got["quotes"], "labels": []}  # fmt: skip

    def not_implemented(self, call: Call) -> Response:
        return xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")

    def post_uri(self, handle: str, rkey: str) -> str:
        """The at:// URI of a post as bsky.app's address names it (by handle or DID)."""
        did = handle if handle.startswith("did:") else did_for(handle.lower())
        return f"at://{did}/{POST}/{rkey}"

    def post_pages(self) -> list[tuple[str, Callable[[Request], str]]]:
        return [("/bluesky/profile/{handle}/post/{rkey}",
                 lambda r: self.post_uri(r.path_params["handle"], r.path_params["rkey"]))]

    def timeline(self) -> list[TimelinePost]:
        return [
            TimelinePost(
                platform=self.name,
                id=r.uri,
                text=str(r.value.get("text", "")),
                created_at=r.indexed_at,
                alts=_alts(r.value),
                reply_to=((r.value.get("reply") or {}).get("parent") or {}).get("uri"),
            )
            for r in self.records.values()
            if r.collection == POST
        ]


def _invalid_post(record: dict[str, Any]) -> str | None:
    text = record.get("text")
    if not isinstance(text, str):
        return "Record/text must be a string"
    if len(text.encode()) > 3000:
        return "Record/text must not be longer than 3000 characters"
    if len(regex.findall(r"\X", text)) > 300:
        return "Record/text must not be longer than 300 graphemes"
    if not isinstance(record.get("createdAt"), str):
        return 'Record must have the property "createdAt"'
    return None


def _alts(value: dict[str, Any]) -> tuple[str, ...]:
    embed = value.get("embed") or {}
    images = embed.get("images") or (embed.get("media") or {}).get("images") or []
    return tuple(str(i.get("alt", "")) for i in images if isinstance(i, dict))


def _limit(raw: str | None, *, default: int) -> int:
    try:
        return min(100, max(1, int(raw or default)))
    except ValueError:
        return default
